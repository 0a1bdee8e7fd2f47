"""adapter.scaling: every method of a sweep trains at the same scale by default, each mode gives the scale it names on
the built PEFT layers, and the reference settings reproduce the reference layer's numbers."""

from __future__ import annotations

import copy
import math

import peft
import pytest
import torch
from peft.tuners.lora import LoraLayer

from bslora import BSLoraLayer
from bslora_worker.errors import InvalidArgument
from bslora_worker.models import load_base_model
from bslora_worker.trials.adapter_config import adapter_config
from bslora_worker.trials.adapter_scaling import AdapterScaling, effective_scale
from bslora_worker.trials.trial import Trial
from trial_messages import trial_view

TARGETS = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")
# tiny-llama: hidden 64, k/v 32, MLP 128; kron share size 16 divides them all, as 256 divides a 7B Llama's
SHARE_SIZES = {"kron": {"kron_share_size": 16}, "gate": {"gate_share_size": 32}, "slice": {}}


def trial(method: str, **kw) -> "Trial":
    fields = dict(trial_key="k", name="t", method=method, base_model="builtin:tiny-llama", task_type="causal_lm",
                  train_data="builtin:arith", eval_tasks=("builtin:arith",), target_modules=TARGETS, steps=1,
                  learning_rate=1e-4, batch_size=1, seq_len=32, seed=0)
    fields.update(kw)
    return trial_view(**fields)


def lora(rank=8, **kw) -> "Trial":
    return trial("lora", rank=rank, **kw)


def bslora(mode="kron", ranks=(2, 4, 16), **kw) -> "Trial":
    local, intra, inter = ranks
    return trial("bslora", share_mode=mode, r_local=local, r_intra=intra, r_inter=inter,
                 **{**SHARE_SIZES[mode], **kw})


@pytest.fixture(scope="module")
def base():
    return load_base_model("builtin:tiny-llama")


def built_scales(t: Trial, base) -> set[float]:
    """The scale every adapted layer of the built PEFT model applies (LoRA: .scaling, BSLoRA: .bslora_scaling)."""
    model = peft.get_peft_model(copy.deepcopy(base.model), adapter_config(t))
    scales = set()
    for m in model.modules():
        if isinstance(m, LoraLayer):
            scales.add(m.scaling["default"])
        elif isinstance(m, BSLoraLayer):
            scales.add(m.bslora_scaling["default"])
    assert scales, "no adapted layer found"
    return scales


def test_lora_r8_and_bslora_2_4_16_train_at_the_same_scale_under_the_default(base):
    """One sweep's LoRA r=8 and BSLoRA 2/4/16 (every share mode) get one scale, 2, on every layer."""
    scales = built_scales(lora(8), base)
    for mode in SHARE_SIZES:
        scales |= built_scales(bslora(mode, (2, 4, 16)), base)
    scales |= built_scales(lora(16), base) | built_scales(bslora("kron", (2, 8, 32)), base)
    assert scales == {2.0}


@pytest.mark.parametrize(
    "text, method, rank, expected",
    [
        ("", "lora", 8, 2.0),
        ("", "bslora", 22, 2.0),
        ("fixed:0.5", "bslora", 22, 0.5),
        ("alpha_over_rank", "lora", 8, 2.0),  # alpha unset: trial-defaults.json's (LoRA 2·r, BSLoRA 16)
        ("alpha_over_rank", "bslora", 22, 16 / 22),
        ("rslora", "lora", 8, 16 / math.sqrt(8)),
        ("rslora", "bslora", 22, 16 / math.sqrt(22)),
    ],
)
def test_each_mode_gives_its_scale_on_the_built_layers(base, text, method, rank, expected):
    t = lora(rank, scaling=text) if method == "lora" else bslora("kron", (2, 4, 16), scaling=text)
    assert t.scaling == AdapterScaling.parse(text)
    assert effective_scale(method, t.scaling, t.lora_alpha, rank) == pytest.approx(expected)
    [scale] = built_scales(t, base)
    assert scale == pytest.approx(expected, rel=1e-12)


def test_alpha_enters_the_alpha_modes_and_not_the_fixed_one(base):
    assert built_scales(lora(8, scaling="alpha_over_rank", lora_alpha=4), base) == {0.5}
    assert built_scales(bslora("slice", scaling="alpha_over_rank", lora_alpha=11), base) == {0.5}
    [rs] = built_scales(bslora("slice", scaling="rslora", lora_alpha=22), base)
    assert rs == pytest.approx(math.sqrt(22), rel=1e-12)
    assert effective_scale("lora", AdapterScaling.parse("fixed:3"), 99.0, 8) == 3.0
    assert effective_scale("vera", AdapterScaling(), 0.0, 256) is None
    assert effective_scale("base", AdapterScaling(), 0.0, 0) is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("alpha", "'alpha' is not one of fixed, alpha_over_rank, rslora"),
        ("fixed:two", "'two' is not a number"),
        ("fixed:-1", "positive scale"),
        ("rslora:2", "only 'fixed' takes a value"),
    ],
)
def test_bad_scaling_is_refused_naming_the_value(text, message):
    with pytest.raises(InvalidArgument, match=message):
        AdapterScaling.parse(text)


def test_canonical_text_round_trips():
    for text in ("fixed:2", "fixed:0.25", "alpha_over_rank", "rslora"):
        assert str(AdapterScaling.parse(text)) == text
    assert str(AdapterScaling.parse("")) == "fixed:2"


# ---------------------------------------------------------------------------------- the reference layer, copied


def reference_kron_forward(layer: BSLoraLayer, tuner, x: torch.Tensor) -> torch.Tensor:
    """The reference's `Linear.forward` in kron mode (peft/tuners/share_lora/layer.py at bf2f69c), rewritten on this
    layer's tensors: result = W0 x + 2·lora_B(lora_A(dropout(x))) + Σ_shared 2·x @ kron(K_A, A).T @ kron(K_B, B).T,
    with the constant 2 and no dropout on the shared path."""
    spec = layer.bslora_spec["default"]
    result = layer.get_base_layer()(x)
    dropout = layer.bslora_dropout["default"]
    result = result + 2 * (dropout(x) @ layer.bslora_A["default"].T @ layer.bslora_B["default"].T)
    shared = {"intra": (tuner.bslora_intra_A["default"][spec.block], tuner.bslora_intra_B["default"][spec.block]),
              "inter": (tuner.bslora_inter_A["default"], tuner.bslora_inter_B["default"])}
    g = layer.bslora_transform["default"]
    for part, (A, B) in shared.items():
        sampler_A = g[f"{part}_sampler_A"].reshape(1, -1)
        sampler_B = g[f"{part}_sampler_B"].reshape(-1, 1)
        result = result + 2 * (x @ torch.kron(sampler_A, A).T @ torch.kron(sampler_B, B).T)
    return result


def test_reference_settings_give_the_reference_layers_numbers(base):
    """kron 2/4/16, dropout 0.05, scaling fixed:2, kron_shared_dropout off: on a copy of the toy model, in training
    mode (dropout active), every adapted layer's output and gradients equal the reference forward's."""
    t = bslora("kron", (2, 4, 16), scaling="fixed:2", kron_shared_dropout=False, lora_dropout=0.05)
    torch.manual_seed(0)
    model = peft.get_peft_model(copy.deepcopy(base.model), adapter_config(t))
    tuner = model.base_model
    model.train()
    layers = [m for m in model.modules() if isinstance(m, BSLoraLayer)]
    assert len(layers) == 2 * len(TARGETS)
    g = torch.Generator().manual_seed(1)
    for param in tuner.parameters():  # B starts at 0; give every factor a value so each part counts
        if param.requires_grad:
            with torch.no_grad():
                param.copy_(torch.randn(param.shape, generator=g) * 0.1)
    for layer in layers:
        x = torch.randn(6, layer.in_features, generator=g)
        torch.manual_seed(7)
        ours = layer(x)
        grads_ours = torch.autograd.grad(ours.pow(2).sum(), [p for p in tuner.parameters() if p.requires_grad],
                                         allow_unused=True)
        torch.manual_seed(7)  # the same dropout mask: one draw on the local path in both
        theirs = reference_kron_forward(layer, tuner, x)
        grads_theirs = torch.autograd.grad(theirs.pow(2).sum(), [p for p in tuner.parameters() if p.requires_grad],
                                           allow_unused=True)
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
        for a, b in zip(grads_ours, grads_theirs):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # dropout really was active: a second pass under another seed differs
    torch.manual_seed(8)
    assert not torch.equal(layers[-1](x), ours)

"""Layer discovery from the model's repeated blocks, and shape checks when the config meets the model."""

import peft
import pytest
import torch
import torch.nn as nn

import bslora
from bslora.layer import BSLoraLayer
from bslora_helpers import ARCHS, LLAMA_TARGETS, make_config, tiny_bert, tiny_gpt2, tiny_llama


def test_blocks_of_llama_gpt2_bert():
    plan = bslora.build_plan(tiny_llama(), make_config("slice", LLAMA_TARGETS))
    assert plan.blocks == ["model_layers_0", "model_layers_1"]
    k = plan.by_key["model.layers.1.self_attn.k_proj"]
    assert (k.in_features, k.out_features, k.block, k.block_path) == (32, 16, "model_layers_1", "model.layers.1")  # GQA
    assert (plan.share_in, plan.share_out) == (64, 64)  # slice: max in (down_proj) and max out (gate/up)

    plan = bslora.build_plan(tiny_gpt2(), make_config("kron", ARCHS["gpt2"][1]))
    assert plan.blocks == ["transformer_h_0", "transformer_h_1"]
    c_attn = plan.by_key["transformer.h.0.attn.c_attn"]
    assert (c_attn.in_features, c_attn.out_features, c_attn.is_conv1d) == (32, 96, True)

    # BERT names have 6+ parts (the reference's 5-part name split would fail); the pooler is outside the blocks
    plan = bslora.build_plan(tiny_bert(), make_config("gate", ARCHS["bert"][1]))
    assert plan.blocks == ["encoder_layer_0", "encoder_layer_1", "root"]
    assert plan.by_key["encoder.layer.1.attention.self.query"].block == "encoder_layer_1"
    assert plan.by_key["pooler.dense"].block == "root"


class Expert(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Linear(16, 32)
        self.down = nn.Linear(32, 16)

    def forward(self, x):
        return self.down(torch.relu(self.up(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.Linear(16, 16)
        self.experts = nn.ModuleList([Expert(), Expert()])  # a nested list must not start new blocks

    def forward(self, x):
        x = x + self.attn(x)
        return x + sum(e(x) for e in self.experts)


class Wrapped(nn.Module):
    """Extra nesting and prefixes that a fixed 5-part name split cannot handle."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.decoder = nn.Module()
        self.backbone.decoder.stack = nn.ModuleList([Block() for _ in range(3)])
        self.head = nn.Linear(16, 8)

    def forward(self, x):
        for block in self.backbone.decoder.stack:
            x = block(x)
        return self.head(x)


@pytest.mark.parametrize("mode", ["slice", "gate", "kron"])
def test_custom_nesting_uses_outermost_module_list(mode):
    torch.manual_seed(0)
    model = Wrapped()
    cfg = make_config(mode, ["attn", "up", "down", "head"], init_weights=False)
    plan = bslora.build_plan(model, cfg)
    assert plan.blocks == ["backbone_decoder_stack_0", "backbone_decoder_stack_1", "backbone_decoder_stack_2", "root"]
    assert plan.by_key["backbone.decoder.stack.2.experts.1.down"].block == "backbone_decoder_stack_2"
    pm = peft.get_peft_model(model, cfg)
    tuner = pm.base_model
    layers = {n: m for n, m in pm.named_modules() if isinstance(m, BSLoraLayer)}
    assert len(layers) == 3 * 5 + 1
    a = layers["base_model.model.backbone.decoder.stack.1.attn"]
    e = layers["base_model.model.backbone.decoder.stack.1.experts.0.down"]
    other = layers["base_model.model.backbone.decoder.stack.2.attn"]
    pair = lambda m: m._bslora_store.pair("default", "intra", m.bslora_spec["default"].block)  # noqa: E731
    assert pair(a)[0] is pair(e)[0] and pair(a)[0] is not pair(other)[0]
    assert sum(p.numel() for p in pm.parameters() if p.requires_grad) == plan.counts()["total"]
    y = pm(torch.randn(4, 16))
    y.sum().backward()
    assert tuner.bslora_intra_A["default"]["backbone_decoder_stack_0"].grad.abs().sum() > 0
    assert tuner.bslora_intra_A["default"]["root"].grad.abs().sum() > 0


def test_kron_size_that_does_not_divide_fails_with_module_shape_and_valid_sizes():
    model = tiny_llama()
    with pytest.raises(ValueError) as err:
        peft.get_peft_model(model, make_config("kron", LLAMA_TARGETS, kron_share_size=12))
    msg = str(err.value)
    assert "kron_share_size=12" in msg
    assert "model.layers.0.self_attn.q_proj" in msg and "in_features=32, out_features=32" in msg
    assert "[1, 2, 4, 8, 16]" in msg  # divisors of gcd(32, 16, 64)
    # the failure happens before any module is replaced
    assert not any(isinstance(m, BSLoraLayer) for m in model.modules())
    # the counter applies the same check
    with pytest.raises(ValueError, match="kron_share_size=12"):
        bslora.count_parameters(tiny_llama(), make_config("kron", LLAMA_TARGETS, kron_share_size=12))
    # a size larger than a dimension is rejected too
    with pytest.raises(ValueError, match="kron_share_size=32"):
        bslora.count_parameters(tiny_llama(), make_config("kron", ["k_proj"], kron_share_size=32))


def test_unsupported_module_type_and_no_match():
    with pytest.raises(TypeError, match="embed_tokens"):
        peft.get_peft_model(tiny_llama(), make_config("slice", ["embed_tokens"]))
    with pytest.raises(ValueError, match="matched no module"):
        bslora.count_parameters(tiny_llama(), make_config("slice", ["nonexistent"]))


def test_layers_to_transform_limits_blocks():
    cfg = make_config("slice", LLAMA_TARGETS, layers_to_transform=[1])
    plan = bslora.build_plan(tiny_llama(), cfg)
    assert plan.blocks == ["model_layers_1"]
    pm = peft.get_peft_model(tiny_llama(), cfg)
    assert sum(p.numel() for p in pm.parameters() if p.requires_grad) == plan.counts()["total"]


def test_default_target_modules_from_architecture():
    cfg = bslora.BSLoraConfig(share_mode="slice")
    plan = bslora.build_plan(tiny_llama(), cfg)
    assert {t.key.rsplit(".", 1)[1] for t in plan.targets} == {"q_proj", "v_proj"}

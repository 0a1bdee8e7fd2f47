"""PEFT-style invariants on tiny Llama (GQA), GPT-2 (Conv1D) and BERT models, every mode."""

import copy

import peft
import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file

import bslora
from bslora.layer import BSLoraLayer
from bslora_helpers import ARCHS, LLAMA_TARGETS, make_config, model_inputs, model_loss, model_output, tiny_llama

MODES = ["slice", "gate", "kron"]
CASES = [(arch, mode) for arch in sorted(ARCHS) for mode in MODES]
# merged vs unmerged: the merged weight W + ΔW is rounded once in fp32, so outputs differ at float32 rounding level
MERGE_ATOL = 1e-5


def trained_like(arch, mode, **kw):
    """A PEFT model whose adapter is non-zero (init_weights=False gives random B too)."""
    build, targets = ARCHS[arch]
    torch.manual_seed(123)
    return peft.get_peft_model(build(), make_config(mode, targets, init_weights=False, **kw))


def out(model, inputs=None):
    with torch.no_grad():
        return model_output(model, inputs or model_inputs())


@pytest.mark.parametrize("arch, mode", CASES)
def test_untrained_adapter_leaves_outputs_unchanged(arch, mode):
    build, targets = ARCHS[arch]
    ref = out(build())
    pm = peft.get_peft_model(build(), make_config(mode, targets))
    assert torch.equal(out(pm), ref)


@pytest.mark.parametrize("arch, mode", CASES)
def test_gradients_reach_every_part_and_only_adapters_train(arch, mode):
    pm = trained_like(arch, mode)
    names = {n for n, p in pm.named_parameters() if p.requires_grad}
    assert names and all("bslora_" in n for n in names)
    pm.train()
    model_loss(pm, model_inputs()).backward()
    params = dict(pm.named_parameters())
    for marker in ["bslora_A.", "bslora_B.", "bslora_intra_A", "bslora_intra_B", "bslora_inter_A", "bslora_inter_B"] + (
        ["bslora_transform."] if mode != "slice" else []
    ):
        hit = [n for n in names if marker in n]
        assert hit, marker
        for n in hit:
            assert params[n].grad is not None and params[n].grad.abs().sum() > 0, n
    for n, p in params.items():
        if n not in names:
            assert p.grad is None, n


@pytest.mark.parametrize("mode", MODES)
def test_shared_tensors_are_one_parameter_object(mode):
    pm = trained_like("llama", mode)
    tuner = pm.base_model
    layers = {n: m for n, m in pm.named_modules() if isinstance(m, BSLoraLayer)}
    assert len(layers) == 2 * len(LLAMA_TARGETS)
    for name, layer in layers.items():
        block = layer.bslora_spec["default"].block
        assert block == "model_layers_" + name.split("model.layers.")[1].split(".")[0]
        A, B = layer._bslora_store.pair("default", "intra", block)
        assert A is tuner.bslora_intra_A["default"][block] and B is tuner.bslora_intra_B["default"][block]
        A, B = layer._bslora_store.pair("default", "inter", block)
        assert A is tuner.bslora_inter_A["default"] and B is tuner.bslora_inter_B["default"]
        # nothing shared is registered on the layer itself
        assert not any("intra" in n or "inter" in n for n, _ in layer.named_parameters() if "transform" not in n)
    ids = [id(p) for _, p in pm.named_parameters()]
    assert len(ids) == len(set(ids))
    # one optimizer step through a q_proj changes the parameter every layer of the block uses
    assert set(tuner.bslora_intra_A["default"].keys()) == {"model_layers_0", "model_layers_1"}


@pytest.mark.parametrize("arch, mode", CASES)
def test_merge_unmerge_unload(arch, mode):
    build, targets = ARCHS[arch]
    base = build()
    base_state = {k: v.clone() for k, v in base.state_dict().items()}
    torch.manual_seed(123)
    pm = peft.get_peft_model(base, make_config(mode, targets, init_weights=False))
    inputs = model_inputs()
    unmerged = out(pm, inputs)
    assert not torch.allclose(unmerged, out(build(), inputs), atol=1e-4)  # the adapter does something

    # unload (no merge) gives back the base weights bit for bit, with the original module types and keys
    unloaded = copy.deepcopy(pm).unload()
    unloaded_state = unloaded.state_dict()
    assert unloaded_state.keys() == base_state.keys()
    for k, v in unloaded_state.items():
        assert torch.equal(v, base_state[k]), k
    assert torch.equal(out(unloaded, inputs), out(build(), inputs))

    pm.merge_adapter()
    torch.testing.assert_close(out(pm, inputs), unmerged, atol=MERGE_ATOL, rtol=0)
    pm.unmerge_adapter()
    torch.testing.assert_close(out(pm, inputs), unmerged, atol=MERGE_ATOL, rtol=0)
    for k, v in pm.get_base_model().state_dict().items():
        if "bslora_" not in k:
            torch.testing.assert_close(v, base_state[k.replace(".base_layer", "")], atol=1e-6, rtol=0)

    merged = pm.merge_and_unload()
    assert not any(isinstance(m, BSLoraLayer) for m in merged.modules())
    torch.testing.assert_close(out(merged, inputs), unmerged, atol=MERGE_ATOL, rtol=0)


@pytest.mark.parametrize("arch, mode", CASES)
def test_save_load_stores_each_shared_tensor_once(arch, mode, tmp_path):
    pm = trained_like(arch, mode)
    inputs = model_inputs()
    expected = out(pm, inputs)
    trainable = sum(p.numel() for p in pm.parameters() if p.requires_grad)
    pm.save_pretrained(tmp_path)
    saved = load_file(tmp_path / "adapter_model.safetensors")
    assert sum(t.numel() for t in saved.values()) == trainable
    assert sum(t.numel() for t in saved.values()) == bslora.count_parameters(ARCHS[arch][0](), pm.peft_config["default"])["total"]
    shared_keys = [k for k in saved if "bslora_intra" in k or "bslora_inter" in k]
    assert shared_keys and all(k.startswith("base_model.bslora_") for k in shared_keys)

    loaded = PeftModel.from_pretrained(ARCHS[arch][0](), tmp_path)
    assert torch.equal(out(loaded, inputs), expected)
    assert not any(p.requires_grad for p in loaded.parameters())  # inference mode: shared tensors frozen too
    trainable_again = PeftModel.from_pretrained(ARCHS[arch][0](), tmp_path, is_trainable=True)
    assert sum(p.numel() for p in trainable_again.parameters() if p.requires_grad) == trainable
    low_mem = PeftModel.from_pretrained(ARCHS[arch][0](), tmp_path, low_cpu_mem_usage=True)
    low_mem_state = low_mem.state_dict()
    for k, v in loaded.state_dict().items():
        assert torch.equal(low_mem_state[k], v), k
    # Same values, but low_cpu_mem_usage assigns the tensors read from the file as they are, at addresses that are
    # not 64-byte aligned, and vectorised CPU reductions (the gate's dot products) may then sum in another order:
    # ~1 ulp apart on some CPUs (4.8e-7 on AMD EPYC), so the outputs are compared at fp32 precision, not bit for bit.
    torch.testing.assert_close(out(low_mem, inputs), expected, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_zero_shared_ranks_equal_peft_lora(mode):
    """r_intra = r_inter = 0: same seed gives the same weights, outputs and gradients as PEFT LoRA of rank r_local."""
    inputs = model_inputs()
    for init in (True, False):
        torch.manual_seed(7)
        lora = peft.get_peft_model(tiny_llama(), peft.LoraConfig(r=3, lora_alpha=6, target_modules=LLAMA_TARGETS,
                                                                 init_lora_weights=init))
        torch.manual_seed(7)
        bs = peft.get_peft_model(tiny_llama(), bslora.BSLoraConfig(
            r_local=3, r_intra=0, r_inter=0, lora_alpha=6, share_mode=mode, kron_share_size=8, gate_share_size=16,
            target_modules=LLAMA_TARGETS, init_weights=init))
        y_lora = model_output(lora, inputs)
        y_bs = model_output(bs, inputs)
        assert torch.equal(y_lora, y_bs)
        y_lora.pow(2).mean().backward()
        y_bs.pow(2).mean().backward()
        lora_grads = {n.replace("lora_A.default.weight", "A").replace("lora_B.default.weight", "B"): p.grad
                      for n, p in lora.named_parameters() if p.requires_grad}
        bs_grads = {n.replace("bslora_A.default", "A").replace("bslora_B.default", "B"): p.grad
                    for n, p in bs.named_parameters() if p.requires_grad}
        assert lora_grads.keys() == bs_grads.keys() and len(bs_grads) == 2 * 2 * len(LLAMA_TARGETS)
        for n in lora_grads:
            assert torch.equal(lora_grads[n], bs_grads[n]), n


def test_disable_adapter_gives_base_output():
    pm = trained_like("llama", "kron")
    inputs = model_inputs()
    base = out(ARCHS["llama"][0](), inputs)
    with pm.disable_adapter():
        assert torch.equal(out(pm, inputs), base)
    assert not torch.equal(out(pm, inputs), base)


def test_two_adapters_on_one_model(tmp_path):
    build, targets = ARCHS["llama"]
    torch.manual_seed(1)
    pm = peft.get_peft_model(build(), make_config("slice", targets, init_weights=False))
    inputs = model_inputs()
    y_default = out(pm, inputs)
    torch.manual_seed(2)
    pm.add_adapter("second", make_config("kron", targets, r_local=1, r_intra=2, r_inter=2, init_weights=False))
    # adding an adapter does not activate it or make it trainable
    assert torch.equal(out(pm, inputs), y_default)
    tuner = pm.base_model
    assert all(not p.requires_grad for p in tuner._shared_params("second"))
    assert all(p.requires_grad for p in tuner._shared_params("default"))

    pm.set_adapter("second")
    y_second = out(pm, inputs)
    assert not torch.allclose(y_second, y_default)
    trainable = {n for n, p in pm.named_parameters() if p.requires_grad}
    assert trainable and all("second" in n for n in trainable)
    expected = bslora.count_parameters(build(), pm.peft_config["second"])["total"]
    assert sum(p.numel() for p in pm.parameters() if p.requires_grad) == expected

    # mixed batch: each row uses its own adapter
    pm.eval()
    batch = {"input_ids": torch.cat([inputs["input_ids"], inputs["input_ids"][:1]])}
    with torch.no_grad():
        mixed = model_output(pm, {**batch, "adapter_names": ["default", "second", "__base__"]})
    torch.testing.assert_close(mixed[0], y_default[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(mixed[1], y_second[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(mixed[2], out(build(), inputs)[0], atol=1e-6, rtol=0)

    pm.save_pretrained(tmp_path)
    sizes = {}
    for name, sub in (("default", tmp_path), ("second", tmp_path / "second")):
        saved = load_file(sub / "adapter_model.safetensors")
        assert not any(".second" in k or ".default" in k for k in saved)
        sizes[name] = sum(t.numel() for t in saved.values())
    assert sizes["default"] == bslora.count_parameters(build(), pm.peft_config["default"])["total"]
    assert sizes["second"] == expected

    loaded = PeftModel.from_pretrained(build(), tmp_path)
    loaded.load_adapter(tmp_path / "second", adapter_name="second")
    assert torch.equal(out(loaded, inputs), y_default)
    loaded.set_adapter("second")
    assert torch.equal(out(loaded, inputs), y_second)

    pm.set_adapter("default")
    pm.delete_adapter("second")
    assert "second" not in pm.base_model._shared_adapter_names()
    assert not any("second" in n for n, _ in pm.named_parameters())
    assert torch.equal(out(pm, inputs), y_default)


def test_scaling_options():
    inputs = model_inputs()
    deltas = {}
    for scaling, alpha in (("alpha_over_r", 9), ("reference_fixed_2", 9)):
        torch.manual_seed(0)
        pm = peft.get_peft_model(tiny_llama(), make_config("slice", LLAMA_TARGETS, lora_alpha=alpha,
                                                          scaling=scaling, init_weights=False))
        layer = pm.base_model.model.model.layers[0].self_attn.q_proj
        deltas[scaling] = layer.get_delta_weight("default")
        expected = 2.0 if scaling == "reference_fixed_2" else 9 / (2 + 3 + 4)
        assert layer.bslora_scaling["default"] == expected
        assert out(pm, inputs).isfinite().all()
    torch.testing.assert_close(deltas["reference_fixed_2"], 2 * deltas["alpha_over_r"])


def test_fixed_and_rslora_scaling():
    fixed = make_config("slice", LLAMA_TARGETS, scaling="fixed", fixed_scale=0.5, lora_alpha=9)
    assert fixed.scale == 0.5
    assert make_config("slice", LLAMA_TARGETS, scaling="rslora", lora_alpha=9).scale == 9 / 3  # sqrt(2 + 3 + 4)
    assert make_config("slice", LLAMA_TARGETS, scaling="reference_fixed_2").scale == 2.0
    pm = peft.get_peft_model(tiny_llama(), fixed)
    assert pm.base_model.model.model.layers[1].mlp.up_proj.bslora_scaling["default"] == 0.5
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="fixed_scale must be a positive number"):
            make_config("slice", LLAMA_TARGETS, scaling="fixed", fixed_scale=bad)


def test_kron_shared_dropout_switch():
    torch.manual_seed(0)
    pm = peft.get_peft_model(tiny_llama(), make_config("kron", LLAMA_TARGETS, r_local=0, lora_dropout=0.5,
                                                      kron_shared_dropout=False, init_weights=False))
    layer = pm.base_model.model.model.layers[0].mlp.down_proj
    x = torch.randn(3, 64)
    layer.eval()
    no_dropout = layer._adapter_output("default", x)
    layer.train()
    assert torch.equal(layer._adapter_output("default", x), no_dropout)  # reference: no dropout on the kron path
    layer.bslora_spec["default"] = layer.bslora_spec["default"].__class__(
        **{**layer.bslora_spec["default"].__dict__, "kron_shared_dropout": True})
    torch.manual_seed(0)
    assert not torch.allclose(layer._adapter_output("default", x), no_dropout)


def test_fp16_base_model_adapter_in_fp32():
    model = tiny_llama().half()
    pm = peft.get_peft_model(model, make_config("kron", LLAMA_TARGETS, init_weights=False))
    assert all(p.dtype == torch.float32 for n, p in pm.named_parameters() if "bslora_" in n)
    layer = pm.base_model.model.model.layers[0].self_attn.q_proj
    y = layer(torch.randn(2, 32, dtype=torch.float16))
    assert y.dtype == torch.float16
    assert layer.get_delta_weight("default").dtype == torch.float16

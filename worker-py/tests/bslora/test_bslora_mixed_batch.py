"""Mixed-adapter batches: each row of one forward uses its own loaded adapter, and equals running that adapter alone.

Also: every adapter's shared tensors exist once per adapter (not per module), and loading or unloading an adapter
from a saved directory leaves every other adapter's tensors untouched (same values, same storage).
"""

import peft
import pytest
import torch
from peft import PeftModel

import bslora
from bslora_helpers import LLAMA_TARGETS, make_config, model_inputs, tiny_llama

MODES = ("slice", "gate", "kron")
# several adapters per model, with different ranks, so rows differ and a mix-up between adapters shows
RANKS = [dict(r_local=2, r_intra=3, r_inter=4), dict(r_local=1, r_intra=2, r_inter=2),
         dict(r_local=4, r_intra=0, r_inter=3), dict(r_local=0, r_intra=2, r_inter=1)]


def _logits(model, inputs) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


def _several_adapters(mode: str) -> PeftModel:
    torch.manual_seed(10)
    pm = peft.get_peft_model(tiny_llama(layers=3), make_config(mode, LLAMA_TARGETS, init_weights=False, **RANKS[0]),
                             adapter_name="a0")
    for i, ranks in enumerate(RANKS[1:], start=1):
        torch.manual_seed(10 + i)
        pm.add_adapter(f"a{i}", make_config(mode, LLAMA_TARGETS, init_weights=False, **ranks))
    return pm.eval()


def _one_by_one(pm: PeftModel, inputs: dict, names: list[str]) -> torch.Tensor:
    rows = []
    for i, name in enumerate(names):
        row = {k: v[i: i + 1] for k, v in inputs.items()}
        if name == "__base__":
            with pm.disable_adapter():
                rows.append(_logits(pm, row))
        else:
            pm.set_adapter(name)
            rows.append(_logits(pm, row))
    return torch.cat(rows)


@pytest.mark.parametrize("mode", MODES)
def test_mixed_batch_equals_adapters_one_by_one(mode):
    pm = _several_adapters(mode)
    names = ["a2", "a0", "__base__", "a3", "a1", "a0", "a3", "a2"]
    inputs = model_inputs(seed=3, batch=len(names), seq=5)
    mixed = _logits(pm, {**inputs, "adapter_names": names})
    alone = _one_by_one(pm, inputs, names)
    torch.testing.assert_close(mixed, alone, atol=1e-5, rtol=1e-5)
    # the adapters really differ from each other (and from the base), so the equality above can fail
    row0 = {k: v[:1] for k, v in inputs.items()}
    outs = {n: _logits(pm, {**row0, "adapter_names": [n]}) for n in ("a0", "a1", "a2", "a3", "__base__")}
    for a in outs:
        for b in outs:
            if a < b:
                assert not torch.allclose(outs[a], outs[b], atol=1e-4), (a, b)


@pytest.mark.parametrize("mode", MODES)
def test_mixed_batch_generate(mode):
    pm = _several_adapters(mode)
    names = ["a1", "a3", "a0"]
    inputs = model_inputs(seed=4, batch=len(names), seq=4)
    with torch.no_grad():
        mixed = pm.generate(**inputs, adapter_names=names, max_new_tokens=3, do_sample=False)
    for i, name in enumerate(names):
        pm.set_adapter(name)
        with torch.no_grad():
            alone = pm.generate(input_ids=inputs["input_ids"][i: i + 1], max_new_tokens=3, do_sample=False)
        assert torch.equal(mixed[i: i + 1], alone)


def _shared_storages(pm: PeftModel, adapter: str) -> set[int]:
    return {p.data_ptr() for p in pm.base_model._shared_params(adapter)}


@pytest.mark.parametrize("mode", MODES)
def test_shared_tensors_are_held_once_per_adapter(mode):
    pm = _several_adapters(mode)
    for name in ("a0", "a1", "a2", "a3"):
        seen: dict[tuple[str, str], set[int]] = {}
        for module in pm.modules():
            if isinstance(module, bslora.BSLoraLayer) and name in module.bslora_spec:
                spec = module.bslora_spec[name]
                for part in spec.parts():
                    A, B = module._bslora_store.pair(name, part, spec.block)
                    seen.setdefault((part, spec.block if part == "intra" else "*"), set()).update(
                        {A.data_ptr(), B.data_ptr()})
                # nothing shared is registered on the layer itself
                assert not any("intra" in n or "inter" in n for n, _ in module.named_parameters()
                               if "transform" not in n)
        # every module of a block reaches the same two tensors; all modules reach the same inter pair
        assert seen and all(len(ptrs) == 2 for ptrs in seen.values())
        assert set().union(*seen.values()) == _shared_storages(pm, name)
        # resident adapter bytes = the planned parameter count × 4 (fp32): nothing is duplicated per module
        params = {id(p): p for n, p in pm.named_parameters() if f".{name}" in n or n.endswith(name)}
        resident = sum(p.numel() * p.element_size() for p in params.values())
        assert resident == bslora.count_parameters(tiny_llama(layers=3), pm.peft_config[name])["total"] * 4


def _snapshot(pm: PeftModel, skip: str) -> dict[str, tuple[int, torch.Tensor]]:
    return {n: (p.data_ptr(), p.detach().clone()) for n, p in pm.named_parameters() if skip not in n}


@pytest.mark.parametrize("mode", MODES)
def test_load_and_unload_from_a_directory_leaves_other_adapters_untouched(mode, tmp_path):
    pm = _several_adapters(mode)
    torch.manual_seed(99)
    donor = peft.get_peft_model(tiny_llama(layers=3), make_config(mode, LLAMA_TARGETS, init_weights=False,
                                                                   r_local=3, r_intra=1, r_inter=2))
    donor.save_pretrained(tmp_path / "new")
    names = ["a0", "new", "a2", "__base__", "a1"]
    inputs = model_inputs(seed=5, batch=len(names), seq=5)
    before = _snapshot(pm, ".new")
    others_before = _logits(pm, {**inputs, "adapter_names": ["a0", "a3", "a2", "__base__", "a1"]})

    pm.load_adapter(tmp_path / "new", adapter_name="new")
    after_load = _snapshot(pm, ".new")
    assert after_load.keys() == before.keys()
    for n, (ptr, value) in before.items():
        assert after_load[n][0] == ptr, f"{n} was reallocated by loading another adapter"
        assert torch.equal(after_load[n][1], value), f"{n} changed when another adapter was loaded"
    mixed = _logits(pm, {**inputs, "adapter_names": names})
    donor.eval()
    torch.testing.assert_close(mixed[1:2], _logits(donor, {k: v[1:2] for k, v in inputs.items()}),
                               atol=1e-5, rtol=1e-5)

    pm.delete_adapter("new")
    assert not any(".new" in n for n, _ in pm.named_parameters())
    after_unload = _snapshot(pm, ".new")
    for n, (ptr, value) in before.items():
        assert after_unload[n][0] == ptr and torch.equal(after_unload[n][1], value), n
    torch.testing.assert_close(_logits(pm, {**inputs, "adapter_names": ["a0", "a3", "a2", "__base__", "a1"]}),
                               others_before, atol=0, rtol=0)


def _same_rank_adapters(mode: str) -> PeftModel:
    # four adapters of one shape (stacked together in a mixed batch) and one of another (a group of its own)
    torch.manual_seed(20)
    pm = peft.get_peft_model(tiny_llama(layers=2), make_config(mode, LLAMA_TARGETS, init_weights=False, **RANKS[0]),
                             adapter_name="s0")
    for i in range(1, 4):
        torch.manual_seed(20 + i)
        pm.add_adapter(f"s{i}", make_config(mode, LLAMA_TARGETS, init_weights=False, **RANKS[0]))
    pm.add_adapter("other", make_config(mode, LLAMA_TARGETS, init_weights=False, **RANKS[1]))
    return pm.eval()


@pytest.mark.parametrize("mode", MODES)
def test_stacked_mixed_batch_equals_the_per_adapter_loop_and_one_by_one(mode, monkeypatch):
    pm = _same_rank_adapters(mode)
    # uneven repeats (factors gathered per row), then two rows per adapter (one slab per adapter)
    for names in (["s2", "s0", "__base__", "other", "s1", "s0", "s3", "s2", "s3"],
                  ["s1", "s3", "s1", "__base__", "s3", "s0", "s0"]):
        one = model_inputs(seed=6, batch=1, seq=5)  # every row the same input: rows differ only by their adapter
        inputs = {k: v.repeat(len(names), *([1] * (v.dim() - 1))) for k, v in one.items()}
        stacked = _logits(pm, {**inputs, "adapter_names": names})
        monkeypatch.setattr(bslora.layer, "MIXED_BATCH_STACKED", False)
        loop = _logits(pm, {**inputs, "adapter_names": names})
        monkeypatch.setattr(bslora.layer, "MIXED_BATCH_STACKED", True)
        torch.testing.assert_close(stacked, loop, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(stacked, _one_by_one(pm, inputs, names), atol=1e-5, rtol=1e-5)
        # the same-shape adapters differ, so a row given another member's factors would fail the equality
        for a, b in (("s0", "s1"), ("s1", "s3"), ("s0", "__base__")):
            assert not torch.allclose(stacked[names.index(a)], stacked[names.index(b)], atol=1e-4), (a, b)

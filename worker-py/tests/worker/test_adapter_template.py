"""The template path of AdapterPool.load (adapter_template.py): an adapter of a configuration already loaded is
created as a copy of that adapter's entries and filled from its file. It must leave the pool exactly as PEFT's own
load would: the same parameter names, the same values, the same outputs, for LoRA and each BSLoRA mode."""

import peft
import pytest
import torch
from test_adapter_pool import IDS, TARGETS, logits, save_adapter, tiny_llama

import bslora
from bslora_worker.errors import InvalidArgument
from bslora_worker.serving import AdapterPool, adapter_template


def save_lora(directory, seed: int, **extra):
    torch.manual_seed(seed)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, init_lora_weights=False, **extra)
    pm = peft.get_peft_model(tiny_llama(), config)
    pm.save_pretrained(directory)
    return pm.eval()


VARIANTS = {
    "lora": lambda d, seed: save_lora(d, seed),
    "lora-bias": lambda d, seed: save_lora(d, seed, lora_bias=True),
    "kron-dropout": lambda d, seed: save_adapter(d, seed=seed, mode="kron", lora_dropout=0.1),
    "gate-rslora": lambda d, seed: save_adapter(d, seed=seed, mode="gate", scaling="rslora"),
}


def saved_adapters(tmp_path, method: str, count: int = 4):
    save = VARIANTS.get(method) or (lambda d, seed: save_adapter(d, seed=seed, mode=method))
    return {f"a{i}": (tmp_path / f"a{i}", save(tmp_path / f"a{i}", seed=i)) for i in range(count)}


def state(pool: AdapterPool) -> dict[str, torch.Tensor]:
    return {k: v for k, v in pool.peft_model.state_dict().items()}


@pytest.mark.parametrize("method", ["slice", "gate", "kron", "lora", *list(VARIANTS)[1:]])
def test_template_loads_equal_peft_loads(tmp_path, method):
    saved = saved_adapters(tmp_path, method)
    fast, slow = AdapterPool(tiny_llama()), AdapterPool(tiny_llama(), use_templates=False)
    for name, (path, _) in saved.items():
        assert fast.load(name, path) == slow.load(name, path)
    assert fast.template_loads == len(saved) - 1  # all but the first
    assert slow.template_loads == 0
    fast_state, slow_state = state(fast), state(slow)
    assert fast_state.keys() == slow_state.keys()
    for key in slow_state:
        assert torch.equal(fast_state[key], slow_state[key]), key
    assert fast.peft_model.peft_config.keys() == slow.peft_model.peft_config.keys()
    names = ["a3", "__base__", "a1", "a2", "a0", "a3"]
    ids = IDS.repeat(2, 1)[: len(names)]
    torch.testing.assert_close(fast.forward(ids, names).logits, slow.forward(ids, names).logits)
    for i, name in enumerate(names):
        if name != "__base__":  # each row as the adapter alone, trained and saved in its own model
            torch.testing.assert_close(fast.forward(ids, names).logits[i:i + 1], logits(saved[name][1], ids[i:i + 1]),
                                       atol=1e-5, rtol=1e-5)
    # storage of its own: a template copy shares no tensor with the template
    assert not {p.data_ptr() for p in fast._adapter_params("a1")} & {p.data_ptr() for p in fast._adapter_params("a0")}


def test_unloading_the_template_adapter_falls_back_to_peft_and_keeps_serving(tmp_path):
    saved = saved_adapters(tmp_path, "kron")
    pool = AdapterPool(tiny_llama())
    for name in ("a0", "a1"):
        pool.load(name, saved[name][0])
    pool.unload("a0")  # the template of this configuration
    pool.load("a2", saved["a2"][0])  # through PEFT, and now the first of its configuration
    assert pool.template_loads == 1
    pool.load("a3", saved["a3"][0])  # a template again, built from a2
    assert pool.template_loads == 2
    names = ["a1", "a2", "a3"]
    out = pool.forward(IDS[:3], names).logits
    for i, name in enumerate(names):
        torch.testing.assert_close(out[i:i + 1], logits(saved[name][1], IDS[i:i + 1]), atol=1e-5, rtol=1e-5)
    pool.unload("a3")
    assert "a3" not in pool.peft_model.peft_config and pool.names == ["a1", "a2"]


def test_another_configuration_loads_through_peft(tmp_path):
    pool = AdapterPool(tiny_llama())
    save_adapter(tmp_path / "a", seed=0, mode="kron")
    pool.load("a", tmp_path / "a")
    other = save_adapter(tmp_path / "b", seed=1, mode="kron", lora_alpha=4)
    pool.load("b", tmp_path / "b")
    assert pool.template_loads == 0
    torch.testing.assert_close(pool.forward(IDS[:1], ["b"]).logits, logits(other, IDS[:1]), atol=1e-5, rtol=1e-5)


def test_a_template_load_that_fails_midway_leaves_nothing_behind(tmp_path, monkeypatch):
    saved = saved_adapters(tmp_path, "gate", count=3)
    pool = AdapterPool(tiny_llama())
    pool.load("a0", saved["a0"][0])
    pool.load("a1", saved["a1"][0])
    before = {k: v.clone() for k, v in state(pool).items()}
    copies = {"n": 0}
    real_copy = adapter_template._copy_entry

    def failing_copy(value, memo):
        copies["n"] += 1
        if copies["n"] == 5:
            raise RuntimeError("simulated failure in the middle of a copy")
        return real_copy(value, memo)

    monkeypatch.setattr(adapter_template, "_copy_entry", failing_copy)
    with pytest.raises(RuntimeError, match="simulated failure"):
        pool.load("a2", saved["a2"][0])
    after = state(pool)
    assert after.keys() == before.keys()  # no entry named a2 anywhere
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert "a2" not in pool.peft_model.peft_config and pool.names == ["a0", "a1"]
    monkeypatch.setattr(adapter_template, "_copy_entry", real_copy)
    pool.load("a2", saved["a2"][0])
    torch.testing.assert_close(pool.forward(IDS[:1], ["a2"]).logits, logits(saved["a2"][1], IDS[:1]),
                               atol=1e-5, rtol=1e-5)


def test_bytes_equal_the_parameter_count_on_the_template_path(tmp_path):
    saved = saved_adapters(tmp_path, "slice", count=3)
    pool = AdapterPool(tiny_llama(), dtype=torch.bfloat16)
    for name, (path, _) in saved.items():
        pool.load(name, path)
    count = bslora.count_parameters(tiny_llama(), saved["a0"][1].peft_config["default"])["total"]
    assert [pool.resident_bytes(n) for n in pool.names] == [count * 2] * 3
    assert all(p.dtype == torch.bfloat16 for p in pool._adapter_params("a2"))


def test_a_dora_adapter_is_refused_with_the_reason(tmp_path):
    save_lora(tmp_path / "dora", seed=0, use_dora=True)
    pool = AdapterPool(tiny_llama())
    with pytest.raises(InvalidArgument, match=r"adapter 'd' at .*dora is a DoRA adapter .*cannot run DoRA in "
                                              r"mixed-adapter batches; serve it alone"):
        pool.load("d", tmp_path / "dora")
    assert pool.names == [] and pool.peft_model is None

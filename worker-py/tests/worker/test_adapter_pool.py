"""AdapterPool: saved adapters loaded side by side on one base model and served in mixed batches; bad adapters
(another base, another method version, past the memory limit) refused with nothing changed."""

import json

import grpc
import peft
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import bslora
from bslora_worker.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from bslora_worker.serving import AdapterPool

TARGETS = ["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]


def tiny_llama(hidden: int = 32, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    cfg = LlamaConfig(hidden_size=hidden, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                      num_hidden_layers=2, vocab_size=64, max_position_embeddings=64)
    return LlamaForCausalLM(cfg).eval()


def save_adapter(directory, seed: int, mode: str = "kron", hidden: int = 32, **overrides):
    torch.manual_seed(seed)
    config = bslora.BSLoraConfig(r_local=2, r_intra=2, r_inter=4, share_mode=mode, target_modules=TARGETS,
                                 kron_share_size=8, gate_share_size=16, init_weights=False, **overrides)
    pm = peft.get_peft_model(tiny_llama(hidden), config)
    pm.save_pretrained(directory)
    return pm.eval()


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


IDS = torch.randint(0, 64, (4, 5), generator=torch.Generator().manual_seed(1))


@pytest.fixture()
def saved(tmp_path):
    return {f"a{i}": (tmp_path / f"a{i}", save_adapter(tmp_path / f"a{i}", seed=i)) for i in range(3)}


def test_pool_serves_mixed_batches_of_saved_adapters(saved):
    pool = AdapterPool(tiny_llama())
    for name, (path, _) in saved.items():
        assert pool.load(name, path) > 0
    names = ["a2", "__base__", "a0", "a1"]
    out = pool.forward(IDS, names).logits
    for i, name in enumerate(names):
        expected = logits(tiny_llama(), IDS[i:i + 1]) if name == "__base__" else logits(saved[name][1], IDS[i:i + 1])
        torch.testing.assert_close(out[i:i + 1], expected, atol=1e-5, rtol=1e-5)
    # resident bytes: the adapter's parameter count × 4 (fp32), shared tensors once
    count = bslora.count_parameters(tiny_llama(), saved["a0"][1].peft_config["default"])["total"]
    assert pool.resident_bytes("a0") == count * 4
    with pytest.raises(InvalidArgument, match="unknown adapter"):
        pool.forward(IDS, ["a0", "a9", "a1", "a2"])


def test_unloading_keeps_the_others_and_the_last_restores_the_base(saved):
    pool = AdapterPool(tiny_llama())
    for name, (path, _) in saved.items():
        pool.load(name, path)
    pool.unload("a1")
    assert pool.names == ["a0", "a2"]
    out = pool.forward(IDS[:2], ["a0", "a2"]).logits
    torch.testing.assert_close(out[1:2], logits(saved["a2"][1], IDS[1:2]), atol=1e-5, rtol=1e-5)
    pool.unload("a0")
    pool.unload("a2")
    assert pool.resident_bytes() == 0
    assert not any("bslora" in n for n, _ in pool.base_model.named_parameters())
    torch.testing.assert_close(pool.forward(IDS[:1], ["__base__"]).logits, logits(tiny_llama(), IDS[:1]))
    pool.load("a1", saved["a1"][0])  # loading again after the pool went empty
    torch.testing.assert_close(pool.forward(IDS[:1], ["a1"]).logits, logits(saved["a1"][1], IDS[:1]),
                               atol=1e-5, rtol=1e-5)


def _state(pool):
    return {n: p.detach().clone() for n, p in pool.peft_model.named_parameters()}


def test_adapter_of_another_base_model_is_refused_with_both_identities(saved, tmp_path):
    pool = AdapterPool(tiny_llama(), identity="builtin:tiny-llama@v1:seed=0")
    pool_default = AdapterPool(tiny_llama())
    pool_default.load("a0", saved["a0"][0])
    before = _state(pool_default)
    save_adapter(tmp_path / "wide", seed=5, hidden=64)
    with pytest.raises(InvalidArgument) as err:
        pool_default.load("wide", tmp_path / "wide")
    # the adapter's identity (name and shapes of the 64-wide model) and the pool's (the 32-wide one) are both named
    assert "#shapes=" in str(err.value) and str(err.value).count("#shapes=") == 2
    assert pool_default.identity in str(err.value)
    assert pool_default.names == ["a0"] and all(torch.equal(before[n], p) for n, p in _state(pool_default).items())
    # a worker-recorded identity that differs from the pool's
    with pytest.raises(InvalidArgument, match="builtin:tiny-llama@v1:seed=0"):
        pool.load("a0", saved["a0"][0])
    assert pool.names == []


def test_adapter_of_another_method_version_is_refused(saved, tmp_path):
    pool = AdapterPool(tiny_llama())
    pool.load("a0", saved["a0"][0])
    path = saved["a1"][0]
    config = json.loads((path / "adapter_config.json").read_text())
    assert config["method_version"] == bslora.provenance.current_method_version()
    config["method_version"] = "bslora-method/0"
    (path / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(FailedPrecondition, match=r"'bslora-method/0'.*'bslora-method/1'.*method-versions.json"):
        pool.load("a1", path)
    assert pool.names == ["a0"]


def test_loading_past_the_memory_limit_is_resource_exhausted_and_the_others_keep_serving(saved):
    one = AdapterPool(tiny_llama())
    size = one.load("a0", saved["a0"][0])
    pool = AdapterPool(tiny_llama(), memory_limit_bytes=2 * size + size // 2)
    pool.load("a0", saved["a0"][0])
    pool.load("a1", saved["a1"][0])
    before = _state(pool)
    with pytest.raises(ResourceExhausted, match=r"needs \d+ bytes.*limit") as err:
        pool.load("a2", saved["a2"][0])
    assert err.value.status == "RESOURCE_EXHAUSTED" and grpc.StatusCode.RESOURCE_EXHAUSTED.name == err.value.status
    assert pool.names == ["a0", "a1"] and pool.resident_bytes() == 2 * size
    assert _state(pool).keys() == before.keys()
    assert all(torch.equal(before[n], p) for n, p in _state(pool).items())
    out = pool.forward(IDS[:2], ["a1", "a0"]).logits
    torch.testing.assert_close(out[:1], logits(saved["a1"][1], IDS[:1]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[1:], logits(saved["a0"][1], IDS[1:2]), atol=1e-5, rtol=1e-5)
    pool.unload("a0")  # room again
    pool.load("a2", saved["a2"][0])
    assert pool.names == ["a1", "a2"]


def test_bf16_pool_holds_adapters_in_bf16(saved):
    pool = AdapterPool(tiny_llama().to(torch.bfloat16))
    size = pool.load("a0", saved["a0"][0])
    count = bslora.count_parameters(tiny_llama(), saved["a0"][1].peft_config["default"])["total"]
    assert size == count * 2
    assert all(p.dtype == torch.bfloat16 for p in pool.peft_model.parameters())
    assert pool.forward(IDS[:1], ["a0"]).logits.dtype == torch.bfloat16


def test_pool_refuses_a_second_method(saved, tmp_path):
    torch.manual_seed(3)
    lora = peft.get_peft_model(tiny_llama(), peft.LoraConfig(r=4, target_modules=TARGETS))
    lora.save_pretrained(tmp_path / "lora")
    pool = AdapterPool(tiny_llama())
    pool.load("a0", saved["a0"][0])
    with pytest.raises(InvalidArgument, match="LORA adapter, but this pool serves BSLORA"):
        pool.load("lora", tmp_path / "lora")


@pytest.mark.parametrize("damage", ["header cut", "data cut", "empty", "not safetensors"])
def test_a_damaged_weights_file_is_refused_by_name_and_the_others_keep_serving(saved, damage):
    pool = AdapterPool(tiny_llama())
    pool.load("a0", saved["a0"][0])  # a1 has a0's configuration: it would take the template path
    weights = saved["a1"][0] / "adapter_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes({"header cut": data[:100], "data cut": data[:-100], "empty": b"",
                         "not safetensors": b"\xff" * 64}[damage])
    before = logits(pool.peft_model, IDS)
    with pytest.raises(InvalidArgument, match=r"adapter 'a1': .*adapter_model.safetensors is not a whole "
                                              r"safetensors file .*save the adapter again"):
        pool.load("a1", saved["a1"][0])
    assert pool.names == ["a0"] and "a1" not in pool.peft_model.peft_config
    torch.testing.assert_close(logits(pool.peft_model, IDS), before)

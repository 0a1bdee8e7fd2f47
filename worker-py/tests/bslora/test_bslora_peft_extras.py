"""modules_to_save, trainable biases, deepcopy, several active adapters."""

import copy

import peft
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import BertConfig, BertForSequenceClassification

import bslora
from bslora.layer import BSLoraLayer
from bslora_helpers import ARCHS, LLAMA_TARGETS, make_config, model_inputs, model_output, tiny_llama


def tiny_bert_cls(seed=0):
    torch.manual_seed(seed)
    cfg = BertConfig(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2,
                     vocab_size=64, max_position_embeddings=64, num_labels=3)
    return BertForSequenceClassification(cfg).eval()


def test_modules_to_save_and_seq_cls(tmp_path):
    cfg = make_config("kron", ["query", "key", "value"], modules_to_save=["classifier"], task_type="SEQ_CLS",
                      init_weights=False)
    pm = peft.get_peft_model(tiny_bert_cls(), cfg)
    classifier = sum(p.numel() for n, p in pm.named_parameters() if "classifier" in n and p.requires_grad)
    assert classifier == 32 * 3 + 3
    trainable = sum(p.numel() for p in pm.parameters() if p.requires_grad)
    assert trainable == bslora.count_parameters(tiny_bert_cls(), cfg)["total"] + classifier
    inputs = model_inputs()
    with torch.no_grad():
        pm.base_model.model.classifier.modules_to_save["default"].weight.add_(1.0)  # make the head differ
        expected = pm(**inputs).logits
    pm.save_pretrained(tmp_path)
    saved = load_file(tmp_path / "adapter_model.safetensors")
    assert sum(t.numel() for t in saved.values()) == trainable
    loaded = PeftModel.from_pretrained(tiny_bert_cls(), tmp_path)
    with torch.no_grad():
        assert torch.equal(loaded(**inputs).logits, expected)


def test_bias_all_and_bslora_only():
    build, targets = ARCHS["gpt2"]
    for bias in ("all", "bslora_only"):
        pm = peft.get_peft_model(build(), make_config("slice", targets, bias=bias))
        count = bslora.count_parameters(build(), pm.peft_config["default"])["total"]
        biases = {n: p for n, p in pm.named_parameters() if p.requires_grad and n.endswith(".bias")}
        assert biases
        if bias == "bslora_only":
            assert all(".base_layer.bias" in n for n in biases)
        assert sum(p.numel() for p in pm.parameters() if p.requires_grad) == count + sum(
            p.numel() for p in biases.values())


def test_deepcopy_keeps_sharing_consistent():
    torch.manual_seed(0)
    pm = peft.get_peft_model(tiny_llama(), make_config("slice", LLAMA_TARGETS, init_weights=False))
    clone = copy.deepcopy(pm)
    inputs = model_inputs()
    with torch.no_grad():
        assert torch.equal(model_output(clone, inputs), model_output(pm, inputs))
        clone.base_model.bslora_inter_B["default"].add_(1.0)  # changing the clone's shared tensor ...
        assert not torch.equal(model_output(clone, inputs), model_output(pm, inputs))  # ... affects only the clone
    layer = next(m for m in clone.modules() if isinstance(m, BSLoraLayer))
    assert layer._bslora_store.inter_B is clone.base_model.bslora_inter_B


def test_two_active_adapters_add_up():
    torch.manual_seed(0)
    pm = peft.get_peft_model(tiny_llama(), make_config("gate", LLAMA_TARGETS, init_weights=False))
    pm.add_adapter("two", make_config("slice", LLAMA_TARGETS, init_weights=False))
    layer = pm.base_model.model.model.layers[1].mlp.up_proj
    x = torch.randn(4, 32)
    with torch.no_grad():
        base = layer.get_base_layer()(x)
        one = layer._adapter_output("default", x)
        two = layer._adapter_output("two", x)
        pm.base_model.set_adapter(["default", "two"])
        torch.testing.assert_close(layer(x), base + one + two)


def test_safe_merge_detects_nan_and_otherwise_matches_merge():
    import pytest

    torch.manual_seed(0)
    pm = peft.get_peft_model(tiny_llama(), make_config("kron", LLAMA_TARGETS, init_weights=False))
    layer = pm.base_model.model.model.layers[0].self_attn.v_proj
    w0 = layer.get_base_layer().weight.detach().clone()
    layer.merge(safe_merge=True)
    torch.testing.assert_close(layer.get_base_layer().weight, w0 + layer.get_delta_weight("default"))
    layer.unmerge()
    with torch.no_grad():
        pm.base_model.bslora_inter_A["default"][0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        layer.merge(safe_merge=True)
    torch.testing.assert_close(layer.get_base_layer().weight, w0, atol=1e-6, rtol=0)

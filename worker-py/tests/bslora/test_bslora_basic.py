import peft
import pytest
import torch

import bslora
from bslora_helpers import LLAMA_TARGETS, make_config, model_inputs, model_output, tiny_llama

MODES = ["slice", "gate", "kron"]


@pytest.mark.parametrize("mode", MODES)
def test_get_peft_model_trains_all_parts(mode):
    model = tiny_llama()
    cfg = make_config(mode, LLAMA_TARGETS, init_weights=False)
    pm = peft.get_peft_model(model, cfg)
    trainable = {n: p for n, p in pm.named_parameters() if p.requires_grad}
    assert sum(p.numel() for p in trainable.values()) == bslora.count_parameters(tiny_llama(), cfg)["total"]
    assert all("bslora_" in n for n in trainable)
    inputs = model_inputs()
    pm(**inputs, labels=inputs["input_ids"]).loss.backward()
    kinds = {"local": "bslora_A.", "intra": "bslora_intra_", "inter": "bslora_inter_"}
    if mode != "slice":
        kinds["transform"] = "bslora_transform."
    for kind, marker in kinds.items():
        grads = [p.grad for n, p in trainable.items() if marker in n]
        assert grads, kind
        assert all(g is not None and g.abs().sum() > 0 for g in grads), kind


@pytest.mark.parametrize("mode", MODES)
def test_untrained_adapter_is_a_noop(mode):
    base = tiny_llama()
    inputs = model_inputs()
    with torch.no_grad():
        ref = model_output(base, inputs)
    pm = peft.get_peft_model(tiny_llama(), make_config(mode, LLAMA_TARGETS))
    with torch.no_grad():
        assert torch.equal(model_output(pm, inputs), ref)

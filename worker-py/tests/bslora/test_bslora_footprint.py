"""The serving footprint from shapes equals what save_pretrained writes and what the loaded adapter holds."""

import peft
import pytest
import torch

import bslora
from bslora.footprint import lora_serving_footprint, merged_rank, serving_footprint
from bslora.plan import build_plan
from bslora_helpers import LLAMA_TARGETS, make_config, tiny_llama
from transformers import LlamaConfig


@pytest.mark.parametrize("mode", ["slice", "gate", "kron"])
def test_footprint_matches_the_saved_file_and_the_resident_tensors(mode, tmp_path):
    config = make_config(mode, LLAMA_TARGETS)
    fp = serving_footprint(tiny_llama(), config)
    pm = peft.get_peft_model(tiny_llama(), make_config(mode, LLAMA_TARGETS))
    pm.save_pretrained(tmp_path)
    assert fp["adapter_file_bytes"] == (tmp_path / "adapter_model.safetensors").stat().st_size
    resident = sum(p.numel() * p.element_size() for n, p in pm.named_parameters() if "bslora_" in n)
    assert fp["resident_bytes_fp32"] == resident == 2 * fp["resident_bytes_bf16"]
    # merged: each module's own (A_cat, B_cat) pair, as the layer builds it for the forward
    merged = 0
    for module in pm.modules():
        if isinstance(module, bslora.BSLoraLayer):
            A, B = module._lowrank_factors("default", torch.float32, torch.device("cpu"))
            merged += A.numel() + B.numel()
    assert fp["merged_resident_bytes_fp32"] == 4 * merged == 2 * fp["merged_resident_bytes_bf16"]
    assert fp["adapters_per_gib"] == 2**30 / fp["resident_bytes_bf16"]


def test_lora_footprint_matches_the_saved_file(tmp_path):
    pm = peft.get_peft_model(tiny_llama(), peft.LoraConfig(r=8, target_modules=LLAMA_TARGETS))
    pm.save_pretrained(tmp_path)
    fp = lora_serving_footprint(tiny_llama(), 8, LLAMA_TARGETS)
    assert fp["adapter_file_bytes"] == (tmp_path / "adapter_model.safetensors").stat().st_size
    assert fp["resident_bytes_fp32"] == fp["merged_resident_bytes_fp32"] == 4 * sum(
        p.numel() for n, p in pm.named_parameters() if "lora_" in n)


def test_footprint_of_llama2_7b_from_the_config_alone():
    cfg = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_attention_heads=32, num_hidden_layers=32,
                      vocab_size=32000)
    targets = ["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]
    lora = lora_serving_footprint(cfg, 8, targets)
    assert lora["resident_bytes_bf16"] == 2 * 8 * 32 * (3 * 8192 + 2 * (4096 + 11008))
    kron = bslora.BSLoraConfig(r_local=2, r_intra=4, r_inter=16, share_mode="kron", kron_share_size=256,
                               target_modules=targets)
    fp = serving_footprint(cfg, kron)
    assert fp["resident_bytes_bf16"] == 2 * bslora.count_parameters(cfg, kron)["total"]
    assert merged_rank(build_plan(tiny_llama(), make_config("gate", LLAMA_TARGETS))) == 2 + 2
    # expanded to per-module LoRA, kron 2/4/16 is a rank-22 LoRA: far bigger than factored, and than LoRA r=8
    assert fp["merged_resident_bytes_bf16"] == lora["resident_bytes_bf16"] * 22 // 8
    assert fp["resident_bytes_bf16"] < lora["resident_bytes_bf16"] < fp["merged_resident_bytes_bf16"]

"""GPU checks: run where torch sees a CUDA device (`pytest -m gpu`); deselected by default (pyproject addopts)."""

from __future__ import annotations

import threading

import pytest
import torch

from bslora_worker.devices import base_dtype, place_on_device
from bslora_worker.models import load_base_model
from bslora_worker.trials.train_trial import train_trial
from trial_messages import trial_view

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_trains_on_cuda_in_bf16_with_fp32_adapters(tmp_path):
    base = place_on_device(load_base_model("builtin:smollm2-135m"), "cuda:0")
    assert next(base.model.parameters()).dtype == base_dtype("cuda:0")
    trial = trial_view(trial_key="gpu", name="gpu", method="bslora", base_model="builtin:smollm2-135m", task_type="causal_lm",
                  train_data="builtin:arith", eval_tasks=(), target_modules=("q_proj", "k_proj", "v_proj", "up_proj",
                  "down_proj"), steps=10, learning_rate=3e-4, batch_size=8, seq_len=64, seed=0, r_local=2,
                       r_intra=4, r_inter=8, share_mode="kron", kron_share_size=64)
    out = train_trial(trial, base, tmp_path, lambda p: None, threading.Event())
    assert out.device.startswith("cuda")
    assert out.final_loss < out.initial_loss
    assert out.peak_memory_bytes > 0

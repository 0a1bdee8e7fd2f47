"""training.gradient_checkpointing and training.bf16_autocast on a real (tiny) trial: the same training with less
kept, the resident base restored afterwards, the defaults from trial-defaults.json, and a per-trial peak memory."""

from __future__ import annotations

import threading

import pytest
import torch

from bslora_worker.models import load_base_model
from bslora_worker.contract_files import trial_defaults
from bslora_worker.trials.memory import PeakMemory
from bslora_worker.trials.train_trial import train_trial
from trial_messages import trial_view

TARGETS = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")


def make_trial(**overrides):
    fields = dict(method="bslora", r_local=2, r_intra=2, r_inter=2, share_mode="slice", target_modules=TARGETS, steps=6,
                  learning_rate=3e-3, batch_size=4, seq_len=48, seed=0, lora_dropout=0.0)
    fields.update(overrides)
    return trial_view(**fields)


@pytest.fixture(scope="module")
def base():
    return load_base_model("builtin:tiny-llama")


def _train(trial, base, tmp_path):
    return train_trial(trial, base, tmp_path, lambda p: None, threading.Event())


def test_unset_settings_take_the_defaults_file(base):
    trial = make_trial()
    assert not trial.msg.training.HasField("gradient_checkpointing")
    assert trial.gradient_checkpointing is trial_defaults()["training"]["gradient_checkpointing"] is False
    assert trial.bf16_autocast is trial_defaults()["training"]["bf16_autocast"] is False
    assert make_trial(gradient_checkpointing=True).gradient_checkpointing is True


def test_gradient_checkpointing_trains_the_same_adapter_and_is_switched_off_afterwards(base, tmp_path):
    plain = _train(make_trial(), base, tmp_path / "plain")
    checkpointed = _train(make_trial(gradient_checkpointing=True), base, tmp_path / "gc")
    assert checkpointed.initial_loss == pytest.approx(plain.initial_loss, abs=1e-6)
    assert checkpointed.final_loss == pytest.approx(plain.final_loss, abs=1e-5)
    assert not base.model.is_activation_checkpointing
    assert not any(p.requires_grad for p in base.model.parameters())
    assert checkpointed.peak_memory_bytes > 0


def test_bf16_autocast_trains_close_to_float32_and_keeps_the_adapter_float32(base, tmp_path):
    plain = _train(make_trial(), base, tmp_path / "plain")
    bf16 = _train(make_trial(bf16_autocast=True), base, tmp_path / "bf16")
    assert bf16.final_loss < bf16.initial_loss
    assert bf16.initial_loss == pytest.approx(plain.initial_loss, rel=0.02)
    assert bf16.initial_loss != plain.initial_loss  # it did run in bfloat16
    assert all(p.dtype == torch.float32 for p in base.model.parameters())


def test_peak_memory_is_the_trials_own_high_water_mark():
    with PeakMemory(torch.device("cpu"), interval_s=0.005) as peak:
        before = peak.peak_bytes
        block = torch.ones(64 * 1024 * 1024 // 4)  # 64 MiB, touched
        block.add_(1)
        import time

        time.sleep(0.05)
        del block
    assert peak.peak_bytes >= before + 48 * 1024 * 1024

"""Learning works, in the default run: a short LoRA fine-tune of SmolLM2-135M on ``builtin:arith`` through the
worker's own trial code (``train_trial``, then ``evaluate_trial`` on the saved adapter) raises multiple-choice
accuracy on held-out test items by at least ``MIN_GAIN`` over the untuned base, scored the same way.

Sized for CI on 2 cores, about two minutes (sizes, the gain measured at them and timings in docs/data-and-evaluation.md,
"Does fine-tuning help"): the gain at this size is about twice the margin, so the test fails when learning, scoring or
the adapter's round trip is broken, not by chance.
"""

from __future__ import annotations

import threading

import pytest
import torch

from bslora_worker.trials.evaluate_trial import evaluate_trial
from bslora_worker.trials.train_trial import train_trial
from bslora_worker.trials.trial import Trial
from trial_messages import trial_view

STEPS = 30
BATCH_SIZE = 8
EVAL_ITEMS = 60
# 12 of 60 items: far more than the adapter's initialisation or the example order move accuracy (chance is 0.25).
MIN_GAIN = 0.20
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.fixture
def one_thread():
    # Under oversubscription (several processes on two cores) one torch thread is many times faster than two.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _trial(method: str, **kw) -> Trial:
    return trial_view(
        trial_key=f"smollm2-arith-{method}",
        name=f"smollm2-arith-{method}",
        method=method,
        base_model="builtin:smollm2-135m",
        task_type="causal_lm",
        train_data="builtin:arith",
        eval_tasks=("builtin:arith",),
        target_modules=TARGETS,
        steps=STEPS,
        learning_rate=1e-3,
        batch_size=BATCH_SIZE,
        seq_len=64,
        seed=0,
        eval_limit=EVAL_ITEMS,
        **kw,
    )


def test_smollm2_lora_fine_tune_raises_arith_accuracy(smollm2, tmp_path, one_thread):
    base_trial = _trial("base")
    (base,), _ = evaluate_trial(base_trial, "", smollm2, tmp_path, lambda *e: None, threading.Event())

    trial = _trial("lora", rank=8, lora_alpha=16.0)
    losses = []
    out = train_trial(trial, smollm2, tmp_path, lambda p: losses.append(p.loss), threading.Event())
    assert out.steps == STEPS and len(losses) == STEPS
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.7 * first, losses

    (tuned,), _ = evaluate_trial(trial, out.adapter_sha256, smollm2, tmp_path, lambda *e: None, threading.Event())
    print(f"builtin:arith, {EVAL_ITEMS} items: base acc {base.acc:.3f}, tuned {tuned.acc:.3f}; loss {first:.3f} -> {last:.3f}")
    assert base.n == tuned.n == EVAL_ITEMS
    assert tuned.acc >= base.acc + MIN_GAIN, (base, tuned)

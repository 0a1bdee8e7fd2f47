"""SmolLM2 end to end through the worker's trial code: a few BSLoRA ``kron`` steps on BoolQ, then 50 ARC-Easy
questions scored by log-likelihood, on the session's resident base, which must come out bit-identical.

Kept small for CI on 2 cores: 4 steps of 2 examples at seq_len 64 from the first 64 BoolQ training records, and 50
ARC-Easy items (about 7 s on a lightly loaded machine); the SmolLM2 load (15-50 s) is the shared ``smollm2`` session
fixture. The test itself: 15 s with OMP_NUM_THREADS=1 at load average 3.5 (33 s with the load); with torch's
default two threads on a loaded machine 40-100 s (spin-waits under oversubscription).
"""

from __future__ import annotations

import json
import math
import threading

import torch

from bslora_worker.trials.evaluate_trial import evaluate_trial
from bslora_worker.trials.train_trial import train_trial
from trial_messages import trial_view

TARGETS = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")


def test_smollm2_bslora_kron_trains_on_boolq_and_scores_arc_easy(smollm2, commonsense_dir, tmp_path):
    # The first 64 BoolQ training records: the worker tokenizes the whole training file before step 1, and the full
    # 9,427 records would cost more than the 4 steps themselves.
    records = json.loads((commonsense_dir / "boolq" / "train.json").read_text())[:64]
    train_file = tmp_path / "boolq-train-64.json"
    train_file.write_text(json.dumps(records))
    # kron_share_size 64 divides every adapted dimension of SmolLM2: 576 (hidden), 192 (k/v), 1536 (MLP).
    trial = trial_view(
        trial_key="smollm2-e2e-kron",
        name="smollm2-e2e",
        method="bslora",
        base_model="builtin:smollm2-135m",
        task_type="causal_lm",
        train_data=str(train_file),
        eval_tasks=(str(commonsense_dir / "ARC-Easy" / "test.json"),),
        target_modules=TARGETS,
        steps=4,
        learning_rate=1e-3,
        batch_size=2,
        seq_len=64,
        seed=0,
        r_local=2,
        r_intra=2,
        r_inter=2,
        share_mode="kron",
        kron_share_size=64,
        eval_limit=50,
    )
    before = {k: v.clone() for k, v in smollm2.model.state_dict().items()}

    progress = []
    out = train_trial(trial, smollm2, tmp_path, progress.append, threading.Event())
    assert [p.step for p in progress] == [1, 2, 3, 4] and out.steps == 4
    losses = [p.loss for p in progress]
    # A pretrained model on short true/false answers: finite, positive, far below ln(vocab) = 10.8 at the start (B
    # starts at zero, so step 1 is the base model's loss). Two steps teach it the answer's form, so the loss of the
    # last two steps is well under that of the first two (about 0.4x).
    assert all(math.isfinite(v) and v > 0 for v in losses), losses
    assert out.initial_loss < 8.0, losses
    assert sum(losses[2:]) < 0.6 * sum(losses[:2]), losses
    assert out.counts["intra"] > 0 and out.counts["inter"] > 0 and out.counts["transform"] > 0, out.counts
    assert out.counts["total"] == sum(out.counts[k] for k in ("local", "intra", "inter", "transform", "head"))
    assert (tmp_path / "adapters" / f"{out.adapter_sha256}.tar").is_file()

    events = []
    scores, seconds = evaluate_trial(trial, out.adapter_sha256, smollm2, tmp_path,
                                     lambda *e: events.append(e), threading.Event())
    assert len(scores) == 1
    s = scores[0]
    # ARC-Easy has four or five options (chance about 0.25); SmolLM2 scores well above chance and far from perfect,
    # with or without this 4-step BoolQ adapter. A broken scorer, a mangled adapter or a wrong option order falls out.
    assert s.n == 50 and 0.32 <= s.acc <= 0.7 and 0.32 <= s.acc_norm <= 0.7, s
    assert events[-1][1:] == (50, 50) and seconds > 0

    # The resident base is restored exactly after training and after evaluation: same tensors, bit for bit.
    after = smollm2.model.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert not any(p.requires_grad for p in smollm2.model.parameters())
    assert not any("bslora" in n or "lora_" in n for n, _ in smollm2.model.named_parameters())

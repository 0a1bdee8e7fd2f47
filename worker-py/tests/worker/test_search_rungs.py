"""A successive-halving search's rungs on the worker: the validation split is carved from the training data, and a
trial trained rung by rung (stop, then continue from the kept checkpoint) ends bit-identical to one trained in one go."""

from __future__ import annotations

import math
import threading

import pytest

from bslora_worker.errors import InvalidArgument
from bslora_worker.models import load_base_model
from bslora_worker.trials.train_trial import train_trial
from bslora_worker.trials.validation_split import carve_validation
from trial_messages import trial_view

TARGETS = ("q_proj", "v_proj")


def make_trial(**overrides):
    fields = dict(trial_key="key-rungs", name="t", method="lora", base_model="builtin:tiny-llama", task_type="causal_lm",
                  train_data="builtin:arith", eval_tasks=("builtin:arith",), target_modules=TARGETS, steps=9,
                  learning_rate=3e-3, batch_size=4, seq_len=48, seed=0, rank=4, validation_holdout=16)
    fields.update(overrides)
    return trial_view(**fields)


@pytest.fixture(scope="module")
def base():
    return load_base_model("builtin:tiny-llama")


def test_the_carve_is_deterministic_disjoint_and_keeps_order():
    items = list(range(100))
    train, val = carve_validation(items, 10)
    assert len(val) == 10 and len(train) == 90
    assert set(train).isdisjoint(val) and sorted(train + val) == items
    assert train == sorted(train) and val == sorted(val)
    assert carve_validation(items, 10) == (train, val)
    assert val != list(range(90, 100))  # picked by a hash of the position, not the tail
    assert carve_validation(items, 0) == (items, [])
    with pytest.raises(InvalidArgument, match="validation_holdout 100 leaves nothing to train on"):
        carve_validation(items, 100)


def test_rung_by_rung_equals_one_go_and_reports_the_validation_loss(base, tmp_path):
    whole = train_trial(make_trial(), base, tmp_path / "whole", lambda p: None, threading.Event())
    assert whole.validation_examples == 16 and math.isfinite(whole.validation_loss)

    run = tmp_path / "rungs"
    seen = []
    first = train_trial(make_trial(stop_after_steps=3), base, run, lambda p: seen.append((p.step, p.total_steps)),
                        threading.Event())
    assert (first.steps, first.resumed_from_step) == (3, 0)
    assert seen[-1] == (3, 3)
    assert (run / "checkpoints" / "key-rungs" / "checkpoint.pt").is_file()  # kept for the next rung
    second = train_trial(make_trial(stop_after_steps=6), base, run, lambda p: None, threading.Event())
    assert (second.steps, second.resumed_from_step) == (6, 3)
    assert math.isfinite(second.validation_loss) and second.validation_loss != first.validation_loss
    last = train_trial(make_trial(), base, run, lambda p: None, threading.Event())
    assert (last.steps, last.resumed_from_step) == (9, 6)
    # No step ran twice, and the continued run is the uninterrupted one: same adapter bytes, same validation loss.
    assert last.adapter_sha256 == whole.adapter_sha256
    assert last.validation_loss == pytest.approx(whole.validation_loss, abs=1e-9)
    assert not (run / "checkpoints" / "key-rungs").exists()  # the last rung clears it, as a finished trial does


def test_the_holdout_changes_what_trains(base, tmp_path):
    a = train_trial(make_trial(steps=3), base, tmp_path / "a", lambda p: None, threading.Event())
    b = train_trial(make_trial(steps=3, validation_holdout=0), base, tmp_path / "b", lambda p: None,
                    threading.Event())
    assert b.validation_loss is None and b.validation_examples == 0
    assert a.adapter_sha256 != b.adapter_sha256

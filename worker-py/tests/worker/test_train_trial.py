"""Training one trial in-process: losses fall, the resident base is untouched, checkpoints resume exactly."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from bslora_worker.errors import Cancelled, InvalidArgument
from bslora_worker.models import load_base_model
from bslora_worker.trials.train_trial import train_trial
from bslora_worker.trials.trial import Trial
from trial_messages import trial_message, trial_view

TARGETS = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")


def make_trial(**overrides) -> Trial:
    fields = dict(
        trial_key="key-" + overrides.get("method", "lora"),
        name="t",
        method="lora",
        base_model="builtin:tiny-llama",
        task_type="causal_lm",
        train_data="builtin:arith",
        eval_tasks=("builtin:arith",),
        target_modules=TARGETS,
        steps=12,
        learning_rate=3e-3,
        batch_size=4,
        seq_len=48,
        seed=0,
        rank=4,
    )
    fields.update(overrides)
    return trial_view(**fields)


@pytest.fixture(scope="module")
def base():
    return load_base_model("builtin:tiny-llama")


def test_lora_and_bslora_losses_fall_and_counts_add_up(base, tmp_path):
    for trial in (make_trial(), make_trial(method="bslora", rank=0, r_local=2, r_intra=2, r_inter=4, share_mode="slice")):
        out = train_trial(trial, base, tmp_path, lambda p: None, threading.Event())
        assert out.final_loss < out.initial_loss
        assert out.counts["total"] == sum(out.counts[k] for k in ("local", "intra", "inter", "transform", "head"))
        assert out.counts["total"] > 0
        assert len(out.adapter_sha256) == 64 and (tmp_path / "adapters" / f"{out.adapter_sha256}.tar").is_file()
    assert out.counts["intra"] > 0 and out.counts["inter"] > 0


def test_resident_base_is_bit_identical_after_a_trial(base, tmp_path):
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    train_trial(make_trial(method="bslora", rank=0, r_local=2, r_intra=2, r_inter=2, share_mode="kron", kron_share_size=16),
                base, tmp_path, lambda p: None, threading.Event())
    after = base.model.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert not any(p.requires_grad for p in base.model.parameters())


def test_same_seed_gives_same_adapter(base, tmp_path):
    a = train_trial(make_trial(steps=4), base, tmp_path / "a", lambda p: None, threading.Event())
    b = train_trial(make_trial(steps=4), base, tmp_path / "b", lambda p: None, threading.Event())
    assert a.adapter_sha256 == b.adapter_sha256


def test_cancel_stops_within_one_step_and_restores_base(base, tmp_path):
    cancel = threading.Event()
    seen = []

    def on_progress(p):
        seen.append(p.step)
        if p.step == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        train_trial(make_trial(steps=50), base, tmp_path, on_progress, cancel)
    assert seen == [1, 2, 3]
    assert not any("lora" in n for n, _ in base.model.named_parameters())


def test_resume_from_checkpoint_reaches_the_uninterrupted_loss(base, tmp_path):
    """Interrupted at step 7 with checkpoints every 5 steps, the rerun resumes at 5 and ends where an
    uninterrupted run ends (same batches, same RNG); tolerance 1e-6 absolute on the final loss."""
    full = train_trial(make_trial(steps=12), base, tmp_path / "full", lambda p: None, threading.Event())

    cancel = threading.Event()
    trial = make_trial(steps=12, checkpoint_every=5)
    with pytest.raises(Cancelled):
        train_trial(trial, base, tmp_path / "resumed", lambda p: cancel.set() if p.step == 7 else None, cancel)
    resumed = train_trial(trial, base, tmp_path / "resumed", lambda p: None, threading.Event())
    assert resumed.resumed_from_step == 5
    assert resumed.steps == 12
    assert resumed.final_loss == pytest.approx(full.final_loss, abs=1e-6)
    assert resumed.adapter_sha256 == full.adapter_sha256  # bit-identical weights, not merely a close loss
    assert not (tmp_path / "resumed" / "checkpoints" / trial.trial_key).exists()


def test_bad_trials_are_refused_with_the_field_named():
    no_method = trial_message()
    no_method.ClearField("lora")
    with pytest.raises(InvalidArgument, match="trial.method is not set: set one of bslora, lora, vera, base"):
        Trial(no_method)
    with pytest.raises(InvalidArgument, match="trial.lora.rank must be positive"):
        make_trial(rank=0)
    no_share = trial_message(method="bslora", r_local=1)
    no_share.bslora.ClearField("slice")
    with pytest.raises(InvalidArgument, match="trial.bslora.share is not set: set one of slice, gate, kron"):
        Trial(no_share)
    with pytest.raises(InvalidArgument, match="trial.bslora.kron.share_size must be positive"):
        make_trial(method="bslora", r_local=1, share_mode="kron", kron_share_size=0)


def test_ranks_that_do_not_fit_the_model_are_invalid_argument(base, tmp_path):
    trial = make_trial(method="bslora", rank=0, r_local=1, r_intra=1, r_inter=1, share_mode="kron", kron_share_size=48)
    with pytest.raises(InvalidArgument, match="kron"):
        train_trial(trial, base, tmp_path, lambda p: None, threading.Event())
    assert not any("bslora" in n for n, _ in base.model.named_parameters())


def _adapter_tensor_names(archive: bytes) -> list[str]:
    import io
    import tarfile

    from safetensors.torch import load

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        data = tar.extractfile("adapter_model.safetensors").read()
    return list(load(data))


def test_sequence_classification_trains_and_evaluates(tmp_path):
    from bslora_worker.trials.evaluate_trial import evaluate_trial

    base = load_base_model("builtin:tiny-llama", "seq_cls")
    for trial in (
        make_trial(task_type="seq_cls", steps=8, trial_key="cls-lora"),
        make_trial(task_type="seq_cls", steps=8, trial_key="cls-bs", method="bslora", rank=0, r_local=2, r_intra=2,
                   r_inter=2, share_mode="slice", eval_limit=40),
    ):
        out = train_trial(trial, base, tmp_path, lambda p: None, threading.Event())
        assert math.isfinite(out.final_loss) and out.steps == 8
        # The classification head is trained and saved with the adapter (modules_to_save).
        names = _adapter_tensor_names(out.adapter)
        assert any("score" in n for n in names), names
        assert out.counts["total"] > 0
        scores, _ = evaluate_trial(trial, out.adapter_sha256, base, tmp_path, lambda *a: None, threading.Event())
        assert scores[0].n > 0 and 0.0 <= scores[0].acc <= 1.0


def test_epochs_set_the_step_count_and_warmup_is_honoured(base, tmp_path):
    from bslora_worker.data import load_train_examples
    from bslora_worker.trials.lr_schedule import lr_schedule

    n = len(load_train_examples("builtin:arith/train"))
    seen = []
    trial = make_trial(steps=None, epochs=0.002, batch_size=4, train_data="builtin:arith/train", trial_key="epochs")
    out = train_trial(trial, base, tmp_path, seen.append, threading.Event())
    assert out.steps == math.ceil(0.002 * n / 4) == len(seen)
    assert seen[-1].total_steps == out.steps
    lr_at = lr_schedule("linear", peak=1.0, warmup_steps=4, total_steps=10)
    assert [round(lr_at(s), 3) for s in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]  # the Trainer's warm-up starts at 0
    assert lr_schedule("linear", peak=1.0, warmup_steps=0, total_steps=10)(0) == 1.0  # no warm-up: the peak at once


def test_warmup_steps_zero_means_no_warmup_the_first_step_runs_at_peak(base, tmp_path):
    # Regression: 0 used to mean "unset" on the wire and the worker then warmed up over 10 % of the steps (two of
    # these 20, so the first step ran at half the peak).
    progress = []
    train_trial(make_trial(steps=20, warmup_steps=0), base, tmp_path, progress.append, threading.Event())
    assert progress[0].learning_rate == pytest.approx(3e-3)
    warmed = []
    train_trial(make_trial(steps=10, warmup_steps=4), base, tmp_path / "w", warmed.append, threading.Event())
    # transformers' linear schedule, stepped after each optimizer step as the Trainer does: 0, 1/4, 2/4, 3/4, peak
    assert [p.learning_rate for p in warmed[:5]] == pytest.approx([3e-3 * k / 4 for k in (0, 1, 2, 3, 4)])


def test_an_unset_warmup_takes_the_default_of_trial_defaults_json(base, tmp_path):
    from bslora_worker.contract_files import trial_defaults

    trial = make_trial(steps=10)
    assert not trial.msg.training.HasField("warmup_steps")
    assert trial.warmup_steps == trial_defaults()["training"]["warmup_steps"] == 0


"""Fine-tunes one trial on a resident base model (synchronous; the gRPC service runs it off the event loop).

Usage (what the service does)::

    outcome = train_trial(trial, base, run_dir, on_progress=print, cancel=threading.Event())

The base model is wrapped in a fresh adapter, trained, saved, and unloaded again, so the next trial on the same base
starts from bit-identical weights without reloading them.
"""

from __future__ import annotations

import gc
import math
import os
import random
import resource
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from peft import get_peft_model

from ..data import check_available, load_class_items, load_train_examples
from ..errors import Cancelled, FailedPrecondition, InvalidArgument
from ..models import LoadedBase
from ..versions import library_versions
from .adapter_config import adapter_config
from .rank_fit import check_ranks_fit
from .archive import pack_directory, sha256_hex
from .batches import ClassStepBatches, StepBatches, tokenize_class_items, tokenize_examples
from .checkpoints import CheckpointStore
from .memory import PeakMemory, memory_settings, step_autocast
from .lr_schedule import lr_schedule
from .micro_batches import loss_targets, split_micro_batches
from .parameter_counts import count_trial_parameters
from .serving_footprint import ZERO, safetensors_bytes_in_archive, trial_footprint
from .trial import Trial
from .validation_split import carve_validation, validation_loss


@dataclass(frozen=True)
class StepProgress:
    step: int
    total_steps: int
    loss: float
    learning_rate: float
    tokens_per_second: float
    eta_seconds: float


@dataclass(frozen=True)
class TrainOutcome:
    counts: dict  # part counts, plus "footprint": the serving footprint (ParameterCounts.footprint)
    initial_loss: float
    final_loss: float
    steps: int
    wall_seconds: float
    peak_memory_bytes: int
    versions: dict[str, str]
    device: str
    adapter: bytes  # deterministic tar of the save_pretrained directory; empty for method "base"
    adapter_sha256: str
    resumed_from_step: int
    validation_loss: float | None = None  # mean loss on the held-out split (training.validation_holdout)
    validation_examples: int = 0


def release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def train_trial(
    trial: Trial,
    base: LoadedBase,
    run_dir: Path,
    on_progress: Callable[[StepProgress], None],
    cancel: threading.Event,
    allowed_roots: tuple[str, ...] | None = None,
) -> TrainOutcome:
    started = time.perf_counter()
    seed_everything(trial.seed)
    config = adapter_config(trial)
    if config is None:  # the untuned base model: nothing to train
        counts = {**count_trial_parameters(trial, base.model, None), "footprint": dict(ZERO)}
        return TrainOutcome(counts, math.nan, math.nan, 0, time.perf_counter() - started, _peak_rss_bytes(),
                            library_versions(), "cpu", b"", "", 0)

    for task in trial.eval_tasks:  # a data mirror that lacks an eval set fails the trial now, not after training
        if not task.startswith("lm-eval:"):
            check_available(task, "eval")
    validation: list = []
    if trial.task_type == "seq_cls":
        if trial.validation_holdout:
            raise InvalidArgument("training.validation_holdout works with task_type causal_lm only")
        class_items = load_class_items(trial.train_data, split="train", allowed_roots=allowed_roots)
        items = tokenize_class_items(class_items, base.tokenizer, trial.seq_len)
        batches = ClassStepBatches(items, trial.batch_size, trial.seed, base.tokenizer.pad_token_id)
    else:
        examples = load_train_examples(
            trial.train_data, allowed_roots=allowed_roots, prompt_template=trial.prompt_template
        )
        items = tokenize_examples(examples, base.tokenizer, trial.seq_len, train_on_inputs=trial.train_on_inputs)
        items, validation = carve_validation(items, trial.validation_holdout)
        batches = StepBatches(items, trial.batch_size, trial.seed, base.tokenizer.pad_token_id)

    check_ranks_fit(base.model, trial)
    if trial.method == "bslora":  # the adapter names its base, so a server can refuse it on any other
        config.base_model_identity = base.identity
    try:
        peft_model = get_peft_model(base.model, config)
    except ValueError as err:  # PEFT and BSLoRA shape checks name the module; pass the message through
        raise InvalidArgument(f"adapter does not fit {trial.base_model}: {err}") from err
    if trial.steps <= 0:  # derived from epochs: a whole number of batches covering the data `epochs` times
        trial = trial.with_steps(max(1, math.ceil(trial.epochs * len(items) / trial.batch_size)))
    try:
        outcome = _train_wrapped(trial, peft_model, batches, run_dir, on_progress, cancel, started, validation,
                                 base.tokenizer.pad_token_id)
        return outcome
    finally:
        # Always restore the resident base, even on cancel or error, so the next trial starts clean, and give the
        # adapter's and optimizer's memory back before the next call.
        peft_model.unload()
        del peft_model
        release_memory()


def _train_wrapped(trial, peft_model, batches, run_dir, on_progress, cancel, started, validation=(),
                   pad_id=0) -> TrainOutcome:
    peft_model.train()
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    counts = count_trial_parameters(trial, peft_model, trainable, peft_model.peft_config["default"])
    optimizer = torch.optim.AdamW(trainable, lr=trial.learning_rate, weight_decay=0.0)

    checkpoints = CheckpointStore(run_dir / "checkpoints" / trial.trial_key)
    losses: list[float] = []
    start_step = 0
    state = checkpoints.load()
    if state is not None:
        start_step = checkpoints.restore(state, peft_model, optimizer)
        losses = list(state["losses"])
    # A search's rung stops inside the schedule of `steps`; the next rung continues from the checkpoint kept here.
    stop = min(trial.stop_after_steps or trial.steps, trial.steps)
    if start_step > stop:
        raise FailedPrecondition(
            f"trial {trial.name}: its checkpoint is at step {start_step}, past this call's stop at step {stop}; "
            "a rung cannot be trained backwards (clear the checkpoint to train it again)"
        )

    device = next(peft_model.parameters()).device
    with memory_settings(peft_model, trial, device), PeakMemory(device) as peak:
        _train_steps(trial, peft_model, optimizer, batches, device, losses, start_step, checkpoints, on_progress, cancel,
                     stop)
    # No gradients, so four training batches fit in one forward pass.
    val_loss = None
    if validation:
        val_loss = validation_loss(peft_model, list(validation), 4 * trial.batch_size, pad_id, device)

    adapter = _save_adapter(peft_model)
    sha = sha256_hex(adapter)
    footprint = trial_footprint(trial, peft_model, counts, peft_model.peft_config["default"])
    counts = {**counts, "footprint": {**footprint, "adapter_file_bytes": safetensors_bytes_in_archive(adapter)}}
    (run_dir / "adapters").mkdir(parents=True, exist_ok=True)
    (run_dir / "adapters" / f"{sha}.tar").write_bytes(adapter)
    if stop < trial.steps:
        if start_step < stop:  # (a call that trained nothing leaves the checkpoint it found)
            checkpoints.save(stop, peft_model, optimizer, losses)
    else:
        checkpoints.clear()
    tail = losses[-max(1, len(losses) // 5):]
    return TrainOutcome(
        counts=counts,
        initial_loss=losses[0],
        final_loss=sum(tail) / len(tail),
        steps=len(losses),
        wall_seconds=time.perf_counter() - started,
        peak_memory_bytes=peak.peak_bytes,
        versions=library_versions(),
        device=str(device),
        adapter=adapter,
        adapter_sha256=sha,
        resumed_from_step=start_step,
        validation_loss=val_loss,
        validation_examples=len(validation),
    )


def _train_steps(trial, peft_model, optimizer, batches, device, losses, start_step, checkpoints, on_progress, cancel,
                 stop):
    lr_at = lr_schedule(trial.lr_scheduler, peak=trial.learning_rate, warmup_steps=trial.warmup_steps,
                        total_steps=trial.steps)
    step_started = time.perf_counter()
    for step in range(start_step, stop):
        if cancel.is_set():
            raise Cancelled(f"trial {trial.trial_key[:12]} cancelled at step {step}")
        lr = lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = batches.batch(step)
        with step_autocast(trial, device):
            loss = _accumulate_gradients(peft_model, batch, trial.micro_batch_size, device)
        if not math.isfinite(loss):
            raise InvalidArgument(f"loss became {loss} at step {step}: lower training.learning_rate")
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss)

        now = time.perf_counter()
        tokens = int(batch["attention_mask"].sum())
        elapsed = now - step_started
        step_started = now
        done = step + 1
        eta = elapsed * (stop - done)
        on_progress(StepProgress(done, stop, losses[-1], lr, tokens / max(elapsed, 1e-9), eta))
        if trial.checkpoint_every and done % trial.checkpoint_every == 0 and done < stop:
            checkpoints.save(done, peft_model, optimizer, losses)


def _accumulate_gradients(peft_model, batch, micro_batch_size: int, device) -> float:
    """Backward over the step's micro-batches, each loss weighted by its share of the loss targets, so the gradients
    are those of the whole batch's mean loss; returns that loss."""
    micro = split_micro_batches(batch, micro_batch_size)
    targets = [loss_targets(mb) for mb in micro]
    total = sum(targets)
    if total == 0:
        raise InvalidArgument("a training batch has no loss targets: every label is masked; raise training.seq_len")
    step_loss = 0.0
    for mb, n in zip(micro, targets):
        if n == 0:  # nothing to learn in these rows; their mean loss would be NaN
            continue
        loss = peft_model(**{k: v.to(device) for k, v in mb.items()}).loss * (n / total)
        if not torch.isfinite(loss):
            return float(loss.item())
        loss.backward()
        step_loss += float(loss.item())
    return step_loss
# What PEFT raises for a method whose adapter it cannot save; I/O errors (OSError) stay retryable.
SAVE_REFUSALS = (ValueError, TypeError, NotImplementedError, KeyError, AttributeError)


def _save_adapter(peft_model) -> bytes:
    with tempfile.TemporaryDirectory(prefix="bslora-adapter-") as tmp:
        try:
            peft_model.save_pretrained(tmp)
        except SAVE_REFUSALS as err:  # the method cannot be saved: retrying cannot help
            raise FailedPrecondition(f"PEFT cannot save this adapter: {type(err).__name__}: {err}") from err
        # README.md carries a timestamp-free card, but strip it anyway: the archive must be a pure function of weights.
        readme = Path(tmp) / "README.md"
        if readme.exists():
            os.remove(readme)
        return pack_directory(Path(tmp))

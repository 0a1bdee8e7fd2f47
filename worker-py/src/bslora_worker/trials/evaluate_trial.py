"""Scores one trial's adapter (or the untuned base) on its eval tasks, on the resident base model.

The adapter archive is loaded with ``PeftModel.from_pretrained`` (``import bslora`` first registers the method),
scored, and unloaded again, leaving the resident weights as they were.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..data import load_class_items, load_eval_items
from ..errors import Cancelled, FailedPrecondition
from ..evaluation import score_classification, score_multiple_choice
from ..models import LoadedBase
from .archive import unpack_to_directory
from .trial import Trial


@dataclass(frozen=True)
class TaskScore:
    task: str
    acc: float
    acc_norm: float
    n: int
    # Per-item correctness packed one bit per item, least significant bit first (EvaluateResult's item_correct);
    # empty when the scorer reports no items.
    item_correct: bytes = b""


def pack_item_bits(correct) -> bytes:
    """Item i's flag as bit i % 8 of byte i // 8 (``numpy.packbits(..., bitorder="little")``)."""
    flags = [bool(c) for c in correct]
    return bytes(sum(1 << k for k, c in enumerate(flags[i : i + 8]) if c) for i in range(0, len(flags), 8))


def adapter_path(run_dir: Path, sha256: str) -> Path:
    return run_dir / "adapters" / f"{sha256}.tar"


def evaluate_trial(
    trial: Trial,
    adapter_sha256: str,
    base: LoadedBase,
    run_dir: Path,
    on_progress: Callable[[str, int, int], None],
    cancel: threading.Event,
    allowed_roots: tuple[str, ...] | None = None,
) -> tuple[list[TaskScore], float]:
    started = time.perf_counter()
    model = base.model
    peft_model = None
    with tempfile.TemporaryDirectory(prefix="bslora-eval-") as tmp:
        if adapter_sha256:
            archive = adapter_path(run_dir, adapter_sha256)
            if not archive.is_file():
                raise FailedPrecondition(f"this worker does not hold adapter {adapter_sha256}: upload it first")
            unpack_to_directory(archive.read_bytes(), Path(tmp))
            import bslora  # noqa: F401 - registers the BSLoRA method before PEFT reads the adapter config
            from peft import PeftModel

            try:
                peft_model = PeftModel.from_pretrained(model, tmp)
            except (ValueError, TypeError, NotImplementedError, KeyError, AttributeError) as err:
                # The method's adapter cannot be loaded back: retrying cannot help.
                raise FailedPrecondition(
                    f"PEFT cannot load adapter {adapter_sha256[:12]}: {type(err).__name__}: {err}"
                ) from err
            model = peft_model
        try:
            model.eval()
            scores = []
            for task in trial.eval_tasks:
                if cancel.is_set():
                    raise Cancelled(f"evaluation of {trial.trial_key[:12]} cancelled")
                scores.append(_score_task(trial, task, model, base, allowed_roots, on_progress))
        finally:
            if peft_model is not None:
                peft_model.unload()
    return scores, time.perf_counter() - started


def _score_task(trial: Trial, task: str, model, base: LoadedBase, allowed_roots, on_progress) -> TaskScore:
    """Multiple choice by log-likelihood for causal LMs; accuracy (reported as both acc and acc_norm) for seq_cls."""
    limit = trial.eval_limit or None
    if task.startswith("lm-eval:"):  # optional lm-evaluation-harness path (evaluation/lm_eval_harness.py)
        from ..evaluation.lm_eval_harness import score_lm_eval_task

        m = score_lm_eval_task(model, base, task, limit=limit, allowed_roots=allowed_roots,
                               on_progress=lambda done, total: on_progress(task, done, total))
        return TaskScore(task, float(m["acc"]), float(m["acc_norm"]), int(m["n"]))
    if trial.task_type == "seq_cls":
        items = load_class_items(task, split="test", allowed_roots=allowed_roots, limit=limit)
        on_progress(task, 0, len(items))
        with torch.no_grad():
            m = score_classification(model, base.tokenizer, items)
        on_progress(task, len(items), len(items))
        return TaskScore(task, float(m["acc"]), float(m["acc"]), int(m["n"]), pack_item_bits(m["correct"]))
    items = load_eval_items(task, allowed_roots=allowed_roots, limit=limit, prompt_template=trial.prompt_template)
    on_progress(task, 0, len(items))
    with torch.no_grad():
        m = score_multiple_choice(model, base.tokenizer, items)
    on_progress(task, len(items), len(items))
    return TaskScore(task, float(m["acc"]), float(m["acc_norm"]), int(m["n"]), pack_item_bits(m["correct"]))

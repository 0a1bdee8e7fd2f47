"""Optional evaluation through lm-evaluation-harness, on the in-process (PEFT) model.

An eval task ref ``lm-eval:<task>`` runs ``lm_eval.simple_evaluate`` with ``HFLM(pretrained=<the model in
memory, adapter applied>, tokenizer=<the base's Hugging Face tokenizer>)``; nothing is saved or reloaded, so BSLoRA
adapters work (``import bslora`` has already run in the worker). ``<task>`` is

  a path to a task YAML    ``lm-eval:/data/tasks/boolq_local.yaml`` (absolute, ``./``, ``../``, ``~`` or ending in
                           ``.yaml``/``.yml``); checked against the worker's allowed roots. Its folder is searched
                           too, so ``include:`` of a sibling file and group YAMLs naming sibling tasks work;
  a task, group or tag     ``lm-eval:arc_easy``; looked up in the folders named by ``BSLORA_LM_EVAL_INCLUDE``
  name                     (``:``-separated, the worker operator's setting) and then among lm-eval's built-in
                           tasks (indexing those is slow, so it is done once per process).

The run is offline (``HF_HUB_OFFLINE=1``, ``HF_DATASETS_OFFLINE=1`` while it lasts): a task whose data is a hub
dataset works only when that dataset is already in the local ``datasets`` cache; local JSON tasks
(``dataset_path: json`` with ``dataset_kwargs.data_files``) always work. A task YAML is as trusted as code (it may
name ``!function`` hooks and any data file), hence the allowed-roots check on its path.

Scores: ``acc`` and ``acc_norm`` as the harness reports them (``acc_norm`` = ``acc`` for a task without it), and
``n``, the number of documents scored (the trial's ``eval_limit`` when that is smaller than the split). A group or
tag is reported as the n-weighted mean over its tasks. The harness's global seeds are set as it always sets them and
the process's random states are restored afterwards. Needs ``pip install lm-eval==0.4.13`` (the ``lm-eval`` extra).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import random
import threading
from collections.abc import Callable
from pathlib import Path

from ..data.paths import looks_like_path, resolve_local_path
from ..errors import FailedPrecondition, InvalidArgument

PREFIX = "lm-eval:"
LM_EVAL_VERSION = "0.4.13"
LM_EVAL_INSTALL = f"pip install lm-eval=={LM_EVAL_VERSION}"
INCLUDE_ENV = "BSLORA_LM_EVAL_INCLUDE"
DEFAULT_BATCH_SIZE = 8

_OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_lock = threading.Lock()


def is_lm_eval_ref(ref: str) -> bool:
    return isinstance(ref, str) and ref.strip().startswith(PREFIX)


def _import_lm_eval():
    """``(lm_eval, HFLM, TaskManager)``, or FailedPrecondition saying how to install it."""
    # Imported with the environment as it is: `datasets` reads the offline switches into `datasets.config` once,
    # on first import, and `_offline()` flips them there only while a run lasts.
    try:
        import lm_eval
        import lm_eval.evaluator
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager
    except ImportError as exc:
        raise FailedPrecondition(
            f"lm-eval task refs ({PREFIX}...) need lm-evaluation-harness, which this worker cannot import "
            f"({exc}): {LM_EVAL_INSTALL} (or install the worker with the 'lm-eval' extra)"
        ) from exc
    _no_subprocesses(lm_eval)
    return lm_eval, HFLM, TaskManager


def _no_subprocesses(lm_eval) -> None:
    """simple_evaluate stamps its results with ``git describe`` and torch's collect_env, both run as subprocesses
    (the second takes seconds). The worker must not fork once gRPC runs and has no use for either, so both become
    no-ops in this process."""
    import lm_eval.evaluator as evaluator
    if not getattr(evaluator, "_bslora_quiet", False):
        evaluator.get_git_commit_hash = lambda: None
        evaluator.add_env_info = lambda storage: None
        evaluator._bslora_quiet = True


@contextlib.contextmanager
def _offline():
    """HF_HUB_OFFLINE / HF_DATASETS_OFFLINE on for the duration, in the environment and in the flags that
    huggingface_hub and datasets read at import time; everything restored afterwards."""
    saved_env = {k: os.environ.get(k) for k in _OFFLINE_ENV}
    patched: list[tuple[object, str, object]] = []
    try:
        for k in _OFFLINE_ENV:
            os.environ[k] = "1"
        import sys

        for module_name, attrs in (
            ("huggingface_hub.constants", ("HF_HUB_OFFLINE",)),
            ("datasets.config", ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")),
        ):
            module = sys.modules.get(module_name)
            for attr in attrs:
                if module is not None and hasattr(module, attr):
                    patched.append((module, attr, getattr(module, attr)))
                    setattr(module, attr, True)
        yield
    finally:
        for module, attr, value in reversed(patched):
            setattr(module, attr, value)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _random_states_kept():
    import numpy as np
    import torch

    py, nps, cpu = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(nps)
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def _hf_tokenizer(base):
    """The transformers tokenizer behind the base's TextTokenizer, or FailedPrecondition naming the model."""
    hf = getattr(base.tokenizer, "hf", None)
    try:
        from transformers import PreTrainedTokenizerBase
    except ImportError:  # pragma: no cover - transformers is a hard dependency
        PreTrainedTokenizerBase = object
    if hf is None or not isinstance(hf, PreTrainedTokenizerBase):
        name = base.ref or base.identity
        raise FailedPrecondition(
            f"lm-eval tasks need a Hugging Face tokenizer, and model {name} has {base.tokenizer!r}: use a model with "
            f"a Hugging Face tokenizer (e.g. builtin:smollm2-135m)"
        )
    if hf.pad_token_id is None:
        # HFLM would set (or add) a pad token on the tokenizer it is given; keep the resident one as it is.
        hf = copy.deepcopy(hf)
    return hf


def _include_dirs() -> list[str]:
    return [p for p in os.environ.get(INCLUDE_ENV, "").split(os.pathsep) if p]


@functools.lru_cache(maxsize=4)
def _default_task_manager(TaskManager, include: tuple[str, ...]):
    """lm-eval's built-in tasks (plus ``include``): thousands of YAMLs, indexed once per process."""
    return TaskManager(include_path=list(include) or None, include_defaults=True)


def parse_ref(ref: str, allowed_roots=None) -> tuple[str, list[str]]:
    """``(task spec for TaskManager, include folders searched before the built-in tasks)``."""
    spec = ref.strip()[len(PREFIX):].strip()
    if not spec:
        raise InvalidArgument(
            f"eval task {ref!r}: give a task after {PREFIX!r}, e.g. {PREFIX}arc_easy or {PREFIX}/path/task.yaml"
        )
    include = _include_dirs()
    if looks_like_path(spec) or spec.lower().endswith((".yaml", ".yml")):
        path = resolve_local_path(spec, allowed_roots, what="lm-eval task file")
        if not path.is_file():
            raise InvalidArgument(f"lm-eval task file {spec!r} is not a file (resolved to {path})")
        return str(path), [str(path.parent), *include]
    return spec, include


def _load_tasks(TaskManager, spec: str, include: list[str], ref: str) -> dict:
    """The harness's ``{"tasks": {...}, "groups": {...}}`` for ``spec``: from ``include`` alone first (cheap), then
    with lm-eval's built-in tasks."""
    errors = []
    managers = []
    if include:
        managers.append(lambda: TaskManager(include_path=include, include_defaults=False))
    managers.append(lambda: _default_task_manager(TaskManager, tuple(include)))
    for make in managers:
        try:
            with _offline():
                manager = make()
                return manager.load([spec]) | {"manager": manager}
        except KeyError as exc:
            errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - task and dataset loading fail in many ways; say which and why
            raise _load_error(ref, exc) from exc
    raise InvalidArgument(f"eval task {ref!r}: lm-eval knows no task, group or tag {spec!r} ({errors[-1]})")


def _load_error(ref: str, exc: Exception) -> Exception:
    import yaml

    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, yaml.YAMLError):
        return InvalidArgument(f"eval task {ref!r}: a task file is not valid YAML ({what})")
    if isinstance(exc, FileNotFoundError):
        return InvalidArgument(f"eval task {ref!r}: a file the task names does not exist ({what})")
    if isinstance(exc, (ConnectionError, OSError)) or "offline" in what.lower():
        return FailedPrecondition(
            f"eval task {ref!r}: its dataset is not on this machine and lm-eval tasks run offline here ({what}); "
            f"point the task at local files (dataset_path: json, dataset_kwargs.data_files) or fill the datasets cache"
        )
    return InvalidArgument(f"eval task {ref!r}: lm-eval could not build the task ({what})")


def run_lm_eval(
    model,
    base,
    ref: str,
    *,
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    allowed_roots=None,
    log_samples: bool = False,
    on_loaded: Callable[[int], None] | None = None,
) -> tuple[dict, list[str]]:
    """Run ``simple_evaluate`` for one ``lm-eval:`` ref on ``model`` (the base, or a PeftModel around it).

    Returns the harness's results dict and the names of the leaf tasks scored. ``on_loaded(n)`` is called once
    the documents are known, before any scoring."""
    if getattr(base, "task_type", "causal_lm") != "causal_lm":
        raise InvalidArgument(f"eval task {ref!r}: lm-eval tasks score causal LMs, not a {base.task_type} model")
    spec, include = parse_ref(ref, allowed_roots)
    lm_eval, HFLM, TaskManager = _import_lm_eval()
    tokenizer = _hf_tokenizer(base)
    with _lock:
        loaded = _load_tasks(TaskManager, spec, include, ref)
        tasks = loaded["tasks"]
        if not tasks:
            raise InvalidArgument(f"eval task {ref!r}: {spec!r} names no lm-eval tasks")
        for name, task in tasks.items():
            metrics = set(task.aggregation())
            if "acc" not in metrics:
                raise InvalidArgument(
                    f"eval task {ref!r}: lm-eval task {name!r} reports no 'acc' metric (it reports "
                    f"{', '.join(sorted(metrics)) or 'nothing'}); use a multiple-choice task"
                )
        if on_loaded is not None:
            total = 0
            for task in tasks.values():
                docs = len(task.eval_docs)
                total += min(docs, limit) if limit else docs
            on_loaded(total)
        with _offline(), _random_states_kept():
            lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
            results = lm_eval.simple_evaluate(
                model=lm,
                tasks=list(tasks.values()),
                task_manager=loaded["manager"],
                limit=limit,
                bootstrap_iters=0,
                log_samples=log_samples,
            )
    return results, list(tasks)


def _metric(task_results: dict, name: str) -> float | None:
    for key, value in task_results.items():
        if key.split(",")[0] == name and not key.endswith("_stderr") and isinstance(value, (int, float)):
            return float(value)
    return None


def summarize(results: dict, task_names: list[str], ref: str) -> dict:
    """``{"acc", "acc_norm", "n"}`` from a harness results dict: one task as reported, several weighted by n."""
    acc = acc_norm = 0.0
    n_total = 0
    for name in task_names:
        r = results["results"][name]
        a = _metric(r, "acc")
        if a is None:
            raise InvalidArgument(f"eval task {ref!r}: lm-eval reported no acc for {name!r}: {sorted(r)}")
        an = _metric(r, "acc_norm")
        n_samples = results.get("n-samples", {}).get(name, {})
        n = int(n_samples.get("effective", n_samples.get("original", 0)))
        acc += a * n
        acc_norm += (a if an is None else an) * n
        n_total += n
    if n_total == 0:
        raise InvalidArgument(f"eval task {ref!r}: lm-eval scored no documents")
    return {"acc": acc / n_total, "acc_norm": acc_norm / n_total, "n": n_total}


def score_lm_eval_task(
    model,
    base,
    ref: str,
    *,
    limit: int | None = None,
    allowed_roots=None,
    on_progress: Callable[[int, int], None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict:
    """``{"acc": float, "acc_norm": float, "n": int}`` for one ``lm-eval:`` ref (see the module docstring)."""
    total = [0]

    def loaded(n: int) -> None:
        total[0] = n
        if on_progress is not None:
            on_progress(0, n)

    results, names = run_lm_eval(
        model, base, ref, limit=limit, batch_size=batch_size, allowed_roots=allowed_roots, on_loaded=loaded
    )
    scores = summarize(results, names, ref)
    if on_progress is not None:
        on_progress(scores["n"], scores["n"])
    return scores

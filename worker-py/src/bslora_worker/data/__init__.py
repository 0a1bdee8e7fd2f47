"""Training and evaluation data by reference.

Refs:
  ``builtin:arith``           the built-in offline task (train split for training, test split for evaluation;
                              ``builtin:arith/train`` / ``builtin:arith/test`` name a split explicitly);
  ``owner/name[@rev]``        a Hugging Face Hub dataset (``hub:`` prefix optional), read from the data mirror when one
                              is configured (see ``mirror``);
  ``llm-adapters:<Set>``      one of LLM-Adapters' commonsense sets (``ARC-Easy``, ``boolq``, …; train split for
                              training, test split for evaluation), from the mirror or downloaded once;
  ``path/to/file.json[l]``    Alpaca records (training only) or LLM-Adapters commonsense records (training and
                              evaluation), detected from the fields; ``path#mc`` (default) or ``path#llm-adapters``
                              chooses how commonsense records become prompts (see ``formats``).

Local paths are checked against ``allowed_roots`` when given. Every problem with a file is an InvalidArgument that
names the file, the record (JSON: ``record #i``, 0-based) or line (JSONL: ``line n``, 1-based) and what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidArgument
from . import builtin, formats
from .hub import is_hub_ref, read_hub_records
from .mirror import LLM_ADAPTERS_PREFIX, hub_mirror_file, llm_adapters_file, mirror_dir
from .paths import looks_like_path, resolve_local_path, sha256_of_file
from .types import ChoiceItem, ClassItem, TrainExample

__all__ = [
    "ChoiceItem",
    "ClassItem",
    "TrainExample",
    "check_available",
    "class_labels",
    "identity_of",
    "load_class_items",
    "load_eval_items",
    "load_train_examples",
]

CLASS_LABELS = {"arith": ["wrong", "right"], "boolean": ["false", "true"]}


def _split_style(ref: str) -> tuple[str, str]:
    if "#" in ref:
        base, _, style = ref.rpartition("#")
        if style in formats.STYLES:
            return base, style
        raise InvalidArgument(f"data ref {ref!r}: unknown style {style!r}; use one of {', '.join(formats.STYLES)}")
    return ref, formats.DEFAULT_STYLE


def _check_ref(ref) -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgument("the data ref is empty")
    return ref.strip()


def _open_file(ref: str, allowed_roots, purpose: str = "train") -> tuple[Path, str, list[formats.Record]]:
    path_ref, style = _split_style(ref)
    if path_ref.startswith(LLM_ADAPTERS_PREFIX):
        path = llm_adapters_file(path_ref, purpose)  # the mirror or the download cache: not the caller's path
    elif not looks_like_path(path_ref) and Path(path_ref).suffix.lower() not in (".json", ".jsonl", ".ndjson"):
        if is_hub_ref(path_ref):
            path, records = read_hub_records(path_ref, purpose)
            return path, style, records
        raise InvalidArgument(
            f"data ref {ref!r} is neither builtin:NAME, llm-adapters:SET, a local .json/.jsonl file nor a hub "
            f"dataset id (owner/name)"
        )
    else:
        path = resolve_local_path(path_ref, allowed_roots, what="data file")
    if not path.is_file():
        raise InvalidArgument(f"data file {path} is not a file")
    records = formats.read_records(path)
    if not records:
        raise InvalidArgument(f"data file {path} holds no records")
    return path, style, records


def _limit(items: list, limit: int | None) -> list:
    if limit is None:
        return items
    if not isinstance(limit, int) or limit < 0:
        raise InvalidArgument(f"limit must be a non-negative integer, got {limit!r}")
    return items[:limit]


def load_train_examples(
    ref: str, *, allowed_roots: Sequence[str] | None = None, limit: int | None = None, prompt_template: str = ""
) -> list[TrainExample]:
    """Training examples (prompt, completion) from ``ref``; the first ``limit`` when given. ``prompt_template``
    (``formats.PROMPT_TEMPLATES``; "" = alpaca) frames instruction records; builtins and ``#mc`` files have their
    own prompt."""
    ref = _check_ref(ref)
    template = formats.check_prompt_template(prompt_template)
    if ref.startswith("builtin:"):
        _, split = builtin.parse_builtin(ref)
        return _limit(builtin.arith_examples(split or "train"), limit)
    path, style, records = _open_file(ref, allowed_roots)
    records = _limit(records, limit)
    if formats.is_commonsense(records):
        return formats.commonsense_examples(path, records, style, template)
    return formats.alpaca_examples(path, records, template)


def load_eval_items(
    ref: str, *, allowed_roots: Sequence[str] | None = None, limit: int | None = None, prompt_template: str = ""
) -> list[ChoiceItem]:
    """Multiple-choice items from ``ref``; the first ``limit`` when given (the per-task example limit).
    ``prompt_template`` frames ``#llm-adapters`` records as in ``load_train_examples``."""
    ref = _check_ref(ref)
    template = formats.check_prompt_template(prompt_template)
    if ref.startswith("builtin:"):
        _, split = builtin.parse_builtin(ref)
        return _limit(builtin.arith_items(split or "test"), limit)
    path, style, records = _open_file(ref, allowed_roots, purpose="eval")
    if not formats.is_commonsense(records):
        raise InvalidArgument(
            f"data file {path} has no 'answer' field: Alpaca-style records have no options to score, so they can "
            f"train but not evaluate; evaluation needs LLM-Adapters commonsense records"
        )
    return formats.commonsense_items(path, _limit(records, limit), style, template)


def load_class_items(
    ref: str, *, split: str = "train", allowed_roots: Sequence[str] | None = None, limit: int | None = None
) -> list[ClassItem]:
    """Sequence-classification items: ``builtin:arith`` ("47 + 38 = 85" right/wrong; ``split`` picks train or test
    unless the ref names one) or a true/false commonsense file (BoolQ)."""
    ref = _check_ref(ref)
    if ref.startswith("builtin:"):
        _, ref_split = builtin.parse_builtin(ref)
        return _limit(builtin.arith_class_items(ref_split or split), limit)
    path, _, records = _open_file(ref, allowed_roots, purpose="train" if split == "train" else "eval")
    if not formats.is_commonsense(records):
        raise InvalidArgument(f"data file {path} has no 'answer' field; classification needs true/false records")
    return formats.commonsense_class_items(path, _limit(records, limit))


def check_available(ref: str, purpose: str) -> None:
    """With a data mirror configured, fails as loading would when the mirror lacks the data set ``ref`` names
    (``purpose`` 'train' or 'eval'); other refs pass. Lets a trial check its evaluation data before it trains."""
    mirror = mirror_dir()
    if mirror is None:
        return
    path_ref, _ = _split_style(_check_ref(ref))
    if path_ref.startswith(LLM_ADAPTERS_PREFIX):
        llm_adapters_file(path_ref, purpose)
    elif not looks_like_path(path_ref) and is_hub_ref(path_ref):
        hub_mirror_file(path_ref.removeprefix("hub:").partition("@")[0], purpose, mirror)


def class_labels(ref: str) -> list[str]:
    """The label names of ``load_class_items(ref)``, index = label."""
    ref = _check_ref(ref)
    return list(CLASS_LABELS["arith" if ref.startswith("builtin:") else "boolean"])


def identity_of(ref: str) -> str:
    """What identifies the data behind ``ref`` for trial keys: ``builtin:NAME@vN`` for builtins (split suffix kept),
    the sha256 hex digest of the file's content for local files (``#llm-adapters`` appended for that style)."""
    ref = _check_ref(ref)
    if ref.startswith("builtin:"):
        name, split = builtin.parse_builtin(ref)
        return f"builtin:{name}{'/' + split if split else ''}@{builtin.BUILTIN_TASKS[name]}"
    path_ref, style = _split_style(ref)
    if path_ref.startswith(LLM_ADAPTERS_PREFIX) or (not looks_like_path(path_ref) and is_hub_ref(path_ref)):
        return ref  # named public data: its name identifies it
    path = resolve_local_path(path_ref, None, what="data file")
    if not path.is_file():
        raise InvalidArgument(f"data file {path} is not a file")
    digest = sha256_of_file(path)
    return digest if style == formats.DEFAULT_STYLE else f"{digest}#{style}"

"""Datasets from the Hugging Face Hub (`owner/name`, optionally `@revision`), read with the `datasets` library.

Rows become the same records as a local file, so Alpaca-style (instruction, input, output) and LLM-Adapters
commonsense rows work alike. Training reads the `train` split; evaluation reads `test` (else `validation`). With a
data mirror configured (``mirror.MIRROR_ENV``) the split's file is read from the mirror instead, and the hub is never
contacted. Where the hub cannot be reached the call fails in seconds with FAILED_PRECONDITION and says to set a mirror.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import FailedPrecondition, InvalidArgument
from .formats import Record, read_records
from .mirror import MIRROR_ENV, hub_mirror_file, mirror_dir
from .paths import looks_like_path

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._/-]+)?$")


def is_hub_ref(ref: str) -> bool:
    """``hub:<id>``, or a bare ``owner/name[@revision]`` that is not a local path or data file."""
    if ref.startswith("hub:"):
        return True
    return not looks_like_path(ref) and Path(ref).suffix.lower() not in (".json", ".jsonl", ".ndjson") and bool(
        HUB_ID.match(ref)
    )


def read_hub_records(ref: str, purpose: str) -> tuple[Path, list[Record]]:
    """(a pseudo-path naming the dataset for messages, its rows as records) for ``purpose`` 'train' or 'eval'."""
    from ..models.loading import hub_reachable

    dataset_id, _, revision = ref.removeprefix("hub:").partition("@")
    mirror = mirror_dir()
    if mirror is not None:
        path, split = hub_mirror_file(dataset_id, purpose, mirror)
        records = read_records(path)
        if not records:
            raise InvalidArgument(f"data file {path} (hub dataset {dataset_id!r}, {split} split) holds no records")
        return path, records
    try:
        import datasets
    except ImportError as err:
        raise FailedPrecondition(
            f"data ref {ref!r} is a hub dataset, and the `datasets` package is not installed on this worker: "
            f"pip install datasets, or download the data and pass its path"
        ) from err
    if not hub_reachable():
        raise FailedPrecondition(
            f"data ref {ref!r} is a hub dataset, and the Hugging Face Hub is unreachable from this worker "
            f"(offline, or HF_HUB_OFFLINE set): set {MIRROR_ENV} to a data mirror holding "
            f"{dataset_id}/{'train' if purpose == 'train' else 'test'}.json, or download the dataset and pass its path"
        )
    splits = ["train"] if purpose == "train" else ["test", "validation"]
    last_error: Exception | None = None
    for split in splits:
        try:
            rows = datasets.load_dataset(dataset_id, split=split, revision=revision or None)
        except ValueError as err:  # no such split: try the next
            last_error = err
            continue
        except Exception as err:  # noqa: BLE001 - unknown dataset, gated, network trouble: one clear message
            raise InvalidArgument(f"hub dataset {dataset_id!r} could not be loaded: {type(err).__name__}: {err}") from err
        records = [Record(dict(row), f"row #{i}") for i, row in enumerate(rows)]
        if not records:
            raise InvalidArgument(f"hub dataset {dataset_id!r} split {split!r} holds no rows")
        return Path(f"hub:{dataset_id}[{split}]"), records
    raise InvalidArgument(f"hub dataset {dataset_id!r} has none of the splits {splits}: {last_error}")

"""Datasets from the Hugging Face Hub (`owner/name`, optionally `@revision`), read with the `datasets` library.

Rows become the same records as a local file, so Alpaca-style (instruction, input, output) and LLM-Adapters
commonsense rows work alike. Training reads the `train` split; evaluation reads `test` (else `validation`). Where the
hub cannot be reached the call fails in seconds with FAILED_PRECONDITION and says to pass a local copy instead.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FailedPrecondition, InvalidArgument
from .formats import Record


def read_hub_records(ref: str, purpose: str) -> tuple[Path, list[Record]]:
    """(a pseudo-path naming the dataset for messages, its rows as records) for ``purpose`` 'train' or 'eval'."""
    from ..models.loading import hub_reachable

    dataset_id, _, revision = ref.removeprefix("hub:").partition("@")
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
            f"(offline, or HF_HUB_OFFLINE set): download the dataset on a machine with access and pass its local path"
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

"""Gradient accumulation: one optimizer step's batch split into micro-batches that each fit in memory.

Each micro-batch's mean loss is weighted by its share of the step's loss targets (label tokens after the causal
shift; rows for sequence classification), so the accumulated gradient is the gradient of the whole batch's mean loss,
the same as one pass over the whole batch up to float rounding. ``micro_batch_size`` is then a memory setting only.
(The transformers Trainer weights micro-batches the same way since 4.46; older versions, as the BSLoRA reference
used, averaged the micro-batch means, which gives micro-batches with fewer tokens a larger say.)
"""

from __future__ import annotations

import torch

from .batches import IGNORE_INDEX


def split_micro_batches(batch: dict[str, torch.Tensor], micro_batch_size: int) -> list[dict[str, torch.Tensor]]:
    """Rows of ``batch`` in runs of ``micro_batch_size`` (0: one micro-batch), each cut to its own longest row."""
    rows = batch["input_ids"].shape[0]
    size = micro_batch_size if 0 < micro_batch_size < rows else rows
    out = []
    for start in range(0, rows, size):
        part = {k: v[start : start + size] for k, v in batch.items()}
        shape = part["input_ids"].shape
        width = int(part["attention_mask"].sum(dim=1).max())  # rows are right-padded
        # input_ids, attention_mask and per-token labels share the shape; one class label per row is left whole
        out.append({k: v[:, :width] if v.shape == shape else v for k, v in part.items()})
    return out


def loss_targets(micro_batch: dict[str, torch.Tensor]) -> int:
    """How many terms the model's mean loss averages over: label tokens after the causal shift (the first label
    has no prediction), or rows for one label per row."""
    labels = micro_batch["labels"]
    if labels.dim() == 1:
        return int(labels.shape[0])
    return int((labels[:, 1:] != IGNORE_INDEX).sum())

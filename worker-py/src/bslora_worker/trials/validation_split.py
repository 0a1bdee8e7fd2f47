"""The validation split of a successive-halving search: carved from the training data, scored by mean loss.

``training.validation_holdout: n`` holds ``n`` training examples out. Which ones depends only on their position in
the training data and ``n`` (ordered by a sha256 of the position), so every trial of a sweep, on every machine, holds
out the same examples, and the split never reads an eval task's test split. Training sees the rest; after the last
step a call runs, the adapter's mean per-token loss on the held-out examples (the loss targets training would use) is
the score the search ranks configurations by. The loss needs no generation and no answer options, so it works for any
causal-LM training data.
"""

from __future__ import annotations

import hashlib
from typing import TypeVar

import torch

from ..errors import InvalidArgument
from .batches import IGNORE_INDEX, Tokenized, pad_batch

T = TypeVar("T")


def _rank(i: int) -> bytes:
    return hashlib.sha256(f"bslora-validation:{i}".encode()).digest()


def carve_validation(items: list[T], holdout: int) -> tuple[list[T], list[T]]:
    """``(train, validation)``: ``holdout`` items picked by position, each list in the data's order."""
    if holdout <= 0:
        return items, []
    if holdout >= len(items):
        raise InvalidArgument(
            f"training.validation_holdout {holdout} leaves nothing to train on: the training data has {len(items)}"
            " usable examples; hold out fewer"
        )
    held = set(sorted(range(len(items)), key=_rank)[:holdout])
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]


def validation_loss(model, items: list[Tokenized], batch_size: int, pad_id: int, device) -> float:
    """Mean per-token loss of ``model`` over the loss targets of ``items`` (eval mode, no gradients); the model is
    put back into training mode afterwards. Uses no random numbers, so a run continued later is unaffected."""
    was_training = model.training
    model.eval()
    total, targets = 0.0, 0
    try:
        with torch.no_grad():
            for start in range(0, len(items), batch_size):
                batch = {k: v.to(device) for k, v in pad_batch(items[start : start + batch_size], pad_id).items()}
                n = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())  # the model shifts labels by one
                if n == 0:
                    continue
                out = model(**batch)
                total += float(out.loss) * n
                targets += n
    finally:
        if was_training:
            model.train()
    return total / targets if targets else float("nan")

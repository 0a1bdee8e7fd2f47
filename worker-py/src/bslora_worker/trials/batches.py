"""Turns training examples into token batches whose order depends only on (seed, step).

Order by step, not by a running iterator, so a run resumed from a checkpoint at step k sees exactly the batches an
uninterrupted run would have seen from step k on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import ClassItem, TrainExample
from ..errors import InvalidArgument

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]


def tokenize_examples(
    examples: list[TrainExample], tokenizer, seq_len: int, *, train_on_inputs: bool = False
) -> list[Tokenized]:
    """Prompt tokens are masked out of the loss (``train_on_inputs=False``, the default and the BSLoRA reference's):
    the adapter learns to produce the completion. ``train_on_inputs=True`` puts the loss on every token."""
    out: list[Tokenized] = []
    for ex in examples:
        prompt = tokenizer.encode(ex.prompt)
        completion = tokenizer.encode(ex.completion) + [tokenizer.eos_token_id]
        ids = (prompt + completion)[:seq_len]
        masked = prompt if train_on_inputs else [IGNORE_INDEX] * len(prompt)
        labels = (masked + completion)[:seq_len]
        if all(label == IGNORE_INDEX for label in labels):
            continue  # the prompt alone fills seq_len: nothing to learn from this example
        out.append(Tokenized(ids, labels))
    if not out:
        raise InvalidArgument(
            f"no training example fits seq_len={seq_len} with room for its answer: raise training.seq_len"
        )
    return out


def pad_batch(items: list[Tokenized], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids``, ``labels`` (padding ignored by the loss) and ``attention_mask`` of ``items``."""
    width = max(len(t.input_ids) for t in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, t in enumerate(items):
        ids[row, : len(t.input_ids)] = torch.tensor(t.input_ids)
        labels[row, : len(t.labels)] = torch.tensor(t.labels)
        mask[row, : len(t.input_ids)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class StepBatches:
    """Batch ``step`` of a seeded epoch-wise shuffle over the tokenized examples."""

    def __init__(self, items: list[Tokenized], batch_size: int, seed: int, pad_id: int):
        self.items = items
        self.batch_size = batch_size
        self.seed = seed
        self.pad_id = pad_id
        self._orders: dict[int, list[int]] = {}

    def _order(self, epoch: int) -> list[int]:
        if epoch not in self._orders:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._orders[epoch] = torch.randperm(len(self.items), generator=g).tolist()
        return self._orders[epoch]

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        n = len(self.items)
        picked = []
        for i in range(step * self.batch_size, (step + 1) * self.batch_size):
            epoch, pos = divmod(i, n)
            picked.append(self.items[self._order(epoch)[pos]])
        return pad_batch(picked, self.pad_id)


def tokenize_class_items(items: list[ClassItem], tokenizer, seq_len: int) -> list[Tokenized]:
    """Sequence classification: the text's tokens, and its label as a one-element label list."""
    out = [Tokenized(tokenizer.encode(it.text)[:seq_len], [it.label]) for it in items]
    if not out:
        raise InvalidArgument("the classification data has no items")
    return out


class ClassStepBatches(StepBatches):
    """Batches of ``tokenize_class_items`` output: labels are one class index per row."""

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        rows = super().batch(step)
        # super() padded the one-element label lists into a column: the class index is its first entry.
        return {**rows, "labels": rows["labels"][:, 0].clone()}

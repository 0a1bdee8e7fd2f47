"""Accuracy of a sequence-classification model (``AutoModelForSequenceClassification``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..data.types import ClassItem
from ..errors import InvalidArgument
from ..models.tokenizers import TextTokenizer
from .multiple_choice import _max_length, _model_device


def score_classification(
    model,
    tokenizer: TextTokenizer,
    items: Sequence[ClassItem],
    *,
    batch_size: int = 8,
    device="cpu",
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """``{"acc": float, "n": int, "correct": [bool]}``: the share of items whose argmax logit is the label, and which
    items those are (in the order given). Texts are right-padded with
    ``tokenizer.pad_token_id`` (the model's config must carry the same pad id; ``load_base_model`` sets it) and cut
    to the model's context length."""
    if not items:
        raise InvalidArgument("no classification items to score")
    num_labels = getattr(getattr(model, "config", None), "num_labels", None)
    dev = _model_device(model, device)
    max_len = _max_length(model)
    correct: list[bool] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                encoded = [tokenizer.encode(it.text)[:max_len] or [tokenizer.eos_token_id] for it in batch]
                width = max(len(e) for e in encoded)
                ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, enc in enumerate(encoded):
                    ids[row, : len(enc)] = torch.tensor(enc)
                    mask[row, : len(enc)] = 1
                logits = model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits
                for row, it in enumerate(batch):
                    if num_labels is not None and not 0 <= it.label < num_labels:
                        raise InvalidArgument(
                            f"item {start + row}: label {it.label} but the model has {num_labels} labels"
                        )
                    correct.append(int(logits[row].argmax()) == it.label)
                if on_progress is not None:
                    on_progress(min(start + batch_size, len(items)), len(items))
    finally:
        model.train(was_training)
    return {"acc": sum(correct) / len(items), "n": len(items), "correct": correct}

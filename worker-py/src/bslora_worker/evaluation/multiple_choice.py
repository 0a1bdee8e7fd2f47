"""Zero-shot multiple choice scored by log-likelihood, as lm-evaluation-harness scores ``output_type:
multiple_choice`` tasks.

For each item and option the request is ``(context, delimiter + option)``. As in the harness
(``TemplateLM._encode_pair``), trailing spaces of the context move to the front of the continuation, the
continuation's tokens are ``encode(context + continuation)[len(encode(context)):]``, an empty context is replaced
by the end-of-text token, and the sequence is cut from the left to the model's context length. The score of an
option is the sum of its tokens' log-probabilities.

- ``acc``: the option with the highest summed log-likelihood is the gold one.
- ``acc_norm``: the same after dividing each sum by the option's length **in characters** of the bare option
  string, delimiter excluded — the harness's ``completion_len = np.array([float(len(i)) for i in choices])``
  (Python ``len`` of a ``str``: characters, not UTF-8 bytes; the two agree for ASCII).

Ties go to the first option (``numpy.argmax``). Everything runs under ``torch.no_grad`` in eval mode; the model's
training flag is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..data.types import ChoiceItem
from ..errors import InvalidArgument
from ..models.tokenizers import TextTokenizer


def _encode_pair(tokenizer: TextTokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    n_spaces = len(context) - len(context.rstrip(" "))
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    if not context:
        return [tokenizer.eos_token_id], tokenizer.encode(continuation)
    whole = tokenizer.encode(context + continuation)
    ctx = tokenizer.encode(context)
    return ctx, whole[len(ctx) :]


def _max_length(model) -> int:
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048


def _model_device(model, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _check_items(items: Sequence[ChoiceItem]) -> None:
    if not items:
        raise InvalidArgument("no multiple-choice items to score")
    for n, item in enumerate(items):
        if len(item.options) < 2:
            raise InvalidArgument(f"item {n}: a multiple-choice item needs at least two options")
        if not 0 <= item.gold < len(item.options):
            raise InvalidArgument(f"item {n}: gold index {item.gold} is outside its {len(item.options)} options")
        if any(not o for o in item.options):
            raise InvalidArgument(f"item {n}: an option is empty")


def option_loglikelihoods(
    model,
    tokenizer: TextTokenizer,
    items: Sequence[ChoiceItem],
    *,
    batch_size: int = 8,
    device=None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[list[float]]:
    """Summed log-likelihood of every option of every item: ``result[i][j]`` for item i, option j.

    ``on_progress(done, total)`` is called after each batch with counts of (item, option) requests; an exception
    raised from it (cancellation) stops the scoring."""
    _check_items(items)
    if batch_size < 1:
        raise InvalidArgument(f"batch_size must be >= 1, got {batch_size}")
    dev = _model_device(model, device)
    max_len = _max_length(model)
    requests = []  # (item index, option index, input ids, continuation ids)
    for i, item in enumerate(items):
        for j in range(len(item.options)):
            ctx, cont = _encode_pair(tokenizer, item.context, item.continuation(j))
            if not cont:
                raise InvalidArgument(f"item {i} option {j}: the option encodes to no tokens")
            if len(cont) > max_len:
                raise InvalidArgument(f"item {i} option {j}: the option alone is longer than the model's context")
            inp = (ctx + cont)[-(max_len + 1) :][:-1]
            requests.append((i, j, inp, cont))
    # Longest first, as the harness does, so that an out-of-memory shows up on the first batch.
    order = sorted(range(len(requests)), key=lambda r: (-len(requests[r][2]), r))
    scores = [[0.0] * len(item.options) for item in items]
    pad = tokenizer.pad_token_id
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                batch = [requests[r] for r in order[start : start + batch_size]]
                width = max(len(r[2]) for r in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, (_, _, inp, _) in enumerate(batch):
                    ids[row, : len(inp)] = torch.tensor(inp, dtype=torch.long)
                    mask[row, : len(inp)] = 1
                logits = model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits
                for row, (i, j, inp, cont) in enumerate(batch):
                    length = len(inp)
                    window = logits[row, length - len(cont) : length].float().log_softmax(dim=-1)
                    target = torch.tensor(cont, dtype=torch.long, device=window.device)
                    scores[i][j] = float(window.gather(1, target[:, None]).sum())
                del logits
                if on_progress is not None:
                    on_progress(min(start + batch_size, len(order)), len(order))
    finally:
        model.train(was_training)
    return scores


def _argmax(values: Sequence[float]) -> int:
    best = 0
    for k, v in enumerate(values):
        if v > values[best]:
            best = k
    return best


def score_multiple_choice(
    model,
    tokenizer: TextTokenizer,
    items: list[ChoiceItem],
    *,
    batch_size: int = 8,
    device="cpu",
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """``{"acc": float, "acc_norm": float, "n": int}`` over ``items`` (definitions in the module docstring)."""
    lls = option_loglikelihoods(model, tokenizer, items, batch_size=batch_size, device=device, on_progress=on_progress)
    acc = acc_norm = 0
    for item, ll in zip(items, lls):
        acc += _argmax(ll) == item.gold
        acc_norm += _argmax([s / len(o) for s, o in zip(ll, item.options)]) == item.gold
    n = len(items)
    return {"acc": acc / n, "acc_norm": acc_norm / n, "n": n}

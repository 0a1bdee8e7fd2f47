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

Items whose options all fit the context window share the forward pass of their context: a batch of contexts (all
but their last token) runs once with a key/value cache, then all their options run together on that cache. This is
the same computation as the harness's one sequence per option, up to float rounding, and for short options costs a
fraction of it (``share_context=False`` forces one full sequence per option, batched across items like the harness).

Ties go to the first option (``numpy.argmax``). Everything runs under ``torch.no_grad`` in eval mode; the model's
training flag is restored afterwards.
"""

from __future__ import annotations

import inspect
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
    """Where the inputs go: the device of the model's parameters (inputs must meet the weights there); ``device``
    only for a model without parameters."""
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device(device or "cpu")


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


def _supports_cache(model) -> bool:
    """True for transformers models (and PEFT models around them) whose forward takes a key/value cache."""
    config = getattr(model, "config", None)
    return hasattr(config, "use_cache") and _cache_kwarg(model) is not None


def _cache_kwarg(model) -> str | None:
    # transformers 5.2x renamed `past_key_values` to `cache` (the old name warns until its removal).
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        params = inspect.signature(inner.forward).parameters
    except (TypeError, ValueError):
        return None
    for name in ("cache", "past_key_values"):
        if name in params:
            return name
    return None


def _accepts(model, name: str) -> bool:
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return name in inspect.signature(inner.forward).parameters
    except (TypeError, ValueError):
        return False


def _output_cache(out):
    for name in ("cache", "past_key_values"):
        value = getattr(out, name, None)
        if value is not None:
            return value
    return None


def _score_shared(model, group, dev: torch.device, pad: int, kwarg: str) -> list[list[float]]:
    """Log-likelihoods of every continuation of every item in ``group`` (``[(ctx ids, [continuation ids])]``).

    One forward pass runs each item's ``ctx[:-1]`` (right-padded) with a cache; a second runs
    ``[ctx[-1]] + cont[:-1]`` for every option on its item's rows of that cache, with the prefix padding masked out
    and positions continuing from each item's own prefix length."""
    prefixes = [ctx[:-1] for ctx, _ in group]
    width_p = max(len(p) for p in prefixes)
    ids_p = torch.full((len(group), width_p), pad, dtype=torch.long)
    mask_p = torch.zeros((len(group), width_p), dtype=torch.long)
    for r, prefix in enumerate(prefixes):
        ids_p[r, : len(prefix)] = torch.tensor(prefix, dtype=torch.long)
        mask_p[r, : len(prefix)] = 1
    # Only the cache of the prefix pass is needed: skip the vocabulary projection where the model allows it.
    keep = {"logits_to_keep": 1} if _accepts(model, "logits_to_keep") else {}
    out = model(input_ids=ids_p.to(dev), attention_mask=mask_p.to(dev), use_cache=True, **keep)
    cache = _output_cache(out)
    if cache is None:
        raise RuntimeError("the model returned no key/value cache")
    del out
    owners = [r for r, (_, conts) in enumerate(group) for _ in conts]
    cache.batch_select_indices(torch.tensor(owners, device=dev))
    rows = [[ctx[-1]] + cont[:-1] for ctx, conts in group for cont in conts]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width_p + width), dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    for k, (row, owner) in enumerate(zip(rows, owners)):
        ids[k, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[k, :width_p] = mask_p[owner]
        mask[k, width_p : width_p + len(row)] = 1
        position_ids[k] = torch.arange(len(prefixes[owner]), len(prefixes[owner]) + width)
    logits = model(
        input_ids=ids.to(dev),
        attention_mask=mask.to(dev),
        position_ids=position_ids.to(dev),
        use_cache=True,
        **{kwarg: cache},
    ).logits
    scores: list[list[float]] = []
    k = 0
    for _, conts in group:
        item_scores = []
        for cont in conts:
            window = logits[k, : len(cont)].float().log_softmax(dim=-1)
            target = torch.tensor(cont, dtype=torch.long, device=window.device)
            item_scores.append(float(window.gather(1, target[:, None]).sum()))
            k += 1
        scores.append(item_scores)
    return scores


def option_loglikelihoods(
    model,
    tokenizer: TextTokenizer,
    items: Sequence[ChoiceItem],
    *,
    batch_size: int = 8,
    device=None,
    on_progress: Callable[[int, int], None] | None = None,
    share_context: bool | None = None,
) -> list[list[float]]:
    """Summed log-likelihood of every option of every item: ``result[i][j]`` for item i, option j.

    ``batch_size``: sequences per forward pass when each option is its own sequence; items per group when items
    share their context pass (one pass of ``batch_size`` contexts, then one of all their options).

    ``on_progress(done, total)`` is called after each batch with counts of (item, option) requests; an exception
    raised from it (cancellation) stops the scoring. ``share_context`` None: share where the model takes a cache."""
    _check_items(items)
    if batch_size < 1:
        raise InvalidArgument(f"batch_size must be >= 1, got {batch_size}")
    dev = _model_device(model, device)
    max_len = _max_length(model)
    requests = []  # (item index, option index, input ids, continuation ids) for one sequence per option
    shared = []  # (item index, context ids, [continuation ids]) for items that share a context pass
    kwarg = _cache_kwarg(model) if share_context is not False and _supports_cache(model) else None
    if share_context and kwarg is None:
        raise InvalidArgument("share_context=True needs a transformers model that takes a key/value cache")
    for i, item in enumerate(items):
        pairs = []
        for j in range(len(item.options)):
            ctx, cont = _encode_pair(tokenizer, item.context, item.continuation(j))
            if not cont:
                raise InvalidArgument(f"item {i} option {j}: the option encodes to no tokens")
            if len(cont) > max_len:
                raise InvalidArgument(f"item {i} option {j}: the option alone is longer than the model's context")
            pairs.append((ctx, cont))
        same_ctx = all(c == pairs[0][0] for c, _ in pairs)
        fits = all(len(c) + len(o) <= max_len for c, o in pairs)
        if kwarg is not None and same_ctx and fits and len(pairs[0][0]) >= 2:
            shared.append((i, pairs[0][0], [o for _, o in pairs]))
        else:
            for j, (ctx, cont) in enumerate(pairs):
                requests.append((i, j, (ctx + cont)[-(max_len + 1) :][:-1], cont))
    total = len(requests) + sum(len(c) for _, _, c in shared)
    done = 0
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
                done += len(batch)
                if on_progress is not None:
                    on_progress(done, total)
            # Shared-context items, longest context first, batch_size items per group: their contexts make one
            # forward pass, all their options the next.
            shared.sort(key=lambda entry: (-len(entry[1]), entry[0]))
            group: list = []
            for entry in [*shared, None]:
                rows = sum(len(e[2]) for e in group)
                if group and (entry is None or len(group) >= batch_size):
                    group_scores = _score_shared(model, [(c, o) for _, c, o in group], dev, pad, kwarg)
                    for (i, _, _), item_scores in zip(group, group_scores):
                        scores[i] = item_scores
                    done += rows
                    group = []
                    if on_progress is not None:
                        on_progress(done, total)
                if entry is not None:
                    group.append(entry)
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
    share_context: bool | None = None,
) -> dict:
    """``{"acc": float, "acc_norm": float, "n": int, "correct": [bool]}`` over ``items`` (definitions in the module
    docstring); ``correct[i]`` says whether item ``i`` (in the order given) counts for ``acc``."""
    lls = option_loglikelihoods(
        model,
        tokenizer,
        items,
        batch_size=batch_size,
        device=device,
        on_progress=on_progress,
        share_context=share_context,
    )
    correct = [_argmax(ll) == item.gold for item, ll in zip(items, lls)]
    acc_norm = sum(_argmax([s / len(o) for s, o in zip(ll, item.options)]) == item.gold for item, ll in zip(items, lls))
    n = len(items)
    return {"acc": sum(correct) / n, "acc_norm": acc_norm / n, "n": n, "correct": correct}

"""Counts a trial's adapter parameters from the base model's config alone, on the meta device (no weights).

A seq_cls trial's classification head (trained through modules_to_save) is not counted here: its size depends on the
label count the data sets, and it is the same for every method of a sweep.

``bslora params`` uses this to plan a Llama-70B sweep on a laptop: nothing is downloaded or allocated.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, PretrainedConfig

from ..errors import FailedPrecondition, InvalidArgument
from ..models.known_configs import KNOWN_MODELS, known_config
from ..models.loading import load_base_config
from .rank_fit import check_ranks_fit
from .serving_footprint import ZERO, trial_footprint
from .trial import Trial


def base_config(trial: Trial, allowed_roots=None) -> PretrainedConfig:
    """The base model's config: well-known hub shapes offline first, then the loader's config-only path."""
    known = known_config(trial.base_model)
    if known is not None:
        return known
    try:
        return load_base_config(trial.base_model, trial.task_type, allowed_roots=allowed_roots)
    except FailedPrecondition as err:
        raise FailedPrecondition(f"{err} (offline, counting knows {', '.join(KNOWN_MODELS)})") from err


def _meta_base(config: PretrainedConfig, task_type: str) -> torch.nn.Module:
    cls = AutoModelForSequenceClassification if task_type == "seq_cls" else AutoModelForCausalLM
    with torch.device("meta"):
        return cls.from_config(config)


def count_without_weights(trial: Trial, allowed_roots=None) -> dict:
    config = base_config(trial, allowed_roots)
    model = _meta_base(config, trial.task_type)
    base_total = sum(p.numel() for p in model.parameters())
    zero = {"local": 0, "intra": 0, "inter": 0, "transform": 0, "head": 0, "total": 0, "base_total": base_total,
            "footprint": dict(ZERO)}
    if trial.method == "base":
        return zero
    check_ranks_fit(model, trial)
    if trial.method == "peft":
        counts = {**zero, **_count_peft(model, trial)}
        return {**counts, "footprint": trial_footprint(trial, model, counts)}
    import bslora

    if trial.method == "lora":
        local = bslora.count_lora_parameters(model, trial.rank, list(trial.target_modules))
        counts = {**zero, "local": local, "total": local}
        return {**counts, "footprint": trial_footprint(trial, model, counts)}
    if trial.method == "vera":
        # VeRA trains two scaling vectors per module (lambda_b: out, lambda_d: r); its projections are frozen.
        local = sum(
            m.out_features + trial.rank
            for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and name.rsplit(".", 1)[-1] in trial.target_modules
        )
        counts = {**zero, "local": local, "total": local}
        return {**counts, "footprint": trial_footprint(trial, model, counts)}
    from .adapter_config import adapter_config

    config = adapter_config(trial)
    try:
        parts = bslora.count_parameters(model, config)
    except ValueError as err:  # shape checks name the module, its shape and the valid sizes
        raise InvalidArgument(f"adapter does not fit {trial.base_model}: {err}") from err
    counts = {**zero, **{k: int(parts[k]) for k in ("local", "intra", "inter", "transform", "total")}}
    return {**counts, "footprint": trial_footprint(trial, model, counts, config)}


def _count_peft(model: torch.nn.Module, trial: Trial) -> dict[str, int]:
    """Wraps the meta model with the entry's config and counts what would train (all of it reported as local)."""
    from peft import get_peft_model

    from .peft_entry import peft_entry_config

    config = peft_entry_config(trial)
    try:
        with torch.device("meta"):
            wrapped = get_peft_model(model, config)
    except (ValueError, TypeError, KeyError, NotImplementedError) as err:  # PEFT names the module or the setting
        raise InvalidArgument(f"{type(config).__name__} does not fit {trial.base_model}: {err}") from err
    total = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    head = sum(p.numel() for n, p in wrapped.named_parameters() if p.requires_grad and "modules_to_save" in n)
    return {"local": total - head, "head": head, "total": total}

"""Counts a trial's adapter parameters from the base model's config alone, on the meta device (no weights).

A seq_cls trial's classification head (trained through modules_to_save) is not counted here: its size depends on the
label count the data sets, and it is the same for every method of a sweep.

``bslora params`` uses this to plan a Llama-70B sweep on a laptop: nothing is downloaded or allocated.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, PretrainedConfig

from ..data.paths import looks_like_path, resolve_local_path
from ..errors import FailedPrecondition, InvalidArgument
from ..models.known_configs import KNOWN_MODELS, known_config
from ..models.loading import smollm2_gguf_path, tiny_llama_config
from .trial import Trial


def base_config(trial: Trial, allowed_roots=None) -> PretrainedConfig:
    ref = trial.base_model
    if ref == "builtin:tiny-llama":
        return tiny_llama_config(trial.task_type)
    if ref == "builtin:smollm2-135m":
        path = smollm2_gguf_path()
        return AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
    if ref.startswith("builtin:"):
        raise InvalidArgument(f"base_model {ref!r} is not a built-in model: use builtin:tiny-llama or builtin:smollm2-135m")
    if looks_like_path(ref):
        path = resolve_local_path(ref, allowed_roots, what="base_model")
        return AutoConfig.from_pretrained(str(path))
    known = known_config(ref)
    if known is not None:
        return known
    try:
        return AutoConfig.from_pretrained(ref)
    except Exception as err:  # noqa: BLE001 - offline hub, unknown id: one clear message
        raise FailedPrecondition(
            f"cannot read the config of {ref!r} ({type(err).__name__}); offline, counting knows "
            f"{', '.join(KNOWN_MODELS)}, or give a local directory with config.json"
        ) from err


def _meta_base(config: PretrainedConfig, task_type: str) -> torch.nn.Module:
    cls = AutoModelForSequenceClassification if task_type == "seq_cls" else AutoModelForCausalLM
    with torch.device("meta"):
        return cls.from_config(config)


def count_without_weights(trial: Trial, allowed_roots=None) -> dict[str, int]:
    config = base_config(trial, allowed_roots)
    model = _meta_base(config, trial.task_type)
    base_total = sum(p.numel() for p in model.parameters())
    zero = {"local": 0, "intra": 0, "inter": 0, "transform": 0, "head": 0, "total": 0, "base_total": base_total}
    if trial.method == "base":
        return zero
    import bslora

    if trial.method == "lora":
        local = bslora.count_lora_parameters(model, trial.rank, list(trial.target_modules))
        return {**zero, "local": local, "total": local}
    if trial.method == "vera":
        # VeRA trains two scaling vectors per module (lambda_b: out, lambda_d: r); its projections are frozen.
        local = sum(
            m.out_features + trial.rank
            for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and name.rsplit(".", 1)[-1] in trial.target_modules
        )
        return {**zero, "local": local, "total": local}
    from .adapter_config import adapter_config

    try:
        parts = bslora.count_parameters(model, adapter_config(trial))
    except ValueError as err:  # shape checks name the module, its shape and the valid sizes
        raise InvalidArgument(f"adapter does not fit {trial.base_model}: {err}") from err
    return {**zero, **{k: int(parts[k]) for k in ("local", "intra", "inter", "transform", "total")}}

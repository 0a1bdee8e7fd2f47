"""Parameter counts without allocating weights: from a model (any device, including meta) or a transformers config."""

from __future__ import annotations

import contextlib
import copy
from typing import Iterable, Optional, Union

import torch
import torch.nn as nn
from transformers import PretrainedConfig

from .config import BSLoraConfig
from .plan import build_plan, resolve_target_config


def _meta_model(config: PretrainedConfig) -> nn.Module:
    """Build the architecture on the meta device: shapes only, no memory, no weight init cost."""
    import transformers

    cls = None
    for arch in getattr(config, "architectures", None) or []:
        cls = getattr(transformers, arch, None)
        if cls is not None:
            break
    with torch.device("meta"), warnings_silenced():
        if cls is not None:
            return cls(config)
        return transformers.AutoModel.from_config(config)


@contextlib.contextmanager
def warnings_silenced():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _as_model(model_or_config: Union[nn.Module, PretrainedConfig]) -> nn.Module:
    if isinstance(model_or_config, PretrainedConfig):
        return _meta_model(model_or_config)
    if isinstance(model_or_config, nn.Module):
        base = getattr(model_or_config, "base_model", None)
        if hasattr(model_or_config, "peft_config") and isinstance(base, nn.Module) and hasattr(base, "model"):
            return base.model  # a PeftModel: count on the wrapped transformers model
        return model_or_config
    raise TypeError(
        f"count_parameters expects an nn.Module or a transformers PretrainedConfig, got {type(model_or_config).__name__}"
    )


def count_parameters(model_or_config: Union[nn.Module, PretrainedConfig], config: BSLoraConfig) -> dict[str, int]:
    """Trainable parameters BSLoRA allocates for ``config`` on this model: local, intra, inter, transform, total.

    Uses the same plan as training (``bslora.plan.build_plan``), so it equals the trainable count of
    ``get_peft_model(model, config)`` (without ``modules_to_save`` / bias, which are not BSLoRA parameters).
    A ``PretrainedConfig`` is instantiated on the meta device (no weights).
    """
    return build_plan(_as_model(model_or_config), config).counts()


def count_lora_parameters(
    model_or_config: Union[nn.Module, PretrainedConfig], r: int, target_modules: Optional[Iterable[str]] = None
) -> int:
    """Trainable parameters of a plain PEFT LoRA of rank ``r`` on the same modules: r · Σ (in + out)."""
    probe = BSLoraConfig(
        r_local=r, r_intra=0, r_inter=0, share_mode="slice",
        target_modules=list(target_modules) if target_modules is not None and not isinstance(target_modules, str)
        else target_modules,
    )
    return build_plan(_as_model(model_or_config), probe).counts()["local"]


__all__ = ["count_parameters", "count_lora_parameters"]

"""Where a saved adapter comes from: the base model it was trained on and the version of the method that made it.

Both are written into ``adapter_config.json`` (``BSLoraConfig.base_model_identity`` and ``.method_version``), so a
server can refuse an adapter that cannot be served correctly before touching the model: one trained on another base
(other weights or other shapes), or one saved by an implementation whose forward differs from this one.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

import torch.nn as nn

# PEFT tuner parameters live under these prefixes; they are not part of the base model
_ADAPTER_MARKERS = ("bslora_", "lora_", "vera_", "modules_to_save")


@cache
def current_method_version() -> str:
    """This implementation's version, from the one method-versions file (proto/method-versions.json)."""
    text = resources.files("bslora_api.worker.v1").joinpath("method-versions.json").read_text(encoding="utf-8")
    return json.loads(text)["bslora"]


def shape_fingerprint(model: nn.Module) -> str:
    """16 hex digits over the base model's parameter names and shapes (adapter layers and their wrappers ignored)."""
    rows = []
    for name, param in model.named_parameters():
        if any(marker in name for marker in _ADAPTER_MARKERS):
            continue
        rows.append(f"{name.replace('.base_layer', '')}:{tuple(param.shape)}")
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()[:16]


def default_base_identity(model: nn.Module) -> str:
    """The identity recorded when the caller gives none: the model's name or path and its shape fingerprint.

    The worker records its own, stronger identity instead (``LoadedBase.identity``, which names the weights).
    """
    name = getattr(model, "name_or_path", "") or getattr(getattr(model, "config", None), "_name_or_path", "")
    return f"{name or 'unnamed'}#shapes={shape_fingerprint(model)}"

"""Ranks checked against the base model's shapes before an adapter is built.

A LoRA rank, or a BSLoRA local rank, larger than a targeted module's smaller dimension adds parameters that cannot
raise the update's rank any further; a rank of 10⁹ would ask for terabytes. Such a trial is refused with
``InvalidArgument`` naming the module, its shape and the largest useful rank, before anything is allocated. VeRA is
not checked: its rank is the size of a shared random projection, which is meant to exceed the modules' dimensions.
"""

from __future__ import annotations

import torch

from ..errors import InvalidArgument
from .trial import Trial


def check_ranks_fit(model: torch.nn.Module, trial: Trial) -> None:
    """Raise InvalidArgument when the trial's LoRA rank or BSLoRA local rank exceeds a targeted module's dimensions.

    Works on real and meta-device models alike (only shapes are read)."""
    if trial.method == "lora":
        rank, what = trial.rank, "lora rank"
    elif trial.method == "bslora":
        rank, what = trial.r_local, "bslora local rank"
    else:
        return
    targets = set(trial.target_modules)
    smallest: tuple[int, str, int, int] | None = None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets:
            dim = min(module.in_features, module.out_features)
            if smallest is None or dim < smallest[0]:
                smallest = (dim, name, module.in_features, module.out_features)
    if smallest is not None and rank > smallest[0]:
        dim, name, fan_in, fan_out = smallest
        raise InvalidArgument(
            f"{what} {rank} is larger than module {name} of {trial.base_model} ({fan_in} x {fan_out}) allows; "
            f"use at most {dim}"
        )

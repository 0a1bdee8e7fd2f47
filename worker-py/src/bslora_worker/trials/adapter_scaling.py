"""The adapter scale s (ΔW = s · B A) of every method, from the sweep setting ``adapter.scaling``.

Modes:

``fixed`` (with a value s)
    s for every method and every part, whatever the rank; ``lora_alpha`` is not used. The default, with s = 2: the
    BSLoRA reference code hard-codes 2 for all three parts, and its LoRA baseline has α/r = 16/8 = 2, so the two train
    at the same step size (with Adam the size of each ΔW update is proportional to s).
``alpha_over_rank``
    PEFT's rule s = α/r; for BSLoRA r is the total rank r_local + r_intra + r_inter. The scale then falls as the rank
    grows, so methods with different ranks train at different step sizes.
``rslora``
    s = α/√r (rank-stabilised LoRA, PEFT's ``use_rslora``); for BSLoRA r is the total rank.

VeRA has no such factor (its learned scaling vectors play that part): its effective scale is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidArgument

SCALING_MODES = ("fixed", "alpha_over_rank", "rslora")
DEFAULT_FIXED_SCALE = 2.0


@dataclass(frozen=True)
class AdapterScaling:
    mode: str = "fixed"
    value: float = DEFAULT_FIXED_SCALE  # the scale of mode "fixed"; unused otherwise

    def __post_init__(self) -> None:
        if self.mode not in SCALING_MODES:
            raise InvalidArgument(
                f"adapter.scaling {self.mode!r} is not one of {', '.join(SCALING_MODES)} "
                f"(e.g. scaling: {{fixed: 2}} or scaling: alpha_over_rank)"
            )
        if self.mode == "fixed" and not (math.isfinite(self.value) and self.value > 0):
            raise InvalidArgument(f"adapter.scaling fixed needs a positive scale, got {self.value!r}; e.g. fixed: 2")

    @classmethod
    def parse(cls, text: str) -> AdapterScaling:
        """``""`` (the default, fixed 2), ``fixed:<s>``, ``alpha_over_rank`` or ``rslora``."""
        if not text:
            return cls()
        mode, sep, value = text.partition(":")
        if mode == "fixed":
            try:
                scale = float(value) if sep else DEFAULT_FIXED_SCALE
            except ValueError as err:
                raise InvalidArgument(f"adapter.scaling {text!r}: {value!r} is not a number; e.g. fixed:2") from err
            return cls("fixed", scale)
        if sep:
            raise InvalidArgument(f"adapter.scaling {text!r}: only 'fixed' takes a value (fixed:<s>)")
        return cls(mode, 0.0)

    @classmethod
    def from_setting(cls, value) -> AdapterScaling:
        """From the spec's (and trial-defaults.json's) form: ``{"fixed": s}``, ``"alpha_over_rank"`` or ``"rslora"``."""
        if isinstance(value, dict) and set(value) == {"fixed"}:
            return cls("fixed", float(value["fixed"]))
        if isinstance(value, str) and value != "fixed":
            return cls(value, 0.0)
        raise InvalidArgument(f"adapter.scaling {value!r} is not {{fixed: <s>}}, alpha_over_rank or rslora")

    def as_setting(self):
        """The spec's (and trial-defaults.json's) form: ``{"fixed": s}``, ``"alpha_over_rank"`` or ``"rslora"``."""
        return {"fixed": self.value} if self.mode == "fixed" else self.mode

    def __str__(self) -> str:
        return f"fixed:{self.value:g}" if self.mode == "fixed" else self.mode


def effective_scale(method: str, scaling: AdapterScaling, alpha: float, rank: int) -> float | None:
    """The factor s of ``method`` at ``rank`` (LoRA's r, BSLoRA's total rank) with scaling numerator ``alpha``
    (the trial's, defaults applied). None for methods without one (``vera``, ``base``)."""
    if method not in ("lora", "bslora"):
        return None
    if rank <= 0:
        raise InvalidArgument(f"the rank of a {method} adapter must be positive, got {rank}")
    if scaling.mode == "fixed":
        return scaling.value
    return alpha / math.sqrt(rank) if scaling.mode == "rslora" else alpha / rank


def lora_scaling_kwargs(scaling: AdapterScaling, alpha: float, rank: int) -> dict:
    """``LoraConfig`` arguments giving scale ``effective_scale("lora", …)``: PEFT computes α/r, or α/√r with
    ``use_rslora``; a fixed s is written as α = s·r."""
    if scaling.mode == "fixed":
        return {"lora_alpha": scaling.value * rank, "use_rslora": False}
    return {"lora_alpha": alpha, "use_rslora": scaling.mode == "rslora"}


def bslora_scaling_kwargs(scaling: AdapterScaling, alpha: float) -> dict:
    """``BSLoraConfig`` arguments giving scale ``effective_scale("bslora", …)`` for every part."""
    if scaling.mode == "fixed":
        return {"scaling": "fixed", "fixed_scale": scaling.value}
    return {
        "scaling": "rslora" if scaling.mode == "rslora" else "alpha_over_r",
        "lora_alpha": alpha,
    }

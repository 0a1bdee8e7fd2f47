"""BSLoraConfig: the configuration of a BSLoRA adapter (local + intra-block + inter-block shared LoRA)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Optional, Union

from bslora_api.worker.v1.worker_service_pb2 import ShareMode
from peft.config import PeftConfig

# The share modes are the proto enum ShareMode (their one declaration): SHARE_MODE_KRON is "kron".
SHARE_MODES = tuple(n.removeprefix("SHARE_MODE_").lower() for n in ShareMode.keys() if n != "SHARE_MODE_UNSPECIFIED")
SCALING_MODES = ("alpha_over_r", "rslora", "fixed", "reference_fixed_2")
BIAS_MODES = ("none", "all", "bslora_only")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class BSLoraConfig(PeftConfig):
    """Configuration of a BSLoRA (Bi-Share LoRA) adapter.

    Every adapted module ``m`` of transformer block ``l`` gets

        ΔW_m = s · ( B_loc A_loc + T_m(B_intra[l] A_intra[l]) + T_m(B_inter A_inter) )

    where ``(A_loc, B_loc)`` is a private rank-``r_local`` pair, ``(A_intra[l], B_intra[l])`` a rank-``r_intra`` pair
    shared by all adapted modules of block ``l``, ``(A_inter, B_inter)`` a rank-``r_inter`` pair shared by every
    adapted module of the model, and ``T_m`` the shape transformation selected by ``share_mode``. See
    ``docs/bslora-method.md`` for the formulas, the costs and what differs from the reference code.
    """

    r_local: int = field(default=2, metadata={"help": "Rank of the per-module (local) LoRA pair. 0 disables it."})
    r_intra: int = field(
        default=4, metadata={"help": "Rank of the pair shared by the adapted modules of one block. 0 disables it."}
    )
    r_inter: int = field(
        default=16, metadata={"help": "Rank of the pair shared by every adapted module of the model. 0 disables it."}
    )
    share_mode: str = field(
        default="kron",
        metadata={"help": f"Shape transformation of the shared pairs, one of {SHARE_MODES} (SS, GT, KE in the paper)."},
    )
    kron_share_size: int = field(
        default=256,
        metadata={"help": "Side S of the shared S×S pairs in 'kron' mode; must divide every adapted in/out dimension."},
    )
    gate_share_size: int = field(
        default=1024, metadata={"help": "Side S of the shared S×S pairs in 'gate' mode (any positive size)."}
    )
    lora_alpha: float = field(default=16, metadata={"help": "Alpha numerator of the scaling (see `scaling`)."})
    scaling: Literal["alpha_over_r", "rslora", "fixed", "reference_fixed_2"] = field(
        default="alpha_over_r",
        metadata={
            "help": (
                "'alpha_over_r': s = lora_alpha / (r_local + r_intra + r_inter), the LoRA rule applied to the total "
                "rank (equals PEFT LoRA when r_intra = r_inter = 0). 'rslora': s = lora_alpha / sqrt(total rank), "
                "as PEFT's use_rslora. 'fixed': s = fixed_scale for every part (lora_alpha ignored). "
                "'reference_fixed_2': s = 2 for all parts, as the reference code hard-codes (same as 'fixed' with "
                "fixed_scale=2)."
            )
        },
    )
    fixed_scale: float = field(default=2.0, metadata={"help": "The scale of every part when scaling='fixed'."})
    lora_dropout: float = field(default=0.0, metadata={"help": "Dropout on the adapter input (one mask, all parts)."})
    kron_shared_dropout: bool = field(
        default=True,
        metadata={
            "help": (
                "Apply lora_dropout to the shared 'kron' path too (True, the fix). False reproduces the reference, "
                "which applies dropout only to the local path in kron mode."
            )
        },
    )
    target_modules: Optional[Union[list[str], str]] = field(
        default=None,
        metadata={"help": "Module names (suffixes) or a regex to adapt; 'all-linear' is accepted as in PEFT."},
    )
    exclude_modules: Optional[Union[list[str], str]] = field(
        default=None, metadata={"help": "Module names (suffixes) or a regex to exclude."}
    )
    target_parameters: Optional[list[str]] = field(
        default=None, metadata={"help": "Unsupported by BSLoRA; must stay None."}
    )
    layers_to_transform: Optional[Union[list[int], int]] = field(
        default=None, metadata={"help": "Only adapt these layer indices (PEFT semantics)."}
    )
    layers_pattern: Optional[Union[list[str], str]] = field(
        default=None, metadata={"help": "Layer list name used with layers_to_transform (PEFT semantics)."}
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={"help": "True if the layer stores its weight as (in, out), e.g. GPT-2 Conv1D (set automatically)."},
    )
    bias: Literal["none", "all", "bslora_only"] = field(
        default="none", metadata={"help": "Which biases to train: 'none', 'all' or 'bslora_only'."}
    )
    init_weights: Union[bool, Literal["gaussian"]] = field(
        default=True,
        metadata={
            "help": (
                "True: every A kaiming-uniform (nn.Linear default), every B zero, gates/samplers kaiming-uniform, so "
                "the untrained adapter is a no-op. 'gaussian': A ~ N(0, 1/r_part). False: B random too (tests only)."
            )
        },
    )
    modules_to_save: Optional[list[str]] = field(
        default=None, metadata={"help": "Extra modules to train fully and save (e.g. a classifier head)."}
    )
    base_model_identity: Optional[str] = field(
        default=None,
        metadata={
            "help": (
                "The base model this adapter belongs to, recorded at creation (the worker writes its model identity; "
                "otherwise the model's name and shape fingerprint). Servers refuse the adapter on any other base."
            )
        },
    )
    method_version: Optional[str] = field(
        default=None,
        metadata={
            "help": (
                "Version of the BSLoRA implementation that created the adapter (proto/method-versions.json), "
                "filled in on creation. Servers refuse adapters of another version: their forward may differ."
            )
        },
    )

    def __post_init__(self):
        super().__post_init__()
        from .registration import BSLORA_PEFT_TYPE  # noqa: PLC0415  (registration imports this module)

        self.peft_type = BSLORA_PEFT_TYPE
        self.target_modules = set(self.target_modules) if isinstance(self.target_modules, list) else self.target_modules
        self.exclude_modules = (
            set(self.exclude_modules) if isinstance(self.exclude_modules, list) else self.exclude_modules
        )
        if self.method_version is None:
            from .provenance import current_method_version  # noqa: PLC0415

            self.method_version = current_method_version()
        self._validate()

    @property
    def total_rank(self) -> int:
        return self.r_local + self.r_intra + self.r_inter

    @property
    def scale(self) -> float:
        """The factor s every part's output is multiplied by (see ``scaling``)."""
        if self.scaling == "reference_fixed_2":
            return 2.0
        if self.scaling == "fixed":
            return float(self.fixed_scale)
        if self.scaling == "rslora":
            return self.lora_alpha / math.sqrt(self.total_rank)
        return self.lora_alpha / self.total_rank

    def _validate(self) -> None:
        for name in ("r_local", "r_intra", "r_inter"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise ValueError(f"BSLoraConfig.{name} must be an integer >= 0, got {value!r}; pass e.g. {name}=4.")
        if self.total_rank == 0:
            raise ValueError(
                "BSLoraConfig: r_local + r_intra + r_inter is 0, so the adapter would have no parameters; "
                "set at least one of r_local, r_intra, r_inter to a positive integer (e.g. 2/4/16)."
            )
        if self.share_mode not in SHARE_MODES:
            raise ValueError(
                f"BSLoraConfig.share_mode must be one of {SHARE_MODES}, got {self.share_mode!r}."
            )
        for name in ("kron_share_size", "gate_share_size"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise ValueError(f"BSLoraConfig.{name} must be a positive integer, got {value!r}; e.g. {name}=256.")
        if isinstance(self.lora_alpha, bool) or not isinstance(self.lora_alpha, (int, float)) or self.lora_alpha <= 0:
            raise ValueError(f"BSLoraConfig.lora_alpha must be a positive number, got {self.lora_alpha!r}.")
        if self.scaling not in SCALING_MODES:
            raise ValueError(
                f"BSLoraConfig.scaling must be one of {SCALING_MODES}, got {self.scaling!r}; use 'alpha_over_r' "
                "(lora_alpha / total rank), 'rslora' (lora_alpha / sqrt(total rank)), 'fixed' (fixed_scale) or "
                "'reference_fixed_2' (the reference code's constant 2)."
            )
        if (
            isinstance(self.fixed_scale, bool)
            or not isinstance(self.fixed_scale, (int, float))
            or not math.isfinite(self.fixed_scale)
            or self.fixed_scale <= 0
        ):
            raise ValueError(f"BSLoraConfig.fixed_scale must be a positive number, got {self.fixed_scale!r}; e.g. 2.")
        if (
            isinstance(self.lora_dropout, bool)
            or not isinstance(self.lora_dropout, (int, float))
            or not 0.0 <= self.lora_dropout < 1.0
        ):
            raise ValueError(
                f"BSLoraConfig.lora_dropout must be a float in [0, 1), got {self.lora_dropout!r}; e.g. 0.05."
            )
        if self.bias not in BIAS_MODES:
            raise ValueError(f"BSLoraConfig.bias must be one of {BIAS_MODES}, got {self.bias!r}.")
        if self.init_weights not in (True, False, "gaussian"):
            raise ValueError(
                f"BSLoraConfig.init_weights must be True, False or 'gaussian', got {self.init_weights!r}."
            )
        if self.target_parameters:
            raise ValueError(
                "BSLoraConfig.target_parameters is not supported by BSLoRA; adapt modules through target_modules."
            )
        if isinstance(self.target_modules, str) and self.layers_to_transform is not None:
            raise ValueError(
                "BSLoraConfig.layers_to_transform cannot be used when target_modules is a regex string; "
                "pass target_modules as a list of names."
            )
        if self.layers_pattern and self.layers_to_transform is None:
            raise ValueError(
                "BSLoraConfig.layers_pattern only has an effect together with layers_to_transform; "
                "set layers_to_transform or drop layers_pattern."
            )

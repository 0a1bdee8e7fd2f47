"""Target and block discovery, shape checks, and the allocation plan shared by training and counting.

The plan says, for one adapter config on one model, which modules are adapted, which repeated block each belongs to,
and the shapes of every tensor BSLoRA allocates. The tuner allocates exactly what the plan lists, and
``count_parameters`` sums the plan, so the two cannot drift apart.

Blocks are found structurally: the block of a module is the element of the *outermost* ``nn.ModuleList`` on its path
(``model.layers.<i>`` for Llama, ``transformer.h.<i>`` for GPT-2, ``bert.encoder.layer.<i>`` for BERT). Nested lists
inside a block (MoE experts, say) do not start new blocks. Adapted modules outside every ``ModuleList`` (a head, for
example) form one extra block named ``"root"``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch.nn as nn
from peft.tuners.tuners_utils import BaseTunerLayer, _maybe_include_all_linear_layers, check_target_module_exists
from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
from transformers.pytorch_utils import Conv1D

from .config import BSLoraConfig

ROOT_BLOCK = "root"
SHARED_PARTS = ("intra", "inter")


@dataclass(frozen=True)
class TargetInfo:
    key: str  # module path inside the (unwrapped) model, e.g. "model.layers.3.self_attn.q_proj"
    block: str  # ParameterDict key of the block, e.g. "model_layers_3"
    block_path: str  # the block's module path, e.g. "model.layers.3" ("" for the root block)
    in_features: int
    out_features: int
    is_conv1d: bool


@dataclass
class AdapterPlan:
    share_mode: str
    r_local: int
    r_intra: int
    r_inter: int
    share_in: int  # S_in: columns of the shared A matrices
    share_out: int  # S_out: rows of the shared B matrices
    targets: list[TargetInfo]
    blocks: list[str]  # distinct blocks in model order
    by_key: dict[str, TargetInfo] = field(default_factory=dict)

    def __post_init__(self):
        self.by_key = {t.key: t for t in self.targets}

    def part_rank(self, part: str) -> int:
        return {"local": self.r_local, "intra": self.r_intra, "inter": self.r_inter}[part]

    def shared_parts(self) -> list[str]:
        """The shared parts that exist (rank > 0)."""
        return [p for p in SHARED_PARTS if self.part_rank(p) > 0]

    def transform_shapes(self, target: TargetInfo) -> dict[str, tuple[int, ...]]:
        """Shapes of the per-module transform parameters (gate vectors / Kronecker samplers) of one target."""
        shapes: dict[str, tuple[int, ...]] = {}
        for part in self.shared_parts():
            if self.share_mode == "gate":
                # reference: input_gate_down Linear(in->1), input_gate_up Linear(1->S), output_gate_down
                # Linear(S->1), output_gate_up Linear(1->out); stored here as vectors
                shapes[f"{part}_in_down"] = (target.in_features,)
                shapes[f"{part}_in_up"] = (self.share_in,)
                shapes[f"{part}_out_down"] = (self.share_out,)
                shapes[f"{part}_out_up"] = (target.out_features,)
            elif self.share_mode == "kron":
                # reference: sampler_A Linear(in/S -> 1) (weight 1×in/S), sampler_B Linear(1 -> out/S)
                shapes[f"{part}_sampler_A"] = (target.in_features // self.share_in,)
                shapes[f"{part}_sampler_B"] = (target.out_features // self.share_out,)
        return shapes

    def counts(self) -> dict[str, int]:
        local = self.r_local * sum(t.in_features + t.out_features for t in self.targets)
        intra = len(self.blocks) * self.r_intra * (self.share_in + self.share_out)
        inter = self.r_inter * (self.share_in + self.share_out) if self.targets else 0
        transform = sum(math.prod(s) for t in self.targets for s in self.transform_shapes(t).values())
        return {
            "local": local,
            "intra": intra,
            "inter": inter,
            "transform": transform,
            "total": local + intra + inter + transform,
        }


def resolve_target_config(config: BSLoraConfig, model: nn.Module) -> BSLoraConfig:
    """A copy of ``config`` with ``target_modules`` resolved as PEFT would (architecture default, 'all-linear')."""
    config = copy.copy(config)
    if config.target_modules is None:
        model_type = getattr(getattr(model, "config", None), "model_type", None)
        defaults = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type)
        if defaults is None:
            raise ValueError(
                f"BSLoraConfig.target_modules is None and there is no default for model type {model_type!r}; "
                "pass target_modules, e.g. ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'down_proj']."
            )
        config.target_modules = set(defaults)
    return _maybe_include_all_linear_layers(config, model)


def _block_of(key: str, module_lists: set[str]) -> tuple[str, str]:
    parts = key.split(".")
    for i in range(len(parts) - 1):
        prefix = ".".join(parts[: i + 1])
        if prefix in module_lists:
            block_path = ".".join(parts[: i + 2])
            return block_path.replace(".", "_"), block_path
    return ROOT_BLOCK, ""


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def build_plan(model: nn.Module, config: BSLoraConfig) -> AdapterPlan:
    """Find the adapted modules and their blocks, check shapes, and size every tensor. Raises ValueError/TypeError."""
    config = resolve_target_config(config, model)
    tuner_layer_prefixes: list[str] = []
    module_lists: set[str] = set()
    candidates: list[tuple[str, nn.Module]] = []
    for key, module in model.named_modules():
        if not key:
            continue
        if any(key.startswith(p) for p in tuner_layer_prefixes):
            continue  # internals of an already injected adapter layer
        if isinstance(module, nn.ModuleList):
            module_lists.add(key)
        if isinstance(module, BaseTunerLayer):
            tuner_layer_prefixes.append(key + ".")
        if check_target_module_exists(config, key):
            candidates.append((key, module))

    targets: list[TargetInfo] = []
    for key, module in candidates:
        base = module.get_base_layer() if isinstance(module, BaseTunerLayer) else module
        if isinstance(base, nn.Linear):
            in_f, out_f, is_conv1d = base.in_features, base.out_features, False
        elif isinstance(base, Conv1D):
            in_f, out_f = base.weight.shape  # Conv1D stores (in, out)
            is_conv1d = True
        else:
            raise TypeError(
                f"BSLoRA target module '{key}' is a {type(base).__name__}; only torch.nn.Linear and "
                "transformers Conv1D are supported. Remove it from target_modules or add it to exclude_modules."
            )
        block, block_path = _block_of(key, module_lists)
        targets.append(TargetInfo(key, block, block_path, int(in_f), int(out_f), is_conv1d))

    if not targets:
        raise ValueError(
            f"BSLoraConfig.target_modules={config.target_modules!r} matched no module of the model; "
            "check the names (e.g. print [n for n, _ in model.named_modules()])."
        )

    block_paths: dict[str, str] = {}
    for t in targets:
        other = block_paths.setdefault(t.block, t.block_path)
        if other != t.block_path:
            raise ValueError(f"BSLoRA: block paths '{other}' and '{t.block_path}' map to the same key '{t.block}'.")
    blocks = list(dict.fromkeys(t.block for t in targets))

    mode = config.share_mode
    if mode == "slice":
        share_in = max(t.in_features for t in targets)
        share_out = max(t.out_features for t in targets)
    elif mode == "gate":
        share_in = share_out = config.gate_share_size
    else:
        size = config.kron_share_size
        share_in = share_out = size
        if config.r_intra or config.r_inter:
            bad = [t for t in targets if t.in_features % size or t.out_features % size]
            if bad:
                t = bad[0]
                common = math.gcd(*[d for x in targets for d in (x.in_features, x.out_features)])
                raise ValueError(
                    f"BSLoraConfig.kron_share_size={size} does not divide the shape of module '{t.key}' "
                    f"(in_features={t.in_features}, out_features={t.out_features})"
                    + (f" nor {len(bad) - 1} other module(s)" if len(bad) > 1 else "")
                    + ". Kronecker extension tiles an S×S pair, so S must divide every adapted dimension. Valid "
                    f"kron_share_size values for these modules: {_divisors(common)}. Alternatively use "
                    "share_mode='slice' or 'gate', or exclude the module."
                )
    return AdapterPlan(
        share_mode=mode,
        r_local=config.r_local,
        r_intra=config.r_intra,
        r_inter=config.r_inter,
        share_in=share_in,
        share_out=share_out,
        targets=targets,
        blocks=blocks,
    )

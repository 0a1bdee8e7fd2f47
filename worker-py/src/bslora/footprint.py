"""What an adapter costs to serve, from shapes alone (any device, the meta device included).

* ``adapter_file_bytes``: size of the ``adapter_model.safetensors`` that ``save_pretrained`` writes (fp32 tensors),
  header included, computed from the saved tensor names and shapes;
* ``resident_bytes_{bf16,fp32}``: the adapter held factored as BSLoRA holds it (shared tensors once);
* ``merged_resident_bytes_{bf16,fp32}``: the same adapter expanded to a plain per-module LoRA (each module's own
  (A_cat, B_cat) pair, of rank r_local + r_intra + r_inter in slice and kron mode, r_local + one per shared part in
  gate mode), which is what a serving system that only knows LoRA would hold;
* ``adapters_per_gib``: how many factored bf16 adapters fit in one GiB.
"""

from __future__ import annotations

import json
from typing import Iterable, Optional, Union

import torch.nn as nn
from transformers import PretrainedConfig

from .config import BSLoraConfig
from .counting import _as_model
from .plan import AdapterPlan, build_plan

GIB = 1 << 30
_SAVED_DTYPE = ("F32", 4)  # save_pretrained writes the adapter's tensors in fp32


def safetensors_file_bytes(shapes: dict[str, tuple[int, ...]], dtype: tuple[str, int] = _SAVED_DTYPE) -> int:
    """Exact size of a safetensors file holding these tensors: 8-byte length, JSON header padded to 8, data.

    Tensors are laid out in name order, as the safetensors writer does for tensors of one dtype.
    """
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name in sorted(shapes):
        size = dtype[1]
        for d in shapes[name]:
            size *= d
        header[name] = {"dtype": dtype[0], "shape": list(shapes[name]), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":"))
    padded = len(text) + (-len(text)) % 8
    return 8 + padded + offset


def _bslora_saved_shapes(plan: AdapterPlan, prefix: str = "base_model.model.") -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for t in plan.targets:
        if plan.r_local:
            shapes[f"{prefix}{t.key}.bslora_A"] = (plan.r_local, t.in_features)
            shapes[f"{prefix}{t.key}.bslora_B"] = (t.out_features, plan.r_local)
        for name, shape in plan.transform_shapes(t).items():
            shapes[f"{prefix}{t.key}.bslora_transform.{name}"] = shape
    if plan.r_intra:
        for block in plan.blocks:
            shapes[f"base_model.bslora_intra_A.{block}"] = (plan.r_intra, plan.share_in)
            shapes[f"base_model.bslora_intra_B.{block}"] = (plan.share_out, plan.r_intra)
    if plan.r_inter:
        shapes["base_model.bslora_inter_A"] = (plan.r_inter, plan.share_in)
        shapes["base_model.bslora_inter_B"] = (plan.share_out, plan.r_inter)
    return shapes


def merged_rank(plan: AdapterPlan) -> int:
    """Rank of each module's LoRA pair when the adapter is expanded to per-module LoRA (see the module docstring)."""
    shared = plan.shared_parts()
    return plan.r_local + (len(shared) if plan.share_mode == "gate" else sum(plan.part_rank(p) for p in shared))


def _footprint(params: int, merged_params: int, file_bytes: int) -> dict[str, Union[int, float]]:
    return {
        "adapter_file_bytes": file_bytes,
        "resident_bytes_bf16": params * 2,
        "resident_bytes_fp32": params * 4,
        "merged_resident_bytes_bf16": merged_params * 2,
        "merged_resident_bytes_fp32": merged_params * 4,
        "adapters_per_gib": GIB / (params * 2) if params else 0.0,
    }


def serving_footprint(model_or_config: Union[nn.Module, PretrainedConfig], config: BSLoraConfig) -> dict:
    """The serving footprint of a BSLoRA adapter (see the module docstring); no weights needed."""
    plan = build_plan(_as_model(model_or_config), config)
    merged = merged_rank(plan) * sum(t.in_features + t.out_features for t in plan.targets)
    return _footprint(plan.counts()["total"], merged, safetensors_file_bytes(_bslora_saved_shapes(plan)))


def lora_serving_footprint(model_or_config: Union[nn.Module, PretrainedConfig], r: int,
                           target_modules: Optional[Iterable[str]] = None) -> dict:
    """The same for a plain PEFT LoRA of rank ``r`` (factored and merged are the same thing)."""
    probe = BSLoraConfig(r_local=r, r_intra=0, r_inter=0, share_mode="slice",
                         target_modules=list(target_modules) if target_modules is not None else None)
    plan = build_plan(_as_model(model_or_config), probe)
    shapes = {}
    for t in plan.targets:
        shapes[f"base_model.model.{t.key}.lora_A.weight"] = (r, t.in_features)
        shapes[f"base_model.model.{t.key}.lora_B.weight"] = (t.out_features, r)
    params = plan.counts()["local"]
    return _footprint(params, params, safetensors_file_bytes(shapes))


def footprint_from_counts(total_params: int, merged_params: int, file_bytes: int) -> dict:
    """For adapters whose saved file was measured (a trained trial): the same fields from known sizes."""
    return _footprint(total_params, merged_params, file_bytes)


__all__ = ["GIB", "footprint_from_counts", "lora_serving_footprint", "merged_rank", "safetensors_file_bytes",
           "serving_footprint"]

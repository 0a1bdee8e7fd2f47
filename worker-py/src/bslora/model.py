"""BSLoraModel: the PEFT tuner. Owns the shared intra/inter tensors, stored once, on the tuner itself.

Live state-dict keys of the shared tensors (adapter name right after the container, as PEFT expects):

    base_model.bslora_intra_A.<adapter>.<block>    (r_intra × S_in), one per block
    base_model.bslora_intra_B.<adapter>.<block>    (S_out × r_intra)
    base_model.bslora_inter_A.<adapter>            (r_inter × S_in)
    base_model.bslora_inter_B.<adapter>            (S_out × r_inter)

They are saved as ``base_model.bslora_intra_A.<block>`` etc. Layers reach them through an unregistered
``SharedStore`` handle, so nothing shared is listed under any layer and each tensor is written exactly once.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from functools import partial
from typing import Optional

import torch
import torch.nn as nn
from peft.tuners.tuners_utils import BaseTuner, BaseTunerLayer
from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
from transformers.pytorch_utils import Conv1D

from .config import BSLoraConfig
from .layer import BSLoraLayer, Linear, SharedStore
from .plan import AdapterPlan, build_plan
from .provenance import default_base_identity

_CONTAINERS = ("bslora_intra_A", "bslora_intra_B", "bslora_inter_A", "bslora_inter_B")
_UPCAST = (torch.float16, torch.bfloat16)


def _adapter_names_pre_forward_hook(target, args, kwargs, adapter_names):
    kwargs["adapter_names"] = adapter_names
    return args, kwargs


def _bslora_layers(model: nn.Module) -> list[BSLoraLayer]:
    """The BSLoRA layers, found without descending into them: their per-adapter children (dropout, transform) grow
    with the number of adapters, and a mixed batch looks the layers up at every forward."""
    found, stack = [], [model]
    while stack:
        module = stack.pop()
        if isinstance(module, BSLoraLayer):
            found.append(module)
        else:
            stack.extend(m for m in module._modules.values() if m is not None)
    return found


class BSLoraModel(BaseTuner):
    prefix: str = "bslora_"
    tuner_layer_cls = BSLoraLayer
    target_module_mapping = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
    uses_shared_state: bool = True

    # ------------------------------------------------------------------ shared containers
    def _ensure_containers(self) -> None:
        if "bslora_intra_A" not in self._modules:
            self.bslora_intra_A = nn.ModuleDict({})
            self.bslora_intra_B = nn.ModuleDict({})
            self.bslora_inter_A = nn.ParameterDict({})
            self.bslora_inter_B = nn.ParameterDict({})
        if "_bslora_plans" not in self.__dict__:
            self.__dict__["_bslora_plans"] = {}
            self.__dict__["_bslora_store"] = SharedStore(
                self.bslora_intra_A, self.bslora_intra_B, self.bslora_inter_A, self.bslora_inter_B
            )

    def _pre_injection_hook(self, model: nn.Module, config: BSLoraConfig, adapter_name: str) -> None:
        self._ensure_containers()

    def inject_adapter(self, model: nn.Module, adapter_name: str, *args, **kwargs) -> None:
        self._ensure_containers()
        config = self.peft_config.get(adapter_name)
        if config is not None and config.base_model_identity is None:
            config.base_model_identity = default_base_identity(model)
        self._bslora_plans.pop(adapter_name, None)
        try:
            super().inject_adapter(model, adapter_name, *args, **kwargs)
        finally:
            self._bslora_plans.pop(adapter_name, None)

    def _plan_for(self, adapter_name: str, config: BSLoraConfig) -> AdapterPlan:
        plan = self._bslora_plans.get(adapter_name)
        if plan is None:
            plan = build_plan(self.model, config)
            self._bslora_plans[adapter_name] = plan
            self._create_shared(adapter_name, config, plan)
        return plan

    def _create_shared(self, adapter_name: str, config: BSLoraConfig, plan: AdapterPlan) -> None:
        first = self.model.get_submodule(plan.targets[0].key)
        if isinstance(first, BaseTunerLayer):
            first = first.get_base_layer()
        device = first.weight.device
        for name in _CONTAINERS:
            container = getattr(self, name)
            if adapter_name in container:
                del container[adapter_name]

        def make(rank: int, rows: int, cols: int, is_A: bool) -> nn.Parameter:
            t = torch.empty(rows, cols, device=device)
            with torch.no_grad():
                if is_A:
                    if config.init_weights == "gaussian":
                        nn.init.normal_(t, std=1.0 / rank)
                    else:
                        nn.init.kaiming_uniform_(t, a=math.sqrt(5))
                elif config.init_weights is False:
                    nn.init.kaiming_uniform_(t, a=math.sqrt(5))
                else:
                    t.zero_()
            return nn.Parameter(t)

        S_in, S_out = plan.share_in, plan.share_out
        if plan.r_intra > 0:
            A_dict, B_dict = nn.ParameterDict({}), nn.ParameterDict({})
            for block in plan.blocks:
                A_dict[block] = make(plan.r_intra, plan.r_intra, S_in, True)
                B_dict[block] = make(plan.r_intra, S_out, plan.r_intra, False)
            self.bslora_intra_A[adapter_name] = A_dict
            self.bslora_intra_B[adapter_name] = B_dict
        if plan.r_inter > 0:
            self.bslora_inter_A[adapter_name] = make(plan.r_inter, plan.r_inter, S_in, True)
            self.bslora_inter_B[adapter_name] = make(plan.r_inter, S_out, plan.r_inter, False)

    def _shared_params(self, adapter_name: str) -> list[nn.Parameter]:
        params = []
        if "bslora_intra_A" not in self._modules:
            return params
        for name in ("bslora_intra_A", "bslora_intra_B"):
            container = getattr(self, name)
            if adapter_name in container:
                params.extend(container[adapter_name].values())
        for name in ("bslora_inter_A", "bslora_inter_B"):
            container = getattr(self, name)
            if adapter_name in container:
                params.append(container[adapter_name])
        return params

    def _shared_adapter_names(self) -> set[str]:
        if "bslora_intra_A" not in self._modules:
            return set()
        names = set()
        for name in _CONTAINERS:
            names.update(getattr(self, name).keys())
        return names

    def _sync_shared_requires_grad(self, inference_mode: Optional[bool] = None) -> None:
        active = set(self.active_adapters)
        for adapter in self._shared_adapter_names():
            if inference_mode is None:
                frozen = getattr(self.peft_config.get(adapter), "inference_mode", False)
            else:
                frozen = inference_mode
            trainable = adapter in active and not frozen
            for p in self._shared_params(adapter):
                p.requires_grad_(trainable)

    # ------------------------------------------------------------------ injection
    def _create_and_replace(self, config: BSLoraConfig, adapter_name: str, target: nn.Module, target_name: str,
                            parent: nn.Module, current_key: str, **optional_kwargs) -> None:
        if current_key is None:
            raise ValueError("Current key shouldn't be `None`")
        plan = self._plan_for(adapter_name, config)
        info = plan.by_key.get(current_key)
        if info is None:
            raise ValueError(f"BSLoRA: module '{current_key}' was matched by PEFT but not by the BSLoRA plan.")
        if isinstance(target, BSLoraLayer):
            target.update_layer(adapter_name, config, plan, info, self._bslora_store)
            return
        base = target.get_base_layer() if isinstance(target, BaseTunerLayer) else target
        fan_in_fan_out = config.fan_in_fan_out
        if isinstance(base, Conv1D):
            if not fan_in_fan_out:
                warnings.warn(
                    f"'{current_key}' is a transformers Conv1D (weight stored as (in, out)); setting fan_in_fan_out=True."
                )
                config.fan_in_fan_out = fan_in_fan_out = True
        elif fan_in_fan_out:
            warnings.warn(f"'{current_key}' is an nn.Linear; setting fan_in_fan_out=False.")
            config.fan_in_fan_out = fan_in_fan_out = False
        new_module = Linear(target, adapter_name, config, plan, info, self._bslora_store,
                            fan_in_fan_out=fan_in_fan_out)
        if adapter_name not in self.active_adapters:
            new_module.requires_grad_(False)
        self._replace_module(parent, target_name, new_module, target)

    # ------------------------------------------------------------------ trainability, dtype, deletion
    def _mark_only_adapters_as_trainable(self, model: nn.Module) -> None:
        super()._mark_only_adapters_as_trainable(model)
        self._sync_shared_requires_grad()

    def set_adapter(self, adapter_name, inference_mode: bool = False) -> None:
        super().set_adapter(adapter_name, inference_mode=inference_mode)
        self._sync_shared_requires_grad(inference_mode=inference_mode)

    def _cast_adapter_dtype(self, adapter_name: str, autocast_adapter_dtype: bool = True) -> None:
        super()._cast_adapter_dtype(adapter_name, autocast_adapter_dtype=autocast_adapter_dtype)
        if not autocast_adapter_dtype or "bslora_intra_A" not in self._modules:
            return
        for name in ("bslora_intra_A", "bslora_intra_B"):
            container = getattr(self, name)
            if adapter_name in container:
                inner = container[adapter_name]
                for key in list(inner.keys()):
                    if inner[key].dtype in _UPCAST:
                        inner[key] = nn.Parameter(inner[key].float(), requires_grad=inner[key].requires_grad)
        for name in ("bslora_inter_A", "bslora_inter_B"):
            container = getattr(self, name)
            if adapter_name in container and container[adapter_name].dtype in _UPCAST:
                p = container[adapter_name]
                container[adapter_name] = nn.Parameter(p.float(), requires_grad=p.requires_grad)

    def delete_adapter(self, adapter_name: str) -> None:
        super().delete_adapter(adapter_name)
        for name in _CONTAINERS:
            container = getattr(self, name)
            if adapter_name in container:
                del container[adapter_name]
        self._bslora_plans.pop(adapter_name, None)

    # ------------------------------------------------------------------ mixed-adapter batches
    @contextmanager
    def _enable_peft_forward_hooks(self, *args, **kwargs):
        adapter_names = kwargs.pop("adapter_names", None)
        if adapter_names is None:
            yield
            return
        if self.training:
            raise ValueError("Cannot pass `adapter_names` when the model is in training mode.")
        expected = set(self.peft_config) | {"__base__"}
        unknown = set(adapter_names) - expected
        if unknown:
            raise ValueError(f"Trying to infer with unknown adapter(s) {sorted(unknown)}; known: {sorted(expected)}.")
        handles = []
        hook = partial(_adapter_names_pre_forward_hook, adapter_names=adapter_names)
        for module in _bslora_layers(self.model):
            handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

"""Loading an adapter whose configuration equals one already in a pool, without PEFT re-walking the whole model.

PEFT's ``load_adapter`` walks every module and parameter of the model, those of the adapters already loaded
included, so the k-th load costs about k times the first (docs/benchmarks.md, "Serving many adapters"). Adapters
served together usually share one configuration (one recipe, many tasks). For such an adapter the pool copies the
per-adapter entries of a loaded adapter of the same configuration (the template) in every adapted module and in the
tuner, and fills the copies from the saved tensors by the template's state-dict keys. The result is the same
objects and tensors a PEFT load creates, in time proportional to the adapted modules, not to the adapters loaded.

A template is only used where it provably maps the file: every saved key names one of the template's own
parameters, with the same shape; otherwise the pool loads through PEFT as before.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

# the methods whose per-adapter state lives in ModuleDict/ParameterDict entries and adapter-keyed dicts, which is
# what a copy covers (checked against PEFT loads in tests/worker/test_adapter_template.py)
TEMPLATE_METHODS = frozenset({"BSLORA", "LORA"})


def _holders(peft_model) -> list[nn.Module]:
    from .adapter_pool import tuner_layers

    tuner = peft_model.base_model
    return [*tuner_layers(tuner.model), tuner]  # BSLoRA's shared intra/inter tensors live on the tuner


def _copy_entry(value, memo: dict):
    if isinstance(value, nn.Parameter):
        if id(value) not in memo:
            memo[id(value)] = nn.Parameter(torch.empty_like(value), requires_grad=False)
        return memo[id(value)]
    if isinstance(value, nn.Module):
        clone = copy.deepcopy(value, memo)  # the same memo: a parameter reached twice is copied once
        clone.requires_grad_(False)
        return clone
    return value  # ints, floats, strings, stateless variant objects: per-adapter constants


def _per_adapter_slots(holder: nn.Module, name: str):
    """Every per-adapter container of ``holder`` (ModuleDict, ParameterDict or adapter-keyed dict) holding ``name``."""
    for child in list(holder._modules.values()):
        if isinstance(child, (nn.ModuleDict, nn.ParameterDict)) and name in child:
            yield child
    for value in list(vars(holder).values()):
        if isinstance(value, dict) and name in value:
            yield value


def remove_entries(peft_model, name: str) -> None:
    """Drops whatever a partial copy under ``name`` created (the undo of a failed template load)."""
    for holder in _holders(peft_model):
        for slot in list(_per_adapter_slots(holder, name)):
            del slot[name]
    peft_model.peft_config.pop(name, None)


class AdapterTemplate:
    """A loaded adapter used as the shape of the next ones of the same configuration."""

    def __init__(self, peft_model, name: str):
        from peft.utils import get_peft_model_state_dict

        self.name = name
        self.holders = _holders(peft_model)
        own = {}
        for holder in self.holders:
            for slot in _per_adapter_slots(holder, name):
                entry = slot[name]
                if isinstance(entry, nn.Parameter):
                    own[entry.data_ptr()] = entry
                elif isinstance(entry, nn.Module):
                    own.update((p.data_ptr(), p) for p in entry.parameters())
        # the keys save_pretrained writes, each mapped to the template parameter it was read from
        self.keys: dict[str, nn.Parameter] | None = {}
        for key, tensor in get_peft_model_state_dict(peft_model, adapter_name=name).items():
            param = own.get(tensor.data_ptr())
            if param is None or param.shape != tensor.shape:
                self.keys = None  # a saved tensor that is not one of the template's parameters: not mappable
                return
            self.keys[key] = param

    def matches(self, tensors: dict[str, torch.Tensor]) -> bool:
        return self.keys is not None and tensors.keys() == self.keys.keys() and all(
            tensors[k].shape == p.shape for k, p in self.keys.items())

    def load(self, peft_model, name: str, tensors: dict[str, torch.Tensor]) -> None:
        """Creates adapter ``name`` as a copy of the template's entries holding ``tensors``; undone on failure."""
        memo: dict = {}
        peft_model.peft_config[name] = copy.deepcopy(peft_model.peft_config[self.name])
        try:
            for holder in self.holders:
                for slot in list(_per_adapter_slots(holder, self.name)):
                    if name not in slot:
                        slot[name] = _copy_entry(slot[self.name], memo)
            with torch.no_grad():
                for key, template_param in self.keys.items():
                    memo[id(template_param)].copy_(tensors[key])
        except BaseException:
            remove_entries(peft_model, name)
            raise


def read_tensors(weights: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(weights), device="cpu")

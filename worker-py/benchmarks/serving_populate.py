"""Populate an AdapterPool with many adapters quickly, for bench_serving.py (benchmark only, not a serving path).

PEFT's ``load_adapter`` re-walks the whole model for every adapter it adds (``inject_adapter`` iterates every module,
and the modules of every adapter already loaded are among them; loading the state dict walks every parameter), so
adding the k-th adapter costs time proportional to k and 1,000 adapters cost hours on a small CPU. To reach N = 1,000
the benchmark times the real ``AdapterPool.load`` at the N it reports and fills the adapters in between with
``clone_adapter``: a copy of an adapter already loaded through the real path, made by copying its entry in every
per-adapter container of the adapted modules and of the tuner, with its own storage. The copy holds exactly the
tensors and the per-module Python objects a real load of the same directory creates (checked: same bytes, same
outputs), and the method is the same for PEFT LoRA and BSLoRA.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from bslora_worker.serving.adapter_pool import AdapterPool, tuner_layers


def _copy_entry(value):
    if isinstance(value, nn.Parameter):
        return nn.Parameter(value.detach().clone(), requires_grad=False)
    if isinstance(value, nn.Module):
        clone = copy.deepcopy(value)
        clone.requires_grad_(False)
        return clone
    return value  # ints, floats, frozen specs: immutable per-adapter constants


def _copy_in(holder: nn.Module, source: str, name: str) -> None:
    for child in list(holder._modules.values()):
        if isinstance(child, (nn.ModuleDict, nn.ParameterDict)) and source in child:
            child[name] = _copy_entry(child[source])
    for value in list(vars(holder).values()):
        if isinstance(value, dict) and source in value and name not in value:
            value[name] = _copy_entry(value[source])


class Populator:
    """Clones one loaded adapter under new names; the adapted modules are found once, not per clone."""

    def __init__(self, pool: AdapterPool, source: str):
        self.pool, self.source = pool, source
        self.tuner = pool.peft_model.base_model
        self.layers = tuner_layers(self.tuner.model)

    def clone(self, name: str) -> int:
        pm = self.pool.peft_model
        if name in pm.peft_config:
            raise ValueError(f"adapter {name!r} already exists")
        pm.peft_config[name] = copy.deepcopy(pm.peft_config[self.source])
        for layer in self.layers:
            _copy_in(layer, self.source, name)
        _copy_in(self.tuner, self.source, name)  # BSLoRA's shared intra/inter tensors live on the tuner
        self.pool._bytes[name] = self.pool._hold(name)
        return self.pool._bytes[name]

    def fill(self, names) -> None:
        for name in names:
            self.clone(name)


def check_clone_matches(pool: AdapterPool, source: str, clone: str, ids: torch.Tensor) -> None:
    """A clone serves exactly the rows its source serves, and holds the same bytes in storage of its own."""
    out = pool.forward(ids[:1].repeat(2, 1), [source, clone]).logits  # one input, two adapters
    if not torch.equal(out[0], out[1]) or pool.resident_bytes(source) != pool.resident_bytes(clone):
        raise AssertionError(f"clone {clone!r} of {source!r} differs from it")
    mine = {p.data_ptr() for p in pool._adapter_params(clone)}
    if mine & {p.data_ptr() for p in pool._adapter_params(source)}:
        raise AssertionError(f"clone {clone!r} shares storage with {source!r}")

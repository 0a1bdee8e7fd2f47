"""Keeps loaded base models in memory between trials, so a sweep pays each model's load once.

Loading SmolLM2 takes seconds and a 7B model minutes; a trial only wraps the resident weights in a fresh adapter
and unloads it afterwards (see trials/train_trial.py), leaving them bit-identical.
"""

from __future__ import annotations

import threading

from .devices import place_on_device
from .models import LoadedBase, load_base_model


class ResidentModels:
    def __init__(self, max_models: int = 1, allowed_roots=None, device: str = "cpu"):
        self._models: dict[tuple[str, str], LoadedBase] = {}
        self._order: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.max_models = max_models
        self.allowed_roots = allowed_roots
        self.device = device

    def get(self, ref: str, task_type: str) -> LoadedBase:
        key = (ref, task_type)
        with self._lock:
            if key in self._models:
                return self._models[key]
            while len(self._order) >= self.max_models:  # evict the oldest: one device holds few bases
                self._models.pop(self._order.pop(0), None)
            loaded = place_on_device(load_base_model(ref, task_type, allowed_roots=self.allowed_roots), self.device)
            self._models[key] = loaded
            self._order.append(key)
            return loaded

    def names(self) -> list[str]:
        return [f"{ref} ({task})" for ref, task in self._order]

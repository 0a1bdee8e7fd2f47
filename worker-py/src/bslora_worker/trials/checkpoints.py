"""Checkpoints of a running trial (adapter weights, optimizer state, RNG, losses), keyed by the trial key.

A retried ``Train`` call for the same trial resumes from the newest checkpoint. Written to a temporary file and
renamed, so a worker killed mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch


class CheckpointStore:
    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / "checkpoint.pt"

    def save(self, step: int, peft_model, optimizer, losses: list[float]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {
            "step": step,
            "trainable": {n: p.detach().clone() for n, p in peft_model.named_parameters() if p.requires_grad},
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "losses": list(losses),
        }
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def load(self) -> dict | None:
        if not self.path.is_file():
            return None
        return torch.load(self.path, weights_only=False)

    def restore(self, state: dict, peft_model, optimizer) -> int:
        params = dict(peft_model.named_parameters())
        with torch.no_grad():
            for name, value in state["trainable"].items():
                params[name].copy_(value)
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"])

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

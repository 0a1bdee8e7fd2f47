"""What a trial's memory settings do around its training loop, and how its peak memory is measured.

``training.gradient_checkpointing`` recomputes the base model's activations in the backward pass instead of keeping
them (transformers' ``activation_checkpointing_enable``, non-reentrant, so the frozen base needs no input gradients);
``training.bf16_autocast`` runs forward and backward under ``torch.autocast(dtype=bfloat16)``, leaving the adapter's
weights, gradients and optimizer state in float32. Both are undone when the trial ends: the base model is resident
and shared by the next trial.

Peak memory is the trial's own: on CUDA the allocator's peak since the trial started, on the CPU the highest
resident set size sampled while it trained (the process's lifetime maximum would carry an earlier trial's peak).
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading

import torch

from ..errors import FailedPrecondition

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def bf16_autocast_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu"  # CPU autocast covers bfloat16 on every CPU torch runs on (native or emulated)


@contextlib.contextmanager
def memory_settings(peft_model, trial, device: torch.device):
    """Gradient checkpointing on the wrapped base model for the duration of the block, restored afterwards."""
    base = peft_model.get_base_model()
    enabled = bool(trial.gradient_checkpointing)
    use_cache = getattr(base.config, "use_cache", None)
    if enabled:
        if not getattr(base, "supports_gradient_checkpointing", False):
            raise FailedPrecondition(f"{trial.base_model} does not support gradient checkpointing: set training.gradient_checkpointing: false")
        base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        base.config.use_cache = False
    if trial.bf16_autocast and not bf16_autocast_supported(device):
        raise FailedPrecondition(f"bfloat16 autocast is not supported on {device}: set training.bf16_autocast: false")
    try:
        yield
    finally:
        if enabled:
            base.activation_checkpointing_disable()
            base.config.use_cache = use_cache


def step_autocast(trial, device: torch.device):
    """The context one training step's forward and backward run in."""
    if trial.bf16_autocast:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """The peak memory of one trial's training: CUDA allocator peak, or the highest sampled RSS on the CPU."""

    def __init__(self, device: torch.device, interval_s: float = 0.02):
        self.device = device
        self.interval_s = interval_s
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._peak = _rss_bytes()
            self._thread = threading.Thread(target=self._sample, name="bslora-peak-rss", daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._peak = max(self._peak, _rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._peak = max(self._peak, _rss_bytes())

    @property
    def peak_bytes(self) -> int:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        return self._peak

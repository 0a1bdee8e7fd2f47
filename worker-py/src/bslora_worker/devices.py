"""What Describe reports about a device: its kind and total and free memory."""

from __future__ import annotations

import platform

import torch

from bslora_api.worker.v1 import worker_service_pb2 as pb


def _meminfo() -> tuple[int, int]:
    """(total, available) bytes of system memory from /proc/meminfo; (0, 0) where it does not exist."""
    values = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, _, rest = line.partition(":")
                values[key] = int(rest.split()[0]) * 1024
    except OSError:
        return 0, 0
    return values.get("MemTotal", 0), values.get("MemAvailable", 0)


def device_info(device: str) -> pb.Device:
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        free, total = torch.cuda.mem_get_info(index)
        return pb.Device(name=device, kind=torch.cuda.get_device_name(index), total_memory_bytes=total,
                         free_memory_bytes=free)
    total, free = _meminfo()
    return pb.Device(name=device, kind=f"{platform.machine()} CPU, {torch.get_num_threads()} threads",
                     total_memory_bytes=total, free_memory_bytes=free)


def base_dtype(device: str) -> torch.dtype:
    """The dtype base weights are kept in: bf16 on a CUDA device that supports it, else fp32. Adapters stay fp32
    (PEFT's autocast_adapter_dtype), so only the frozen weights shrink."""
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def place_on_device(loaded, device: str):
    """Moves a loaded base model to the worker's device in its base dtype (no-op on the CPU)."""
    if device == "cpu":
        return loaded
    if device.startswith("cuda") and not torch.cuda.is_available():
        from .errors import FailedPrecondition

        raise FailedPrecondition(f"this worker was started with --device {device}, but torch sees no CUDA device")
    loaded.model.to(device=device, dtype=base_dtype(device))
    return loaded


def peak_memory_bytes(device: str) -> int:
    """Peak memory of this process on its device: allocated CUDA memory, else the process's maximum RSS."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

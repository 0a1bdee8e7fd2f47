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

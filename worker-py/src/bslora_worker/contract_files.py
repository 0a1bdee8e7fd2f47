"""The contract's data files, shipped beside the generated proto module: the defaults of trial settings
(``proto/trial-defaults.json``) and the method versions (``proto/method-versions.json``). The control plane reads the
same files, so a setting left unset means the same on both sides, and a trial key names the version that runs it."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from bslora_api.worker.v1 import worker_service_pb2 as pb


def _read(name: str) -> dict:
    data = json.loads(resources.files("bslora_api.worker.v1").joinpath(name).read_text(encoding="utf-8"))
    data.pop("_comment", None)
    return data


@cache
def trial_defaults() -> dict:
    """Defaults by sweep-spec path: ``trial_defaults()["training"]["warmup_steps"]``."""
    return _read("trial-defaults.json")


@cache
def method_versions() -> dict[str, str]:
    """The version of each method's implementation, by method name (``bslora``, ``lora``, ...)."""
    return _read("method-versions.json")


def enum_names(enum, prefix: str) -> tuple[str, ...]:
    """The values of a proto enum as specs write them: ``METHOD_BSLORA`` is ``bslora`` (UNSPECIFIED left out)."""
    return tuple(k[len(prefix):].lower() for k in enum.keys() if k != f"{prefix}UNSPECIFIED")


METHODS = enum_names(pb.Method, "METHOD_")
SHARE_MODES = enum_names(pb.ShareMode, "SHARE_MODE_")
TASK_TYPES = enum_names(pb.TaskType, "TASK_TYPE_")

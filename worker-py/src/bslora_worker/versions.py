"""Library versions every result carries, so a number can be traced to the code that produced it."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("torch", "transformers", "peft", "bslora-worker"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    try:
        import bslora

        out["bslora-method"] = getattr(bslora, "BSLORA_METHOD_VERSION", "unknown")
    except ImportError:
        out["bslora-method"] = "not importable"
    return out

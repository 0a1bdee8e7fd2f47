"""The worker's builtins agree with proto/builtin-resources.json, the file the control plane validates specs against
and takes the versions in trial keys from: a builtin changed here without its version bumped there (or the reverse)
would let the control plane reuse results made by another version."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
from bslora_worker.data import builtin
from bslora_worker.errors import InvalidArgument
from bslora_worker.models.loading import BUILTIN_MODELS, SMOLLM2_PACKAGE, TINY_LLAMA_VERSION

RESOURCES = json.loads((Path(__file__).resolve().parents[3] / "proto" / "builtin-resources.json").read_text())


def test_the_same_builtin_models_with_the_same_versions():
    assert sorted(RESOURCES["models"]) == sorted(ref.removeprefix("builtin:") for ref in BUILTIN_MODELS)
    assert RESOURCES["models"]["tiny-llama"] == TINY_LLAMA_VERSION
    # builtin:smollm2-135m is the GGUF file of the pinned package (infra/scripts/setup.sh installs that pin)
    assert RESOURCES["models"]["smollm2-135m"] == f"{SMOLLM2_PACKAGE} {importlib.metadata.version(SMOLLM2_PACKAGE)}"


def test_the_same_builtin_tasks_versions_and_splits():
    assert RESOURCES["tasks"] == builtin.BUILTIN_TASKS
    for name in RESOURCES["tasks"]:
        for split in RESOURCES["task_splits"]:
            assert builtin.parse_builtin(f"builtin:{name}/{split}") == (name, split)
        with pytest.raises(InvalidArgument, match="splits train and test"):
            builtin.parse_builtin(f"builtin:{name}/validation")

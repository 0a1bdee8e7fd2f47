"""Hub dataset refs: refused plainly where the hub is unreachable (as here), and mapped like local files otherwise."""

from __future__ import annotations

import sys
import types

import pytest

from bslora_worker import data
from bslora_worker.errors import FailedPrecondition


def test_an_unreachable_hub_fails_precondition_naming_the_dataset_and_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("BSLORA_DATA_MIRROR", raising=False)
    with pytest.raises(FailedPrecondition) as err:
        data.load_train_examples("yahma/alpaca-cleaned")
    assert "yahma/alpaca-cleaned" in str(err.value) and "BSLORA_DATA_MIRROR" in str(err.value)
    assert "yahma/alpaca-cleaned/train.json" in str(err.value) and "pass its path" in str(err.value)


def test_hub_rows_become_examples_and_eval_items(monkeypatch):
    """The mapping from rows to examples, with `datasets.load_dataset` and the reachability probe replaced (pure
    logic: the real download cannot run on this offline machine)."""
    calls = []

    def load_dataset(name, split, revision=None):
        calls.append((name, split, revision))
        if split == "test":
            raise ValueError("Unknown split 'test'")
        if split == "train":
            return [{"instruction": "Add", "input": "2 and 3", "output": "5"}]
        return [{"instruction": "Is the sky blue?\n\nAnswer format: true/false", "input": "", "output": "the answer is true",
                 "answer": "true"}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.setattr("bslora_worker.models.loading.hub_reachable", lambda timeout=3.0: True)
    [ex] = data.load_train_examples("owner/alpaca-like@v1")
    assert ex.completion.strip() == "5" and "2 and 3" in ex.prompt
    [item] = data.load_eval_items("hub:owner/boolq-like")
    assert item.options[item.gold].strip().lower() in ("true", "yes")  # the #mc style words booleans as yes/no
    assert len(item.options) == 2 and "sky" in item.context
    assert calls == [("owner/alpaca-like", "train", "v1"), ("owner/boolq-like", "test", None),
                     ("owner/boolq-like", "validation", None)]

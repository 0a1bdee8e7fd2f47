"""Named public data (hub ids, ``llm-adapters:<Set>``) read from a data mirror, downloaded without one, and the
seven commonsense sets of the mirror parsed and scored."""

from __future__ import annotations

import http.server
import json
import threading
from functools import partial

import pytest

from bslora_worker.data import check_available, identity_of, load_eval_items, load_train_examples
from bslora_worker.data.mirror import MIRROR_ENV
from bslora_worker.errors import FailedPrecondition
from bslora_worker.evaluation import score_multiple_choice

# test split sizes of the sets in the mirror (its README), and the options per item
SETS = {
    "boolq": (3270, {2}),
    "ARC-Easy": (2376, {3, 4, 5}),
    "openbookqa": (500, {4}),
    "piqa": (1838, {2}),
    "social_i_qa": (1954, {3}),
    "winogrande": (1267, {2}),
    "ARC-Challenge": (1172, {3, 4, 5}),
}


@pytest.fixture
def with_mirror(monkeypatch, data_mirror):
    monkeypatch.setenv(MIRROR_ENV, str(data_mirror))
    return data_mirror


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_commonsense_set_of_the_mirror_parses_by_name_as_by_path(with_mirror, name):
    size, option_counts = SETS[name]
    items = load_eval_items(f"llm-adapters:{name}")
    assert len(items) == size
    assert {len(i.options) for i in items} <= option_counts
    assert all(0 <= i.gold < len(i.options) for i in items)
    assert items == load_eval_items(str(with_mirror / "commonsense" / name / "test.json"))


@pytest.mark.parametrize("name", ["piqa", "social_i_qa", "winogrande", "ARC-Challenge"])
def test_the_four_further_sets_score_like_the_first_three(with_mirror, tiny, name):
    items = load_eval_items(f"llm-adapters:{name}", limit=6)
    m = score_multiple_choice(tiny.model, tiny.tokenizer, items)
    assert m["n"] == 6 and 0.0 <= m["acc"] <= 1.0 and 0.0 <= m["acc_norm"] <= 1.0
    first = items[0]
    assert first.context.startswith("Question: ") and first.context.endswith("\nAnswer:")


def test_train_split_by_name(with_mirror):
    examples = load_train_examples("llm-adapters:ARC-Easy", limit=3)
    assert examples == load_train_examples(str(with_mirror / "commonsense" / "ARC-Easy" / "train.json"), limit=3)
    assert identity_of("llm-adapters:ARC-Easy") == "llm-adapters:ARC-Easy"


def test_a_mirror_without_the_set_names_the_set_and_the_path(monkeypatch, tmp_path):
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with pytest.raises(FailedPrecondition) as err:
        load_train_examples("llm-adapters:piqa")
    assert "'llm-adapters:piqa'" in str(err.value) and str(tmp_path / "commonsense" / "piqa" / "train.json") in str(err.value)
    with pytest.raises(FailedPrecondition) as err:
        check_available("yahma/alpaca-cleaned", "train")
    assert "'yahma/alpaca-cleaned'" in str(err.value) and str(tmp_path / "yahma/alpaca-cleaned/train.json") in str(err.value)
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "nope"))
    with pytest.raises(FailedPrecondition, match="is not a folder"):
        load_eval_items("llm-adapters:boolq")


def test_hub_dataset_from_the_mirror(monkeypatch, tmp_path):
    folder = tmp_path / "yahma" / "alpaca-cleaned"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text(json.dumps({"instruction": "Say hi", "input": "", "output": "hi"}) + "\n")
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    [example] = load_train_examples("yahma/alpaca-cleaned")
    assert example.completion == "hi" and "### Instruction:\nSay hi" in example.prompt
    check_available("hub:yahma/alpaca-cleaned@main", "train")  # no error: the mirror has it
    with pytest.raises(FailedPrecondition, match="validation.json"):  # eval looks for test, then validation
        load_eval_items("yahma/alpaca-cleaned")


def test_without_a_mirror_a_set_is_downloaded_once_into_the_cache(monkeypatch, tmp_path, data_mirror):
    """A local HTTP server stands in for the LLM-Adapters repository; the second read comes from the cache."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(data_mirror / "commonsense"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("BSLORA_LLM_ADAPTERS_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        items = load_eval_items("llm-adapters:openbookqa")
    finally:
        server.shutdown()
        server.server_close()
    assert len(items) == 500
    assert (tmp_path / "bslora" / "llm-adapters" / "openbookqa" / "test.json").is_file()
    assert load_eval_items("llm-adapters:openbookqa") == items  # the server is gone: the cache answers
    with pytest.raises(FailedPrecondition, match="could not be downloaded from http://127.0.0.1:.*BSLORA_DATA_MIRROR"):
        load_eval_items("llm-adapters:piqa")


def test_an_unknown_set_lists_the_sets():
    from bslora_worker.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="'ARC' is not one of the LLM-Adapters sets boolq, piqa"):
        load_eval_items("llm-adapters:ARC")


def test_a_trial_whose_eval_set_is_missing_from_the_mirror_fails_before_training(monkeypatch, tmp_path, tiny):
    from bslora_worker.trials.train_trial import train_trial
    from trial_messages import trial_view

    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    trial = trial_view(trial_key="mirror", name="t", method="lora", base_model="builtin:tiny-llama", task_type="causal_lm",
                  train_data="builtin:arith", eval_tasks=("builtin:arith", "llm-adapters:winogrande"),
                  target_modules=("q_proj",), steps=3, learning_rate=1e-3, batch_size=2, seq_len=48, seed=0, rank=2)
    steps = []
    with pytest.raises(FailedPrecondition) as err:
        train_trial(trial, tiny, tmp_path / "run", steps.append, threading.Event())
    assert steps == []
    assert "llm-adapters:winogrande" in str(err.value) and str(tmp_path / "commonsense/winogrande/test.json") in str(err.value)


def test_the_smollm2_spec_runs_on_the_mirror_unchanged(with_mirror):
    """Every data ref of jobs/smollm2-commonsense.yaml (a CPU spec) is found in the test mirror and loads."""
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[3]
    spec = yaml.safe_load((repo / "jobs" / "smollm2-commonsense.yaml").read_text())
    check_available(spec["train_data"], "train")
    assert load_train_examples(spec["train_data"], limit=2)
    for task in spec["eval_tasks"]:
        check_available(task, "eval")
        assert load_eval_items(task, limit=2)


def test_classification_items_take_the_split_asked_for(with_mirror):
    from bslora_worker.data import load_class_items

    train = load_class_items("llm-adapters:boolq", split="train")
    test = load_class_items("llm-adapters:boolq", split="test")
    assert (len(train), len(test)) == (9427, 3270)

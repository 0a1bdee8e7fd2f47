"""The optional lm-evaluation-harness path (``lm-eval:<task>`` eval refs): a real ``simple_evaluate`` run on
SmolLM2 with a BSLoRA adapter applied in-process, checked against the project's own log-likelihood scorer, and the
errors for a missing ``lm_eval`` and for a model without a Hugging Face tokenizer."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

from bslora_worker.data import load_eval_items
from bslora_worker.errors import FailedPrecondition, InvalidArgument
from bslora_worker.evaluation import option_loglikelihoods
from bslora_worker.evaluation import lm_eval_harness
from bslora_worker.evaluation.lm_eval_harness import LM_EVAL_INSTALL, run_lm_eval, summarize
from bslora_worker.trials.evaluate_trial import _score_task
from trial_messages import trial_view

LIMIT = 10

# BoolQ-style: the prompt of the upstream super_glue/boolq task without the passage, which is exactly the prompt
# that the project's `#mc` format builds from an LLM-Adapters BoolQ record.
TASK_YAML = """\
task: boolq_local
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files: {data}
test_split: train
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: ["no", "yes"]
doc_to_target: label
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def make_trial(eval_task: str, **overrides):
    fields = dict(
        trial_key="key-lm-eval", name="t", method="lora", base_model="builtin:tiny-llama", task_type="causal_lm",
        train_data="builtin:arith", eval_tasks=(eval_task,), target_modules=("q_proj",), steps=1,
        learning_rate=1e-3, batch_size=1, seq_len=32, seed=0, rank=2,
    )
    fields.update(overrides)
    return trial_view(**fields)


def write_task(directory, items) -> str:
    rows = []
    for item in items:
        assert item.context.startswith("Question: ") and item.context.endswith("\nAnswer:")
        assert item.options == ["no", "yes"]
        rows.append({"question": item.context[len("Question: "):-len("\nAnswer:")], "label": item.gold})
    (directory / "boolq_rows.json").write_text(json.dumps(rows))
    path = directory / "boolq_local.yaml"
    path.write_text(TASK_YAML.format(data=directory / "boolq_rows.json"))
    return str(path)


@pytest.fixture(scope="module")
def boolq(commonsense_dir, tmp_path_factory):
    """12 BoolQ test records as ChoiceItems and as a local lm-eval task (the limit must cut it to 10)."""
    items = load_eval_items(str(commonsense_dir / "boolq/test.json"), limit=LIMIT + 2)
    return items, write_task(tmp_path_factory.mktemp("lm_eval_task"), items)


@pytest.fixture()
def bslora_smollm2(smollm2):
    """SmolLM2 wrapped in a BSLoRA kron adapter (share size 64 divides 576 and 192) whose every adapter weight is
    random, so that it changes the model's scores; unloaded afterwards, leaving the shared base as it was."""
    import bslora
    from peft import get_peft_model

    config = bslora.BSLoraConfig(r_local=2, r_intra=2, r_inter=2, share_mode="kron", kron_share_size=64,
                                 target_modules=["q_proj", "v_proj"])
    model = get_peft_model(smollm2.model, config)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    model.eval()
    try:
        yield model
    finally:
        model.unload()


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=lambda k: (values[k], -k))  # ties to the first, as numpy.argmax


def _loglikelihoods(results: dict) -> list[list[float]]:
    samples = sorted(results["samples"]["boolq_local"], key=lambda s: s["doc_id"])
    assert [s["doc_id"] for s in samples] == list(range(LIMIT))
    return [[float(r[0]) for r in s["filtered_resps"]] for s in samples]


def test_lm_eval_scores_the_in_process_bslora_model_as_our_scorer_does(smollm2, boolq, bslora_smollm2, monkeypatch):
    items, yaml_path = boolq
    items = items[:LIMIT]
    ref = f"lm-eval:{yaml_path}"
    import datasets.config
    import huggingface_hub.constants

    offline_before = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("HF_DATASETS_OFFLINE"),
                      huggingface_hub.constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE)
    results, names = run_lm_eval(bslora_smollm2, smollm2, ref, limit=LIMIT, log_samples=True)
    # The run is offline, and only while it lasts.
    assert (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("HF_DATASETS_OFFLINE"),
            huggingface_hub.constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE) == offline_before
    scores = summarize(results, names, ref)
    assert names == ["boolq_local"]
    assert results["git_hash"] is None  # no `git describe` / collect_env subprocesses in the worker
    assert scores["n"] == LIMIT
    assert 0.0 <= scores["acc"] <= 1.0 and 0.0 <= scores["acc_norm"] <= 1.0

    # The same 10 items through the project's scorer, on the same adapted model: per-option log-likelihoods agree
    # to 2e-3 (float32 on different batch shapes); acc and acc_norm, computed from ours as score_multiple_choice
    # defines them, agree exactly.
    theirs = _loglikelihoods(results)
    ours = option_loglikelihoods(bslora_smollm2, smollm2.tokenizer, items, batch_size=2 * LIMIT)
    for a, b in zip(theirs, ours):
        assert a == pytest.approx(b, abs=2e-3)
    acc = sum(_argmax(ll) == it.gold for ll, it in zip(ours, items)) / LIMIT
    acc_norm = sum(
        _argmax([s / len(o) for s, o in zip(ll, it.options)]) == it.gold for ll, it in zip(ours, items)
    ) / LIMIT
    assert (scores["acc"], scores["acc_norm"]) == (acc, acc_norm)

    # lm-eval saw the adapter: on the base alone (adapter disabled) it scores the options differently. This run goes
    # through the worker's hook (`_score_task`) with the task named, found in the folder BSLORA_LM_EVAL_INCLUDE names;
    # a spy keeps the harness's per-option log-likelihoods.
    captured = {}

    def spy(*args, **kwargs):
        captured["results"], names = real(*args, **{**kwargs, "log_samples": True})
        return captured["results"], names

    real = lm_eval_harness.run_lm_eval
    monkeypatch.setattr(lm_eval_harness, "run_lm_eval", spy)
    monkeypatch.setenv(lm_eval_harness.INCLUDE_ENV, str(Path(yaml_path).parent))
    progress = []
    with bslora_smollm2.disable_adapter():
        score = _score_task(make_trial("lm-eval:boolq_local", eval_limit=LIMIT), "lm-eval:boolq_local",
                            bslora_smollm2, smollm2, None, lambda *p: progress.append(p))
    assert (score.task, score.n) == ("lm-eval:boolq_local", LIMIT) and 0.0 <= score.acc <= 1.0
    assert progress == [("lm-eval:boolq_local", 0, LIMIT), ("lm-eval:boolq_local", LIMIT, LIMIT)]
    base_ll = _loglikelihoods(captured["results"])
    assert max(abs(x - y) for a, b in zip(theirs, base_ll) for x, y in zip(a, b)) > 0.05


def test_lm_eval_ref_without_lm_eval_installed_says_how_to_install(tiny, boolq, monkeypatch):
    _, yaml_path = boolq
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # `import lm_eval` now raises ImportError
    ref = f"lm-eval:{yaml_path}"
    with pytest.raises(FailedPrecondition) as exc:
        _score_task(make_trial(ref), ref, tiny.model, tiny, None, lambda *a: None)
    assert LM_EVAL_INSTALL in exc.value.message and "lm-eval==" in exc.value.message


def test_lm_eval_ref_on_a_byte_tokenizer_model_names_the_model(tiny, boolq):
    _, yaml_path = boolq
    ref = f"lm-eval:{yaml_path}"
    with pytest.raises(FailedPrecondition) as exc:
        _score_task(make_trial(ref), ref, tiny.model, tiny, None, lambda *a: None)
    assert "builtin:tiny-llama" in exc.value.message and "builtin:smollm2-135m" in exc.value.message
    assert "Hugging Face tokenizer" in exc.value.message


def test_lm_eval_task_file_outside_allowed_roots_is_refused(tiny, boolq, tmp_path):
    _, yaml_path = boolq
    ref = f"lm-eval:{yaml_path}"
    with pytest.raises(InvalidArgument, match="outside the worker's allowed roots"):
        _score_task(make_trial(ref), ref, tiny.model, tiny, (str(tmp_path),), lambda *a: None)
    with pytest.raises(InvalidArgument, match="give a task"):
        _score_task(make_trial("lm-eval:"), "lm-eval:", tiny.model, tiny, None, lambda *a: None)


def test_lm_eval_task_files_that_cannot_load_are_invalid_arguments(tmp_path):
    _, _, TaskManager = lm_eval_harness._import_lm_eval()
    (tmp_path / "missing.yaml").write_text(TASK_YAML.format(data=tmp_path / "absent.json").replace("boolq_local", "t1"))
    (tmp_path / "broken.yaml").write_text("task: [unclosed\n")
    for name, message in (("missing.yaml", "does not exist"), ("broken.yaml", "not valid YAML")):
        ref = f"lm-eval:{tmp_path / name}"
        spec, include = lm_eval_harness.parse_ref(ref)
        with pytest.raises(InvalidArgument, match=message):
            lm_eval_harness._load_tasks(TaskManager, spec, include, ref)

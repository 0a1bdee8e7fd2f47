"""A grid entry of any PEFT method: validated and canonicalised by the installed PEFT, counted on the meta device."""

from __future__ import annotations

import json

import pytest

from bslora_worker.errors import FailedPrecondition, InvalidArgument
from bslora_worker.trials.count_without_weights import count_without_weights
from bslora_worker.trials.peft_entry import (
    canonical_config_json,
    check_peft_version,
    installed_peft_version,
    peft_entry_config,
)
from bslora_worker.trials.trial import Trial

from trial_messages import trial_message


def peft_trial(fields: dict, peft_version: str = "", **flat) -> Trial:
    msg = trial_message(method="peft", steps=2, learning_rate=1e-3, batch_size=2, seq_len=32,
                        target_modules=("q_proj", "v_proj"), **flat)
    msg.peft.name = "entry"
    msg.peft.config_json = json.dumps(fields)
    msg.peft.peft_version = peft_version
    return Trial(msg)


@pytest.mark.parametrize("fields", [
    {"peft_type": "LOKR", "r": 8, "alpha": 16},
    {"peft_type": "FOURIERFT", "n_frequency": 50},
    {"peft_type": "VBLORA", "r": 4, "num_vectors": 16, "vector_length": 8},
])
def test_counts_on_the_meta_device_equal_what_peft_allocates(fields):
    import torch
    from peft import get_peft_model

    from bslora_worker.models.loading import load_base_config
    from transformers import AutoModelForCausalLM

    trial = peft_trial(fields)
    counts = count_without_weights(trial)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(load_base_config("builtin:tiny-llama", "causal_lm"))
    wrapped = get_peft_model(model, peft_entry_config(trial))
    allocated = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    assert counts["total"] == allocated > 0
    assert counts["local"] == allocated and counts["intra"] == counts["inter"] == 0


def test_canonical_config_fills_peft_defaults_and_is_the_same_when_a_default_is_written():
    short = canonical_config_json(peft_entry_config(peft_trial({"peft_type": "LOKR", "r": 8})))
    written = canonical_config_json(peft_entry_config(peft_trial({"peft_type": "LOKR", "r": 8, "alpha": 8.0})))
    data = json.loads(short)
    assert data["peft_type"] == "LOKR" and data["r"] == 8 and data["alpha"] == 8
    assert data["target_modules"] == ["q_proj", "v_proj"] and data["task_type"] == "CAUSAL_LM"
    assert "peft_version" not in data and "base_model_name_or_path" not in data
    assert short == written
    assert short != canonical_config_json(peft_entry_config(peft_trial({"peft_type": "LOKR", "r": 4})))


def test_an_invalid_value_is_refused_with_peft_s_message():
    # LoKr checks r when it builds its layers, so the refusal comes from counting (as at submit).
    with pytest.raises(InvalidArgument, match="LoKrConfig does not fit builtin:tiny-llama: `r` should be a positive "
                                              "integer value but the value passed is -1"):
        count_without_weights(peft_trial({"peft_type": "LOKR", "r": -1}))
    with pytest.raises(InvalidArgument, match="VBLoRAConfig: .*"):
        peft_entry_config(peft_trial({"peft_type": "VBLORA", "r": 4, "num_vectors": 16, "vector_length": 8,
                                      "target_modules": ["q_proj"], "layers_pattern": "layers"}))


def test_an_unknown_field_and_an_unknown_type_are_refused_by_name():
    with pytest.raises(InvalidArgument, match="rank_size"):
        peft_entry_config(peft_trial({"peft_type": "LOKR", "rank_size": 3}))
    with pytest.raises(InvalidArgument, match="'NOPE' is not a method of PEFT .*LOKR"):
        peft_entry_config(peft_trial({"peft_type": "NOPE"}))


def test_a_config_that_does_not_fit_the_model_is_refused_when_counting():
    with pytest.raises(InvalidArgument, match="does not fit builtin:tiny-llama"):
        count_without_weights(peft_trial({"peft_type": "LOKR", "r": 8, "target_modules": ["no_such_module"]}))


def test_a_trial_validated_by_another_peft_is_refused():
    check_peft_version(peft_trial({"peft_type": "LOKR"}, peft_version=installed_peft_version()))
    with pytest.raises(FailedPrecondition, match="planned with PEFT 0.0.1"):
        check_peft_version(peft_trial({"peft_type": "LOKR"}, peft_version="0.0.1"))
    with pytest.raises(FailedPrecondition, match="not validated"):
        check_peft_version(peft_trial({"peft_type": "LOKR"}))


def test_an_adapter_peft_cannot_save_fails_its_trial_without_retry_and_io_errors_stay_retryable():
    from bslora_worker.trials.train_trial import _save_adapter

    class Unsavable:
        def __init__(self, err):
            self.err = err

        def save_pretrained(self, _directory):
            raise self.err

    with pytest.raises(FailedPrecondition, match="PEFT cannot save this adapter: NotImplementedError: no saving"):
        _save_adapter(Unsavable(NotImplementedError("no saving")))
    with pytest.raises(OSError):
        _save_adapter(Unsavable(OSError("disk full")))


@pytest.mark.parametrize("fields", [
    {"peft_type": "PREFIX_TUNING", "num_virtual_tokens": 4},
    {"peft_type": "ADALORA", "total_step": 10},
])
def test_methods_that_need_their_own_training_loop_are_refused(fields):
    with pytest.raises(InvalidArgument, match=f"peft_type {fields['peft_type']} needs its own training loop"):
        peft_entry_config(peft_trial(fields))

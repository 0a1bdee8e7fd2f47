"""The worker's half of the cross-language contract test (test/contract/trial-contract.test.ts).

Reads a JSON file of proto ``Trial`` messages serialised by the control plane's planner (base64 of the bytes), and
prints, as JSON, what the worker's own code makes of each: the typed view's settings, the PEFT config it builds, the
learning rate of the first step, and the same for the message with every optional field cleared (so the worker's
defaults show). It also prints the enum values and ``oneof`` case names this side knows.

Usage: python read_trials.py TRIALS.json > REPORT.json
"""

from __future__ import annotations

import base64
import json
import sys

from bslora_api.worker.v1 import worker_service_pb2 as pb

from bslora_worker.trials.adapter_config import adapter_config
from bslora_worker.trials.peft_entry import canonical_config_json
from bslora_worker.contract_files import METHODS, SHARE_MODES, TASK_TYPES, method_versions, trial_defaults
from bslora_worker.trials.lr_schedule import lr_schedule
from bslora_worker.trials.trial import Trial, check_method_version


def _cleared(msg: pb.Trial) -> pb.Trial:
    """A copy with every proto3 ``optional`` field unset (what a client that leaves them out would send)."""
    out = pb.Trial()
    out.CopyFrom(msg)
    settings = getattr(out, out.WhichOneof("method"))
    for m in (out.training, settings):
        for field in m.DESCRIPTOR.fields:
            if field.has_presence and field.containing_oneof is not None and field.containing_oneof.name.startswith("_"):
                m.ClearField(field.name)
    return out


def _peft(config) -> dict | None:
    if config is None:
        return None
    keys = ("r", "lora_alpha", "lora_dropout", "vera_dropout", "r_local", "r_intra", "r_inter", "share_mode",
            "kron_share_size", "gate_share_size")
    out = {k: getattr(config, k) for k in keys if hasattr(config, k)}
    out["type"] = type(config).__name__
    out["task_type"] = str(config.task_type.value if hasattr(config.task_type, "value") else config.task_type)
    out["target_modules"] = sorted(config.target_modules or [])
    out["peft_type"] = str(config.peft_type.value if hasattr(config.peft_type, "value") else config.peft_type)
    out["canonical"] = canonical_config_json(config)
    return out


def _read(msg: pb.Trial) -> dict:
    trial = Trial(msg)
    check_method_version(trial)
    return {
        "name": trial.name,
        "method": trial.method,
        "method_version": trial.method_version,
        "task_type": trial.task_type,
        "rank": trial.rank,
        "ranks": [trial.r_local, trial.r_intra, trial.r_inter],
        "share_mode": trial.share_mode,
        "share_size": trial.share_size,
        "lora_alpha": trial.lora_alpha,
        "lora_dropout": trial.lora_dropout,
        "warmup_steps": trial.warmup_steps,
        "steps": trial.steps,
        "epochs": trial.epochs,
        "learning_rate": trial.learning_rate,
        "seed": trial.seed,
        "first_step_lr": lr_schedule(trial.lr_scheduler, peak=trial.learning_rate, warmup_steps=trial.warmup_steps,
                                     total_steps=max(trial.steps, 100))(0),
        # Every defaulted setting as the worker reads it, by its defaults-file path.
        "settings": {
            **{f"training.{n}": trial.training_setting(n) for n in trial_defaults()["training"]},
            **({f"adapter.{n}": trial.adapter_setting(n) for n in trial_defaults()["adapter"]}
               if trial.method not in ("base", "peft") else {}),
        },
        "peft": _peft(adapter_config(trial)),
    }


def _oneof_cases(message, oneof: str) -> list[str]:
    return [f.name for f in message.DESCRIPTOR.oneofs_by_name[oneof].fields]


def main() -> None:
    trials = json.loads(open(sys.argv[1], encoding="utf-8").read())
    report = {
        "enums": {"methods": list(METHODS), "share_modes": list(SHARE_MODES), "task_types": list(TASK_TYPES)},
        "oneofs": {"method": _oneof_cases(pb.Trial, "method"), "share": _oneof_cases(pb.BSLoraSettings, "share")},
        "method_versions": method_versions(),
        "defaults": trial_defaults(),
        "trials": [],
    }
    for item in trials:
        msg = pb.Trial.FromString(base64.b64decode(item["bytes"]))
        report["trials"].append({"source": item["source"], "as_sent": _read(msg), "unset": _read(_cleared(msg))})
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()

"""Builds proto ``Trial`` messages for tests from flat keyword settings (``method="bslora", share_mode="kron",
kron_share_size=16, steps=12, ...``), so each test names only what it varies."""

from __future__ import annotations

from bslora_api.worker.v1 import worker_service_pb2 as pb

from bslora_worker.contract_files import method_versions
from bslora_worker.trials.trial import Trial

_TRAINING = ("steps", "epochs", "learning_rate", "batch_size", "seq_len", "warmup_steps", "eval_limit",
             "checkpoint_every", "micro_batch_size", "train_on_inputs",
             "gradient_checkpointing", "bf16_autocast", "validation_holdout", "stop_after_steps")
_TRAINING_ENUMS = {"lr_scheduler": (pb.LrScheduler, "LR_SCHEDULER_"),
                   "prompt_template": (pb.PromptTemplate, "PROMPT_TEMPLATE_")}


def scaling_message(text: str) -> pb.AdapterScaling:
    """``fixed:2``, ``alpha_over_rank`` or ``rslora`` as the proto message."""
    mode, _, value = text.partition(":")
    msg = pb.AdapterScaling(mode=pb.ScalingMode.Value(f"SCALING_MODE_{mode.upper()}"))
    if value:
        msg.fixed = float(value)
    return msg


def trial_message(**flat) -> pb.Trial:
    """``method=None`` leaves the method unset (an invalid trial)."""
    method = flat.pop("method", "lora")
    msg = pb.Trial(
        trial_key=flat.pop("trial_key", f"key-{method}"),
        name=flat.pop("name", "t"),
        method_version=flat.pop("method_version", method_versions().get(method, "")),
        base_model=flat.pop("base_model", "builtin:tiny-llama"),
        train_data=flat.pop("train_data", "builtin:arith"),
        eval_tasks=list(flat.pop("eval_tasks", ("builtin:arith",))),
        target_modules=list(flat.pop("target_modules", ("q_proj",))),
        seed=flat.pop("seed", 0),
    )
    task_type = flat.pop("task_type", None)
    if task_type:
        msg.task_type = pb.TaskType.Value(f"TASK_TYPE_{task_type.upper()}")
    if "training" in flat:
        msg.training.CopyFrom(flat.pop("training"))
    for name in _TRAINING:
        if name in flat and (value := flat.pop(name)) is not None:
            setattr(msg.training, name, value)
    for name, (enum, prefix) in _TRAINING_ENUMS.items():
        if name in flat and (value := flat.pop(name)):
            setattr(msg.training, name, enum.Value(prefix + value.upper()))
    rank = flat.pop("rank", 0)
    ranks = flat.pop("ranks", None)
    r = (flat.pop("r_local", 0), flat.pop("r_intra", 0), flat.pop("r_inter", 0))
    mode = flat.pop("share_mode", "slice")
    sizes = {"kron": flat.pop("kron_share_size", 0), "gate": flat.pop("gate_share_size", 0)}
    if method is None:
        return msg
    settings = getattr(msg, method)
    settings.SetInParent()
    if method in ("lora", "vera"):
        settings.rank = rank
    if method == "bslora":
        settings.ranks.CopyFrom(ranks or pb.BSLoraRanks(local=r[0], intra=r[1], inter=r[2]))
        getattr(settings, mode).SetInParent()
        if mode in sizes:
            getattr(settings, mode).share_size = sizes[mode]
        shared_dropout = flat.pop("kron_shared_dropout", None)
        if shared_dropout is not None and mode == "kron":
            settings.kron.shared_dropout = shared_dropout
    if method in ("lora", "bslora") and (text := flat.pop("scaling", None)):
        settings.scaling.CopyFrom(scaling_message(text))
    for name in ("lora_alpha", "lora_dropout"):
        if name in flat and (value := flat.pop(name)) is not None:
            setattr(settings, name, value)
    if flat:
        raise TypeError(f"trial_message: unknown settings {sorted(flat)}")
    return msg


def trial_view(**flat) -> Trial:
    return Trial(trial_message(**flat))

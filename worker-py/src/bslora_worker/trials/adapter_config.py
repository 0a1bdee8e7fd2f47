"""Builds the PEFT config of a trial's adapter, one place per method."""

from __future__ import annotations

from peft import LoraConfig, PeftConfig, TaskType, VeraConfig

from ..errors import InvalidArgument
from .adapter_scaling import bslora_scaling_kwargs, lora_scaling_kwargs
from .trial import Trial


def _task_type(trial: Trial) -> TaskType:
    return TaskType.CAUSAL_LM if trial.task_type == "causal_lm" else TaskType.SEQ_CLS


def adapter_config(trial: Trial) -> PeftConfig | None:
    """Returns the PEFT config for the trial, or None for the untuned base model.

    Every value comes from the trial (defaults applied from proto/trial-defaults.json). The scale comes from
    ``trial.scaling`` (see ``adapter_scaling``): by default every LoRA and BSLoRA adapter of a sweep trains at the same
    fixed scale 2, whatever its rank, as the BSLoRA reference does, so the comparison differs only in the adapter's
    structure.
    """
    if trial.method == "base":
        return None
    if trial.method == "peft":
        from .peft_entry import peft_entry_config

        return peft_entry_config(trial)
    scaling = trial.scaling
    if trial.method == "lora":
        return LoraConfig(
            r=trial.rank,
            **lora_scaling_kwargs(scaling, trial.lora_alpha, trial.rank),
            lora_dropout=trial.lora_dropout,
            target_modules=list(trial.target_modules),
            task_type=_task_type(trial),
        )
    if trial.method == "vera":
        return VeraConfig(
            r=trial.rank,
            vera_dropout=trial.lora_dropout,
            target_modules=list(trial.target_modules),
            task_type=_task_type(trial),
            save_projection=True,
        )
    import bslora  # registers the method with PEFT

    kwargs = dict(
        r_local=trial.r_local,
        r_intra=trial.r_intra,
        r_inter=trial.r_inter,
        share_mode=trial.share_mode,
        lora_dropout=trial.lora_dropout,
        kron_shared_dropout=trial.kron_shared_dropout,
        target_modules=list(trial.target_modules),
        task_type=_task_type(trial),
        **bslora_scaling_kwargs(scaling, trial.lora_alpha),
    )
    if trial.share_size is not None:
        kwargs[f"{trial.share_mode}_share_size"] = trial.share_size
    try:
        return bslora.BSLoraConfig(**kwargs)
    except ValueError as err:  # the config names the field and the fix; it is the caller's argument that is wrong
        raise InvalidArgument(f"trial {trial.name}: {err}") from err

"""A ``peft`` trial's adapter: any PEFT method, named by its config's fields (``{"peft_type": "LOKR", "r": 8}``).

The installed PEFT builds the config, so an invalid entry is refused with PEFT's own message; its ``to_dict()`` with
every default filled in, as JSON with sorted keys, is the canonical config that enters the trial key, together with
PEFT's version (a new PEFT may change a default or a method's init, so its results are not reused across versions).

The worker never merges an adapter: evaluation runs the unmerged ``PeftModel``, so methods whose layers cannot be
merged train and evaluate like any other. Adapters are saved with
``save_pretrained``; a method whose save or reload fails fails its trial with that message.
"""

from __future__ import annotations

import json
from importlib.metadata import version

from peft import PeftConfig, PromptLearningConfig, TaskType
from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

from ..errors import FailedPrecondition, InvalidArgument
from .trial import Trial

# Adapter methods whose training needs a call per step that the worker's loop does not make (AdaLoRA's rank
# allocator ``update_and_allocate``).
_NEEDS_OWN_LOOP = ("ADALORA",)

# Fields of ``to_dict()`` that describe where an adapter came from or how it is loaded, not what trains.
_NOT_CANONICAL = ("base_model_name_or_path", "revision", "inference_mode", "peft_version", "auto_mapping")


def installed_peft_version() -> str:
    return version("peft")


def _fields(trial: Trial) -> dict:
    try:
        fields = json.loads(trial.msg.peft.config_json)
    except ValueError as err:
        raise InvalidArgument(f"trial {trial.name}: peft.config_json is not JSON: {err}") from err
    if not isinstance(fields, dict) or not isinstance(fields.get("peft_type"), str):
        raise InvalidArgument(f"trial {trial.name}: the peft config needs peft_type, one of {', '.join(_types())}")
    return fields


def _types() -> list[str]:
    return sorted(str(k.value if hasattr(k, "value") else k) for k in PEFT_TYPE_TO_CONFIG_MAPPING)


def peft_entry_config(trial: Trial) -> PeftConfig:
    """Builds the trial's PEFT config; the trial's target modules and task type apply unless the entry sets them."""
    fields = _fields(trial)
    peft_type = fields.pop("peft_type").upper()
    cls = PEFT_TYPE_TO_CONFIG_MAPPING.get(peft_type)
    if cls is None:
        known = ", ".join(_types())
        peft = f"PEFT {installed_peft_version()}"
        raise InvalidArgument(f"peft_type {peft_type!r} is not a method of {peft}: use one of {known}")
    # The training loop is the one of adapter methods: it neither feeds virtual tokens nor calls a rank allocator.
    if issubclass(cls, PromptLearningConfig) or peft_type in _NEEDS_OWN_LOOP:
        raise InvalidArgument(f"peft_type {peft_type} needs its own training loop, which the worker does not run: use "
                              "an adapter method on target_modules (LOKR, LOHA, FOURIERFT, VBLORA, IA3, ...)")
    fields.setdefault("target_modules", list(trial.target_modules))
    fields.setdefault("task_type", TaskType.CAUSAL_LM if trial.task_type == "causal_lm" else TaskType.SEQ_CLS)
    try:
        config = cls(**fields)
    except (TypeError, ValueError) as err:  # an unknown keyword or a bad value: PEFT names it
        raise InvalidArgument(f"{cls.__name__}: {err}") from err
    return config


def canonical_config_json(config: PeftConfig) -> str:
    """``to_dict()`` without the loading fields, as sorted JSON (sets as sorted lists, enums by value, whole floats
    as integers)."""
    data = {k: v for k, v in config.to_dict().items() if k not in _NOT_CANONICAL}

    def plain(value):
        if isinstance(value, (set, frozenset)):
            return sorted(plain(v) for v in value)
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, float) and value.is_integer():  # 8.0 and 8 are one setting (JSON has one number type)
            return int(value)
        if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
            return value.value
        return value

    return json.dumps(plain(data), sort_keys=True, separators=(",", ":"))


def check_peft_version(trial: Trial) -> None:
    """Refuses a trial canonicalised by another PEFT: its key promises that version's defaults and init."""
    planned = trial.msg.peft.peft_version
    mine = installed_peft_version()
    if planned != mine:
        raise FailedPrecondition(
            f"trial {trial.name} was planned with PEFT {planned or '(not validated)'}, but this worker has PEFT "
            f"{mine}: submit the sweep again so a worker validates it, or run workers with PEFT {planned}"
        )

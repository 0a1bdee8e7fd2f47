"""The worker's view of a trial: a thin, typed, read-only view of the proto ``Trial`` (the one definition of a
trial), validated once. Unset optional settings read as their defaults from ``proto/trial-defaults.json``."""

from __future__ import annotations

from bslora_api.worker.v1 import worker_service_pb2 as pb

from ..errors import FailedPrecondition, InvalidArgument
from ..contract_files import METHODS, SHARE_MODES, TASK_TYPES, method_versions, trial_defaults
from .adapter_scaling import AdapterScaling


def _enum_setting(enum, prefix: str, value: int, default: str, what: str) -> str:
    """The spec name of a proto enum value (``LR_SCHEDULER_COSINE`` is ``cosine``); ``default`` when unset."""
    if value == 0:
        return default
    try:
        return enum.Name(value).removeprefix(prefix).lower()
    except ValueError as err:
        raise InvalidArgument(f"trial.{what} has the unknown value {value}: a newer control plane than this worker") from err


class Trial:
    """Wraps a ``pb.Trial``; every property reads the message (nothing is copied)."""

    __slots__ = ("msg",)

    def __init__(self, msg: pb.Trial):
        self.msg = msg
        self._validate()

    @classmethod
    def from_proto(cls, msg: pb.Trial) -> "Trial":
        return cls(msg)

    def with_steps(self, steps: int) -> "Trial":
        """A copy whose training runs ``steps`` optimizer steps (for trials given in epochs)."""
        msg = pb.Trial()
        msg.CopyFrom(self.msg)
        msg.training.steps = steps
        return Trial(msg)

    # -- identity
    @property
    def trial_key(self) -> str:
        return self.msg.trial_key

    @property
    def name(self) -> str:
        return self.msg.name

    @property
    def method(self) -> str:
        """``bslora``, ``lora``, ``vera``, ``base`` or ``peft`` (the case of the ``method`` oneof); ``""`` when unset."""
        return self.msg.WhichOneof("method") or ""

    @property
    def method_version(self) -> str:
        return self.msg.method_version

    @property
    def seed(self) -> int:
        return self.msg.seed

    # -- data and model
    @property
    def base_model(self) -> str:
        return self.msg.base_model

    @property
    def task_type(self) -> str:
        if self.msg.task_type == pb.TASK_TYPE_UNSPECIFIED:
            return trial_defaults()["task_type"]
        return pb.TaskType.Name(self.msg.task_type).removeprefix("TASK_TYPE_").lower()

    @property
    def train_data(self) -> str:
        return self.msg.train_data

    @property
    def eval_tasks(self) -> tuple[str, ...]:
        return tuple(self.msg.eval_tasks)

    @property
    def target_modules(self) -> tuple[str, ...]:
        return tuple(self.msg.target_modules)

    # -- method settings
    @property
    def settings(self):
        """The method's settings message (``pb.LoraSettings``, ``pb.BSLoraSettings``, ...)."""
        return getattr(self.msg, self.method)

    @property
    def rank(self) -> int:
        """LoRA / VeRA rank (0 for other methods)."""
        return self.settings.rank if self.method in ("lora", "vera") else 0

    @property
    def r_local(self) -> int:
        return self.msg.bslora.ranks.local if self.method == "bslora" else 0

    @property
    def r_intra(self) -> int:
        return self.msg.bslora.ranks.intra if self.method == "bslora" else 0

    @property
    def r_inter(self) -> int:
        return self.msg.bslora.ranks.inter if self.method == "bslora" else 0

    @property
    def share_mode(self) -> str:
        """``slice``, ``gate`` or ``kron`` (the case of BSLoRA's ``share`` oneof); ``""`` for other methods."""
        return (self.msg.bslora.WhichOneof("share") or "") if self.method == "bslora" else ""

    @property
    def share_size(self) -> int | None:
        """S of a gate or kron trial; ``None`` otherwise."""
        mode = self.share_mode
        return getattr(self.msg.bslora, mode).share_size if mode in ("gate", "kron") else None

    @property
    def lora_alpha(self) -> float | None:
        """Scaling numerator of lora and bslora (``None`` for vera and base)."""
        if self.method not in ("lora", "bslora"):
            return None
        if self.settings.HasField("lora_alpha"):
            return self.settings.lora_alpha
        defaults = trial_defaults()
        if self.method == "lora":
            return defaults["lora"]["lora_alpha_per_rank"] * self.rank
        return defaults["bslora"]["lora_alpha"]

    @property
    def lora_dropout(self) -> float:
        if self.method in ("base", "peft"):  # a peft trial's dropout, if any, is in its config
            return 0.0
        if self.settings.HasField("lora_dropout"):
            return self.settings.lora_dropout
        return trial_defaults()["adapter"]["lora_dropout"]

    @property
    def scaling(self) -> AdapterScaling | None:
        """The scale rule of lora and bslora (``None`` for vera and base); the default when the message has none."""
        if self.method not in ("lora", "bslora"):
            return None
        msg = self.settings.scaling
        if not self.settings.HasField("scaling") or msg.mode == pb.SCALING_MODE_UNSPECIFIED:
            return AdapterScaling.from_setting(trial_defaults()["adapter"]["scaling"])
        mode = _enum_setting(pb.ScalingMode, "SCALING_MODE_", msg.mode, "", f"{self.method}.scaling.mode")
        if mode == "fixed" and not msg.HasField("fixed"):
            raise InvalidArgument(f"trial.{self.method}.scaling is fixed without a scale: set scaling.fixed, e.g. 2")
        return AdapterScaling(mode, msg.fixed if mode == "fixed" else 0.0)

    @property
    def kron_shared_dropout(self) -> bool:
        """Dropout on BSLoRA's shared kron path too (``False``: the reference, the local path only)."""
        if self.share_mode == "kron" and self.msg.bslora.kron.HasField("shared_dropout"):
            return self.msg.bslora.kron.shared_dropout
        return trial_defaults()["bslora"]["kron_shared_dropout"]

    def adapter_setting(self, name: str):
        """A field of the method's settings message, or its default (the method's own, else ``adapter``'s) from
        trial-defaults.json when the message leaves it unset. ``scaling`` reads in the spec's form."""
        if name == "scaling":
            scaling = self.scaling
            return scaling.as_setting() if scaling is not None else None
        if self.settings.HasField(name):
            return getattr(self.settings, name)
        defaults = trial_defaults()
        return defaults.get(self.method, {}).get(name, defaults["adapter"].get(name))

    # -- training
    def training_setting(self, name: str):
        """A ``TrainingSettings`` field, or its default from trial-defaults.json when the message leaves it unset.
        Enum settings (``lr_scheduler``, ``prompt_template``) read as their spec names."""
        if name in ("lr_scheduler", "prompt_template"):
            return getattr(self, name)
        if self.msg.training.HasField(name):
            return getattr(self.msg.training, name)
        return trial_defaults()["training"].get(name)

    @property
    def steps(self) -> int:
        """Optimizer steps; 0 when the trial is given in epochs."""
        return self.msg.training.steps if self.msg.training.WhichOneof("length") == "steps" else 0

    @property
    def epochs(self) -> float:
        return self.msg.training.epochs if self.msg.training.WhichOneof("length") == "epochs" else 0.0

    @property
    def learning_rate(self) -> float:
        return self.msg.training.learning_rate

    @property
    def batch_size(self) -> int:
        return self.msg.training.batch_size

    @property
    def seq_len(self) -> int:
        return self.msg.training.seq_len

    @property
    def warmup_steps(self) -> int:
        """Linear warm-up steps; 0 means none."""
        return self.training_setting("warmup_steps")

    @property
    def eval_limit(self) -> int:
        """Items per eval task; 0 means all."""
        return self.training_setting("eval_limit") or 0

    @property
    def checkpoint_every(self) -> int:
        """Steps between checkpoints; 0 means never."""
        return self.training_setting("checkpoint_every") or 0

    @property
    def lr_scheduler(self) -> str:
        """``linear``, ``cosine`` or ``constant_with_warmup`` (transformers' scheduler names)."""
        return _enum_setting(pb.LrScheduler, "LR_SCHEDULER_", self.msg.training.lr_scheduler,
                             trial_defaults()["training"]["lr_scheduler"], "training.lr_scheduler")

    @property
    def micro_batch_size(self) -> int:
        """Examples per forward pass; 0 means the whole batch (no gradient accumulation)."""
        return self.training_setting("micro_batch_size") or 0

    @property
    def train_on_inputs(self) -> bool:
        """True: the loss is on the prompt's tokens too; False: on the completion only."""
        return bool(self.training_setting("train_on_inputs"))

    @property
    def prompt_template(self) -> str:
        """``alpaca``, ``alpaca_short`` or ``none`` (``data.formats.PROMPT_TEMPLATES``)."""
        return _enum_setting(pb.PromptTemplate, "PROMPT_TEMPLATE_", self.msg.training.prompt_template,
                             trial_defaults()["training"]["prompt_template"], "training.prompt_template")

    @property
    def gradient_checkpointing(self) -> bool:
        """Recompute the base model's activations in the backward pass (trials/memory.py)."""
        return bool(self.training_setting("gradient_checkpointing"))

    @property
    def bf16_autocast(self) -> bool:
        """Forward and backward under bfloat16 autocast (trials/memory.py)."""
        return bool(self.training_setting("bf16_autocast"))

    @property
    def validation_holdout(self) -> int:
        """Training examples held out as the validation split (trials/validation_split.py); 0 means none."""
        return self.training_setting("validation_holdout") or 0

    @property
    def stop_after_steps(self) -> int:
        """Where this call stops within the ``steps`` of its schedule (a search's rung); 0 means at ``steps``."""
        return self.training_setting("stop_after_steps") or 0

    def __repr__(self) -> str:
        return f"Trial({self.name!r}, method={self.method!r}, key={self.trial_key[:12]!r})"

    def _validate(self) -> None:
        if not self.trial_key:
            raise InvalidArgument("trial.trial_key is empty: the control plane must send the trial's key")
        if self.method not in METHODS:
            raise InvalidArgument(f"trial.method is not set: set one of {', '.join(METHODS)}")
        if self.msg.task_type != pb.TASK_TYPE_UNSPECIFIED and self.task_type not in TASK_TYPES:
            raise InvalidArgument(f"trial.task_type {self.msg.task_type} is not one of {', '.join(TASK_TYPES)}")
        if self.method == "bslora":
            if self.share_mode not in SHARE_MODES:
                raise InvalidArgument(f"trial.bslora.share is not set: set one of {', '.join(SHARE_MODES)}")
            if self.share_size is not None and self.share_size <= 0:
                raise InvalidArgument(f"trial.bslora.{self.share_mode}.share_size must be positive, got {self.share_size}")
            if self.r_local + self.r_intra + self.r_inter <= 0:
                raise InvalidArgument("trial.bslora.ranks are all 0: give BSLoRA at least one positive rank")
        if self.method == "peft" and not (self.msg.peft.name and self.msg.peft.config_json):
            raise InvalidArgument("trial.peft needs a name and a config_json (the PEFT config's fields as JSON)")
        if self.method in ("lora", "vera") and self.rank <= 0:
            raise InvalidArgument(f"trial.{self.method}.rank must be positive, got {self.rank}")
        if self.method in ("lora", "bslora"):
            self.scaling  # noqa: B018 - raises InvalidArgument for a bad scale rule
        if self.micro_batch_size < 0 or self.micro_batch_size > max(self.batch_size, 0):
            raise InvalidArgument(
                f"trial.training.micro_batch_size {self.micro_batch_size} must lie in 1..batch_size ({self.batch_size})"
            )
        self.lr_scheduler, self.prompt_template  # noqa: B018 - raise InvalidArgument for unknown enum values
        if self.method != "base":
            if self.steps <= 0 and not self.epochs > 0:
                raise InvalidArgument(
                    f"trial.training.steps must be positive (or epochs given), got steps={self.steps}, epochs={self.epochs}"
                )
            if self.batch_size <= 0:
                raise InvalidArgument(f"trial.training.batch_size must be positive, got {self.batch_size}")
            if not self.learning_rate > 0:
                raise InvalidArgument(f"trial.training.learning_rate must be positive, got {self.learning_rate}")
            if not self.target_modules:
                raise InvalidArgument("trial.target_modules is empty: name the modules to adapt, e.g. q_proj")
        if self.seq_len <= 0:
            raise InvalidArgument(f"trial.training.seq_len must be positive, got {self.seq_len}")


def check_method_version(trial: Trial) -> None:
    """Refuses a trial planned for another version of its method than this worker implements: its key promises
    results of that version, so running it here would store results under the wrong key."""
    mine = method_versions().get(trial.method)
    if trial.method_version != mine:
        raise FailedPrecondition(
            f"trial {trial.name} was planned for {trial.method} version {trial.method_version!r}, but this worker "
            f"implements {mine!r} (proto/method-versions.json): run a worker and a control plane of the same release"
        )

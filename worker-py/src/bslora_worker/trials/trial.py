"""The worker's view of a trial: a frozen dataclass built from the proto ``TrialSpec`` and validated once."""

from __future__ import annotations

from dataclasses import dataclass, field

from bslora_api.worker.v1 import worker_service_pb2 as pb

from ..errors import InvalidArgument

METHODS = ("bslora", "lora", "vera", "base")
SHARE_MODES = ("slice", "gate", "kron")
TASK_TYPES = ("causal_lm", "seq_cls")


@dataclass(frozen=True)
class Trial:
    trial_key: str
    name: str
    method: str
    base_model: str
    task_type: str
    train_data: str
    eval_tasks: tuple[str, ...]
    target_modules: tuple[str, ...]
    steps: int
    learning_rate: float
    batch_size: int
    seq_len: int
    seed: int
    r_local: int = 0
    r_intra: int = 0
    r_inter: int = 0
    rank: int = 0
    share_mode: str = ""
    kron_share_size: int = 0
    gate_share_size: int = 0
    lora_alpha: float = 0.0
    lora_dropout: float = 0.0
    eval_limit: int = 0
    checkpoint_every: int = 0
    warmup_steps: int = 0
    epochs: float = 0.0
    method_version: str = ""
    # adapter.scaling as "fixed:<s>", "alpha_over_rank" or "rslora"; "" is the default (fixed:2)
    scaling: str = ""
    # dropout on BSLoRA's shared kron path too (False: the reference, dropout on the local path only)
    kron_shared_dropout: bool = True
    # training.lr_scheduler: linear | cosine | constant_with_warmup ("" = linear)
    lr_scheduler: str = ""
    # examples per forward pass; batch_size / micro_batch_size micro-batches per optimizer step (0 = batch_size)
    micro_batch_size: int = 0
    # False: the loss is on the completion only (the prompt's labels are masked)
    train_on_inputs: bool = False
    # how instruction records become prompts: alpaca | alpaca_short | none ("" = alpaca)
    prompt_template: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.trial_key:
            raise InvalidArgument("trial.trial_key is empty: the control plane must send the trial's key")
        if self.method not in METHODS:
            raise InvalidArgument(f"trial.method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.task_type not in TASK_TYPES:
            raise InvalidArgument(f"trial.task_type {self.task_type!r} is not one of {', '.join(TASK_TYPES)}")
        if self.method == "bslora":
            if self.share_mode not in SHARE_MODES:
                raise InvalidArgument(
                    f"trial.share_mode {self.share_mode!r} is not one of {', '.join(SHARE_MODES)} (method bslora)"
                )
            if self.r_local + self.r_intra + self.r_inter <= 0:
                raise InvalidArgument("trial.ranks are all 0: give BSLoRA at least one positive rank")
        if self.method in ("lora", "vera") and self.rank <= 0:
            raise InvalidArgument(f"trial.rank must be positive for method {self.method}, got {self.rank}")
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

    @classmethod
    def from_proto(cls, spec: pb.TrialSpec) -> "Trial":
        t = spec.training
        return cls(
            trial_key=spec.trial_key,
            name=spec.name,
            method=spec.method,
            base_model=spec.base_model,
            task_type=spec.task_type or "causal_lm",
            train_data=spec.train_data,
            eval_tasks=tuple(spec.eval_tasks),
            target_modules=tuple(spec.target_modules),
            steps=t.steps,
            learning_rate=t.learning_rate,
            batch_size=t.batch_size,
            seq_len=t.seq_len or 128,
            seed=spec.seed,
            r_local=spec.ranks.local,
            r_intra=spec.ranks.intra,
            r_inter=spec.ranks.inter,
            rank=spec.rank,
            share_mode=spec.share_mode,
            kron_share_size=spec.kron_share_size,
            gate_share_size=spec.gate_share_size,
            lora_alpha=spec.lora_alpha,
            lora_dropout=spec.lora_dropout,
            eval_limit=t.eval_limit,
            checkpoint_every=t.checkpoint_every,
            warmup_steps=t.warmup_steps,
            epochs=t.epochs,
            method_version=spec.method_version,
        )

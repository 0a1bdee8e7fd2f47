from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Method(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METHOD_UNSPECIFIED: _ClassVar[Method]
    METHOD_BSLORA: _ClassVar[Method]
    METHOD_LORA: _ClassVar[Method]
    METHOD_VERA: _ClassVar[Method]
    METHOD_BASE: _ClassVar[Method]
    METHOD_PEFT: _ClassVar[Method]

class ShareMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHARE_MODE_UNSPECIFIED: _ClassVar[ShareMode]
    SHARE_MODE_SLICE: _ClassVar[ShareMode]
    SHARE_MODE_GATE: _ClassVar[ShareMode]
    SHARE_MODE_KRON: _ClassVar[ShareMode]

class TaskType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_TYPE_UNSPECIFIED: _ClassVar[TaskType]
    TASK_TYPE_CAUSAL_LM: _ClassVar[TaskType]
    TASK_TYPE_SEQ_CLS: _ClassVar[TaskType]

class ScalingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALING_MODE_UNSPECIFIED: _ClassVar[ScalingMode]
    SCALING_MODE_FIXED: _ClassVar[ScalingMode]
    SCALING_MODE_ALPHA_OVER_RANK: _ClassVar[ScalingMode]
    SCALING_MODE_RSLORA: _ClassVar[ScalingMode]

class LrScheduler(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LR_SCHEDULER_UNSPECIFIED: _ClassVar[LrScheduler]
    LR_SCHEDULER_LINEAR: _ClassVar[LrScheduler]
    LR_SCHEDULER_COSINE: _ClassVar[LrScheduler]
    LR_SCHEDULER_CONSTANT_WITH_WARMUP: _ClassVar[LrScheduler]

class PromptTemplate(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMPT_TEMPLATE_UNSPECIFIED: _ClassVar[PromptTemplate]
    PROMPT_TEMPLATE_ALPACA: _ClassVar[PromptTemplate]
    PROMPT_TEMPLATE_ALPACA_SHORT: _ClassVar[PromptTemplate]
    PROMPT_TEMPLATE_NONE: _ClassVar[PromptTemplate]
METHOD_UNSPECIFIED: Method
METHOD_BSLORA: Method
METHOD_LORA: Method
METHOD_VERA: Method
METHOD_BASE: Method
METHOD_PEFT: Method
SHARE_MODE_UNSPECIFIED: ShareMode
SHARE_MODE_SLICE: ShareMode
SHARE_MODE_GATE: ShareMode
SHARE_MODE_KRON: ShareMode
TASK_TYPE_UNSPECIFIED: TaskType
TASK_TYPE_CAUSAL_LM: TaskType
TASK_TYPE_SEQ_CLS: TaskType
SCALING_MODE_UNSPECIFIED: ScalingMode
SCALING_MODE_FIXED: ScalingMode
SCALING_MODE_ALPHA_OVER_RANK: ScalingMode
SCALING_MODE_RSLORA: ScalingMode
LR_SCHEDULER_UNSPECIFIED: LrScheduler
LR_SCHEDULER_LINEAR: LrScheduler
LR_SCHEDULER_COSINE: LrScheduler
LR_SCHEDULER_CONSTANT_WITH_WARMUP: LrScheduler
PROMPT_TEMPLATE_UNSPECIFIED: PromptTemplate
PROMPT_TEMPLATE_ALPACA: PromptTemplate
PROMPT_TEMPLATE_ALPACA_SHORT: PromptTemplate
PROMPT_TEMPLATE_NONE: PromptTemplate

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Device(_message.Message):
    __slots__ = ("name", "kind", "total_memory_bytes", "free_memory_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    FREE_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    total_memory_bytes: int
    free_memory_bytes: int
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., total_memory_bytes: _Optional[int] = ..., free_memory_bytes: _Optional[int] = ...) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("worker_id", "devices", "versions", "capacity", "resident_models", "held_adapters", "method_versions")
    class VersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_MODELS_FIELD_NUMBER: _ClassVar[int]
    HELD_ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    METHOD_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    versions: _containers.ScalarMap[str, str]
    capacity: int
    resident_models: _containers.RepeatedScalarFieldContainer[str]
    held_adapters: _containers.RepeatedScalarFieldContainer[str]
    method_versions: _containers.RepeatedCompositeFieldContainer[MethodVersion]
    def __init__(self, worker_id: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ..., versions: _Optional[_Mapping[str, str]] = ..., capacity: _Optional[int] = ..., resident_models: _Optional[_Iterable[str]] = ..., held_adapters: _Optional[_Iterable[str]] = ..., method_versions: _Optional[_Iterable[_Union[MethodVersion, _Mapping]]] = ...) -> None: ...

class MethodVersion(_message.Message):
    __slots__ = ("method", "version")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    method: Method
    version: str
    def __init__(self, method: _Optional[_Union[Method, str]] = ..., version: _Optional[str] = ...) -> None: ...

class BSLoraRanks(_message.Message):
    __slots__ = ("local", "intra", "inter")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    INTRA_FIELD_NUMBER: _ClassVar[int]
    INTER_FIELD_NUMBER: _ClassVar[int]
    local: int
    intra: int
    inter: int
    def __init__(self, local: _Optional[int] = ..., intra: _Optional[int] = ..., inter: _Optional[int] = ...) -> None: ...

class SliceSharing(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GateSharing(_message.Message):
    __slots__ = ("share_size",)
    SHARE_SIZE_FIELD_NUMBER: _ClassVar[int]
    share_size: int
    def __init__(self, share_size: _Optional[int] = ...) -> None: ...

class KronSharing(_message.Message):
    __slots__ = ("share_size", "shared_dropout")
    SHARE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHARED_DROPOUT_FIELD_NUMBER: _ClassVar[int]
    share_size: int
    shared_dropout: bool
    def __init__(self, share_size: _Optional[int] = ..., shared_dropout: _Optional[bool] = ...) -> None: ...

class AdapterScaling(_message.Message):
    __slots__ = ("mode", "fixed")
    MODE_FIELD_NUMBER: _ClassVar[int]
    FIXED_FIELD_NUMBER: _ClassVar[int]
    mode: ScalingMode
    fixed: float
    def __init__(self, mode: _Optional[_Union[ScalingMode, str]] = ..., fixed: _Optional[float] = ...) -> None: ...

class BSLoraSettings(_message.Message):
    __slots__ = ("ranks", "slice", "gate", "kron", "lora_alpha", "lora_dropout", "scaling")
    RANKS_FIELD_NUMBER: _ClassVar[int]
    SLICE_FIELD_NUMBER: _ClassVar[int]
    GATE_FIELD_NUMBER: _ClassVar[int]
    KRON_FIELD_NUMBER: _ClassVar[int]
    LORA_ALPHA_FIELD_NUMBER: _ClassVar[int]
    LORA_DROPOUT_FIELD_NUMBER: _ClassVar[int]
    SCALING_FIELD_NUMBER: _ClassVar[int]
    ranks: BSLoraRanks
    slice: SliceSharing
    gate: GateSharing
    kron: KronSharing
    lora_alpha: float
    lora_dropout: float
    scaling: AdapterScaling
    def __init__(self, ranks: _Optional[_Union[BSLoraRanks, _Mapping]] = ..., slice: _Optional[_Union[SliceSharing, _Mapping]] = ..., gate: _Optional[_Union[GateSharing, _Mapping]] = ..., kron: _Optional[_Union[KronSharing, _Mapping]] = ..., lora_alpha: _Optional[float] = ..., lora_dropout: _Optional[float] = ..., scaling: _Optional[_Union[AdapterScaling, _Mapping]] = ...) -> None: ...

class LoraSettings(_message.Message):
    __slots__ = ("rank", "lora_alpha", "lora_dropout", "scaling")
    RANK_FIELD_NUMBER: _ClassVar[int]
    LORA_ALPHA_FIELD_NUMBER: _ClassVar[int]
    LORA_DROPOUT_FIELD_NUMBER: _ClassVar[int]
    SCALING_FIELD_NUMBER: _ClassVar[int]
    rank: int
    lora_alpha: float
    lora_dropout: float
    scaling: AdapterScaling
    def __init__(self, rank: _Optional[int] = ..., lora_alpha: _Optional[float] = ..., lora_dropout: _Optional[float] = ..., scaling: _Optional[_Union[AdapterScaling, _Mapping]] = ...) -> None: ...

class VeraSettings(_message.Message):
    __slots__ = ("rank", "lora_dropout")
    RANK_FIELD_NUMBER: _ClassVar[int]
    LORA_DROPOUT_FIELD_NUMBER: _ClassVar[int]
    rank: int
    lora_dropout: float
    def __init__(self, rank: _Optional[int] = ..., lora_dropout: _Optional[float] = ...) -> None: ...

class BaseSettings(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PeftSettings(_message.Message):
    __slots__ = ("name", "config_json", "peft_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    PEFT_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    config_json: str
    peft_version: str
    def __init__(self, name: _Optional[str] = ..., config_json: _Optional[str] = ..., peft_version: _Optional[str] = ...) -> None: ...

class TrainingSettings(_message.Message):
    __slots__ = ("steps", "epochs", "learning_rate", "batch_size", "seq_len", "warmup_steps", "eval_limit", "checkpoint_every", "lr_scheduler", "micro_batch_size", "train_on_inputs", "prompt_template", "gradient_checkpointing", "bf16_autocast", "validation_holdout", "stop_after_steps")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEQ_LEN_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    EVAL_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_FIELD_NUMBER: _ClassVar[int]
    LR_SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    MICRO_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ON_INPUTS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_CHECKPOINTING_FIELD_NUMBER: _ClassVar[int]
    BF16_AUTOCAST_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_HOLDOUT_FIELD_NUMBER: _ClassVar[int]
    STOP_AFTER_STEPS_FIELD_NUMBER: _ClassVar[int]
    steps: int
    epochs: float
    learning_rate: float
    batch_size: int
    seq_len: int
    warmup_steps: int
    eval_limit: int
    checkpoint_every: int
    lr_scheduler: LrScheduler
    micro_batch_size: int
    train_on_inputs: bool
    prompt_template: PromptTemplate
    gradient_checkpointing: bool
    bf16_autocast: bool
    validation_holdout: int
    stop_after_steps: int
    def __init__(self, steps: _Optional[int] = ..., epochs: _Optional[float] = ..., learning_rate: _Optional[float] = ..., batch_size: _Optional[int] = ..., seq_len: _Optional[int] = ..., warmup_steps: _Optional[int] = ..., eval_limit: _Optional[int] = ..., checkpoint_every: _Optional[int] = ..., lr_scheduler: _Optional[_Union[LrScheduler, str]] = ..., micro_batch_size: _Optional[int] = ..., train_on_inputs: _Optional[bool] = ..., prompt_template: _Optional[_Union[PromptTemplate, str]] = ..., gradient_checkpointing: _Optional[bool] = ..., bf16_autocast: _Optional[bool] = ..., validation_holdout: _Optional[int] = ..., stop_after_steps: _Optional[int] = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ("trial_key", "name", "bslora", "lora", "vera", "base", "peft", "method_version", "base_model", "task_type", "train_data", "eval_tasks", "target_modules", "training", "seed")
    TRIAL_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BSLORA_FIELD_NUMBER: _ClassVar[int]
    LORA_FIELD_NUMBER: _ClassVar[int]
    VERA_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    PEFT_FIELD_NUMBER: _ClassVar[int]
    METHOD_VERSION_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    TRAIN_DATA_FIELD_NUMBER: _ClassVar[int]
    EVAL_TASKS_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODULES_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    trial_key: str
    name: str
    bslora: BSLoraSettings
    lora: LoraSettings
    vera: VeraSettings
    base: BaseSettings
    peft: PeftSettings
    method_version: str
    base_model: str
    task_type: TaskType
    train_data: str
    eval_tasks: _containers.RepeatedScalarFieldContainer[str]
    target_modules: _containers.RepeatedScalarFieldContainer[str]
    training: TrainingSettings
    seed: int
    def __init__(self, trial_key: _Optional[str] = ..., name: _Optional[str] = ..., bslora: _Optional[_Union[BSLoraSettings, _Mapping]] = ..., lora: _Optional[_Union[LoraSettings, _Mapping]] = ..., vera: _Optional[_Union[VeraSettings, _Mapping]] = ..., base: _Optional[_Union[BaseSettings, _Mapping]] = ..., peft: _Optional[_Union[PeftSettings, _Mapping]] = ..., method_version: _Optional[str] = ..., base_model: _Optional[str] = ..., task_type: _Optional[_Union[TaskType, str]] = ..., train_data: _Optional[str] = ..., eval_tasks: _Optional[_Iterable[str]] = ..., target_modules: _Optional[_Iterable[str]] = ..., training: _Optional[_Union[TrainingSettings, _Mapping]] = ..., seed: _Optional[int] = ...) -> None: ...

class CountParametersRequest(_message.Message):
    __slots__ = ("trial",)
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    trial: Trial
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ...) -> None: ...

class ParameterCounts(_message.Message):
    __slots__ = ("local", "intra", "inter", "transform", "total", "base_total", "head", "footprint")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    INTRA_FIELD_NUMBER: _ClassVar[int]
    INTER_FIELD_NUMBER: _ClassVar[int]
    TRANSFORM_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BASE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    FOOTPRINT_FIELD_NUMBER: _ClassVar[int]
    local: int
    intra: int
    inter: int
    transform: int
    total: int
    base_total: int
    head: int
    footprint: ServingFootprint
    def __init__(self, local: _Optional[int] = ..., intra: _Optional[int] = ..., inter: _Optional[int] = ..., transform: _Optional[int] = ..., total: _Optional[int] = ..., base_total: _Optional[int] = ..., head: _Optional[int] = ..., footprint: _Optional[_Union[ServingFootprint, _Mapping]] = ...) -> None: ...

class ServingFootprint(_message.Message):
    __slots__ = ("adapter_file_bytes", "resident_bytes_bf16", "resident_bytes_fp32", "merged_resident_bytes_bf16", "merged_resident_bytes_fp32", "adapters_per_gib")
    ADAPTER_FILE_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_BYTES_BF16_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_BYTES_FP32_FIELD_NUMBER: _ClassVar[int]
    MERGED_RESIDENT_BYTES_BF16_FIELD_NUMBER: _ClassVar[int]
    MERGED_RESIDENT_BYTES_FP32_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_PER_GIB_FIELD_NUMBER: _ClassVar[int]
    adapter_file_bytes: int
    resident_bytes_bf16: int
    resident_bytes_fp32: int
    merged_resident_bytes_bf16: int
    merged_resident_bytes_fp32: int
    adapters_per_gib: float
    def __init__(self, adapter_file_bytes: _Optional[int] = ..., resident_bytes_bf16: _Optional[int] = ..., resident_bytes_fp32: _Optional[int] = ..., merged_resident_bytes_bf16: _Optional[int] = ..., merged_resident_bytes_fp32: _Optional[int] = ..., adapters_per_gib: _Optional[float] = ...) -> None: ...

class CountParametersResponse(_message.Message):
    __slots__ = ("counts", "canonical_config_json", "peft_version")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    PEFT_VERSION_FIELD_NUMBER: _ClassVar[int]
    counts: ParameterCounts
    canonical_config_json: str
    peft_version: str
    def __init__(self, counts: _Optional[_Union[ParameterCounts, _Mapping]] = ..., canonical_config_json: _Optional[str] = ..., peft_version: _Optional[str] = ...) -> None: ...

class TrainRequest(_message.Message):
    __slots__ = ("trial",)
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    trial: Trial
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ...) -> None: ...

class TrainProgress(_message.Message):
    __slots__ = ("step", "total_steps", "loss", "learning_rate", "tokens_per_second", "eta_seconds")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    step: int
    total_steps: int
    loss: float
    learning_rate: float
    tokens_per_second: float
    eta_seconds: float
    def __init__(self, step: _Optional[int] = ..., total_steps: _Optional[int] = ..., loss: _Optional[float] = ..., learning_rate: _Optional[float] = ..., tokens_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ...) -> None: ...

class AdapterChunk(_message.Message):
    __slots__ = ("sha256", "offset", "data", "total_size")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    offset: int
    data: bytes
    total_size: int
    def __init__(self, sha256: _Optional[str] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ..., total_size: _Optional[int] = ...) -> None: ...

class TrainResult(_message.Message):
    __slots__ = ("trial_key", "counts", "initial_loss", "final_loss", "steps", "wall_seconds", "peak_memory_bytes", "versions", "device", "seed", "adapter_sha256", "adapter_size", "resumed_from_step", "validation_loss", "validation_examples")
    class VersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TRIAL_KEY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    FINAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_SHA256_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_SIZE_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FROM_STEP_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    trial_key: str
    counts: ParameterCounts
    initial_loss: float
    final_loss: float
    steps: int
    wall_seconds: float
    peak_memory_bytes: int
    versions: _containers.ScalarMap[str, str]
    device: str
    seed: int
    adapter_sha256: str
    adapter_size: int
    resumed_from_step: int
    validation_loss: float
    validation_examples: int
    def __init__(self, trial_key: _Optional[str] = ..., counts: _Optional[_Union[ParameterCounts, _Mapping]] = ..., initial_loss: _Optional[float] = ..., final_loss: _Optional[float] = ..., steps: _Optional[int] = ..., wall_seconds: _Optional[float] = ..., peak_memory_bytes: _Optional[int] = ..., versions: _Optional[_Mapping[str, str]] = ..., device: _Optional[str] = ..., seed: _Optional[int] = ..., adapter_sha256: _Optional[str] = ..., adapter_size: _Optional[int] = ..., resumed_from_step: _Optional[int] = ..., validation_loss: _Optional[float] = ..., validation_examples: _Optional[int] = ...) -> None: ...

class TrainEvent(_message.Message):
    __slots__ = ("progress", "adapter_chunk", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_CHUNK_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: TrainProgress
    adapter_chunk: AdapterChunk
    result: TrainResult
    def __init__(self, progress: _Optional[_Union[TrainProgress, _Mapping]] = ..., adapter_chunk: _Optional[_Union[AdapterChunk, _Mapping]] = ..., result: _Optional[_Union[TrainResult, _Mapping]] = ...) -> None: ...

class UploadAdapterResponse(_message.Message):
    __slots__ = ("sha256", "size")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("trial", "adapter_sha256")
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_SHA256_FIELD_NUMBER: _ClassVar[int]
    trial: Trial
    adapter_sha256: str
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ..., adapter_sha256: _Optional[str] = ...) -> None: ...

class TaskMetrics(_message.Message):
    __slots__ = ("task", "acc", "acc_norm", "n", "item_correct")
    TASK_FIELD_NUMBER: _ClassVar[int]
    ACC_FIELD_NUMBER: _ClassVar[int]
    ACC_NORM_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    ITEM_CORRECT_FIELD_NUMBER: _ClassVar[int]
    task: str
    acc: float
    acc_norm: float
    n: int
    item_correct: bytes
    def __init__(self, task: _Optional[str] = ..., acc: _Optional[float] = ..., acc_norm: _Optional[float] = ..., n: _Optional[int] = ..., item_correct: _Optional[bytes] = ...) -> None: ...

class EvaluateProgress(_message.Message):
    __slots__ = ("task", "done", "total")
    TASK_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    task: str
    done: int
    total: int
    def __init__(self, task: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class EvaluateResult(_message.Message):
    __slots__ = ("trial_key", "tasks", "wall_seconds")
    TRIAL_KEY_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    trial_key: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskMetrics]
    wall_seconds: float
    def __init__(self, trial_key: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskMetrics, _Mapping]]] = ..., wall_seconds: _Optional[float] = ...) -> None: ...

class EvaluateEvent(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: EvaluateProgress
    result: EvaluateResult
    def __init__(self, progress: _Optional[_Union[EvaluateProgress, _Mapping]] = ..., result: _Optional[_Union[EvaluateResult, _Mapping]] = ...) -> None: ...

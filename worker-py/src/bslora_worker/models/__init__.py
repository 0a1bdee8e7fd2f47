"""Base models and tokenizers for the worker: ``load_base_model(ref, task_type)`` -> ``LoadedBase``."""

from .loading import (
    BUILTIN_MODELS,
    SMOLLM2_INSTALL,
    TASK_TYPES,
    LoadedBase,
    load_base_model,
    smollm2_gguf_path,
    tiny_llama_config,
)
from .tokenizers import ByteTokenizer, HFTextTokenizer, TextTokenizer

__all__ = [
    "BUILTIN_MODELS",
    "SMOLLM2_INSTALL",
    "TASK_TYPES",
    "ByteTokenizer",
    "HFTextTokenizer",
    "LoadedBase",
    "TextTokenizer",
    "load_base_model",
    "smollm2_gguf_path",
    "tiny_llama_config",
]

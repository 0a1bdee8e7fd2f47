"""Base models and tokenizers for the worker: ``load_base_model(ref, task_type)`` -> ``LoadedBase``."""

from .loading import (
    BUILTIN_MODELS,
    SMOLLM2_INSTALL,
    TASK_TYPES,
    LoadedBase,
    hub_reachable,
    load_base_config,
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
    "hub_reachable",
    "load_base_config",
    "load_base_model",
    "smollm2_gguf_path",
    "tiny_llama_config",
]

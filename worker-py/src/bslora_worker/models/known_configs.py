"""Shapes of well-known hub models, so parameters can be counted (and sweeps planned) without the hub or weights.

Only architecture sizes are recorded here (public facts from each model's config.json); counting builds the model on
the meta device, so a 70B shape costs nothing.
"""

from __future__ import annotations

from transformers import LlamaConfig

_LLAMA = {
    # hub id: (hidden, intermediate, layers, heads, kv heads, vocab)
    "huggyllama/llama-7b": (4096, 11008, 32, 32, 32, 32000),
    "huggyllama/llama-13b": (5120, 13824, 40, 40, 40, 32000),
    "meta-llama/Llama-2-7b-hf": (4096, 11008, 32, 32, 32, 32000),
    "meta-llama/Llama-2-13b-hf": (5120, 13824, 40, 40, 40, 32000),
    "meta-llama/Llama-2-70b-hf": (8192, 28672, 80, 64, 8, 32000),
    "meta-llama/Meta-Llama-3-8B": (4096, 14336, 32, 32, 8, 128256),
    "meta-llama/Meta-Llama-3-70B": (8192, 28672, 80, 64, 8, 128256),
    "meta-llama/Llama-3.1-8B": (4096, 14336, 32, 32, 8, 128256),
}


def known_config(ref: str) -> LlamaConfig | None:
    shape = _LLAMA.get(ref)
    if shape is None:
        return None
    hidden, inter, layers, heads, kv, vocab = shape
    return LlamaConfig(
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        vocab_size=vocab,
        architectures=["LlamaForCausalLM"],
    )


KNOWN_MODELS = tuple(_LLAMA)

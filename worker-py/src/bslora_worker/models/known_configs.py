"""Shapes of well-known hub models, so parameters can be counted (and sweeps planned) without the hub or weights.

Only architecture sizes are recorded (public facts from each model's config.json), in proto/model-shapes.json;
counting builds the model on the meta device, so a 70B shape costs nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import LlamaConfig


def _hub_shapes() -> dict[str, dict]:
    """The hub entries of proto/model-shapes.json (the control plane counts from the same file)."""
    path = Path(__file__).resolve().parents[4] / "proto" / "model-shapes.json"
    models = json.loads(path.read_text())["models"]
    return {ref: shape for ref, shape in models.items() if not ref.startswith("builtin:")}


_LLAMA = _hub_shapes()


def known_config(ref: str) -> LlamaConfig | None:
    shape = _LLAMA.get(ref)
    if shape is None:
        return None
    return LlamaConfig(
        hidden_size=shape["hidden"],
        intermediate_size=shape["intermediate"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"],
        vocab_size=shape["vocab"],
        tie_word_embeddings=shape["tied"],
        architectures=["LlamaForCausalLM"],
    )


KNOWN_MODELS = tuple(_LLAMA)

"""Tokenizers behind the small `TextTokenizer` protocol that training and evaluation use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

BYTE_TOKENIZER_FILE = "byte_tokenizer.json"


@runtime_checkable
class TextTokenizer(Protocol):
    """What training and evaluation need from a tokenizer. ``encode`` adds no special tokens."""

    eos_token_id: int
    pad_token_id: int
    vocab_size: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


class ByteTokenizer:
    """Offline tokenizer: one id per UTF-8 byte (0..255), then bos, eos and pad.

    Lossless for any text, needs no files, and is what ``builtin:tiny-llama`` uses."""

    NUM_BYTES = 256

    def __init__(self) -> None:
        self.bos_token_id = 256
        self.eos_token_id = 257
        self.pad_token_id = 258
        self.vocab_size = 259

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        return bytes(int(i) for i in ids if 0 <= int(i) < self.NUM_BYTES).decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return self.vocab_size

    def save_pretrained(self, directory: str | Path) -> None:
        """Write a marker file so that ``load_base_model(directory)`` gives this tokenizer back."""
        spec = {"type": "byte", "bos_token_id": 256, "eos_token_id": 257, "pad_token_id": 258, "vocab_size": 259}
        (Path(directory) / BYTE_TOKENIZER_FILE).write_text(json.dumps(spec, indent=2) + "\n")

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> ByteTokenizer:
        spec = json.loads((Path(directory) / BYTE_TOKENIZER_FILE).read_text())
        if spec.get("type") != "byte" or spec.get("vocab_size") != 259:
            raise ValueError(f"{directory}/{BYTE_TOKENIZER_FILE} does not describe this ByteTokenizer: {spec}")
        return cls()

    def __repr__(self) -> str:
        return "ByteTokenizer(vocab_size=259)"


class HFTextTokenizer:
    """A transformers tokenizer seen through `TextTokenizer`. The wrapped one is ``.hf``.

    ``pad_token_id`` falls back to ``eos_token_id`` when the tokenizer defines no pad token."""

    def __init__(self, hf: Any) -> None:
        self.hf = hf
        if hf.eos_token_id is None:
            raise ValueError("the tokenizer defines no eos token")
        self.eos_token_id = int(hf.eos_token_id)
        self.pad_token_id = int(hf.pad_token_id) if hf.pad_token_id is not None else self.eos_token_id
        self.bos_token_id = hf.bos_token_id
        self.vocab_size = len(hf)

    def encode(self, text: str) -> list[int]:
        return list(self.hf.encode(text, add_special_tokens=False))

    def decode(self, ids: list[int]) -> str:
        return self.hf.decode(list(ids))

    def __len__(self) -> int:
        return self.vocab_size

    def save_pretrained(self, directory: str | Path) -> None:
        self.hf.save_pretrained(str(directory))

    def __repr__(self) -> str:
        return f"HFTextTokenizer({type(self.hf).__name__}, vocab_size={self.vocab_size})"

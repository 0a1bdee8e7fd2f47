"""AdapterPool: many saved adapters resident on one base model, served together in mixed-adapter batches.

A load reads the adapter's ``adapter_config.json`` and its safetensors header first and refuses, before touching the
model, an adapter of another base model (the two identities in the message), of another BSLoRA method version, of
another PEFT method than the pool serves, or one whose tensors would push the pool past its memory limit
(``ResourceExhausted``, gRPC RESOURCE_EXHAUSTED). A refused or failed load leaves the adapters already loaded serving
exactly as before. Each row of a forward names its adapter (``"__base__"`` for the base model alone).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Optional

import torch
from peft import PeftModel

from ..errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from .adapter_template import TEMPLATE_METHODS, AdapterTemplate, read_tensors

BASE_ROW = "__base__"
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def safetensors_numels(path: Path) -> list[int]:
    """Element counts of the tensors in a safetensors file, from its header alone (no tensor data read). Raises
    ValueError where the file is not a whole safetensors file: a header that does not parse, or tensor data that the
    header places past the end of the file (a truncated copy)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{size} bytes, shorter than a safetensors header")
        (header_len,) = struct.unpack("<Q", head)
        if header_len > size - 8:
            raise ValueError(f"the header claims {header_len} bytes but the file has {size}")
        header = json.loads(f.read(header_len))
    numels, data_end = [], 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        n = 1
        for d in entry["shape"]:
            n *= d
        numels.append(n)
        data_end = max(data_end, entry["data_offsets"][1])
    if 8 + header_len + data_end > size:
        raise ValueError(f"the tensors end at byte {8 + header_len + data_end} but the file has {size}")
    return numels


def tuner_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The adapted modules of a PEFT-wrapped model, found without descending into them (their per-adapter children
    grow with the number of adapters loaded)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    found, stack = [], [model]
    while stack:
        module = stack.pop()
        if isinstance(module, BaseTunerLayer):
            found.append(module)
            continue
        stack.extend(m for m in module._modules.values() if m is not None)
    return found


class AdapterPool:
    def __init__(self, base_model: torch.nn.Module, identity: Optional[str] = None,
                 memory_limit_bytes: Optional[int] = None, dtype: Optional[torch.dtype] = None,
                 use_templates: bool = True):
        """``identity`` is the base model's identity as adapters record it (the worker's ``LoadedBase.identity``;
        default: name and shape fingerprint). ``memory_limit_bytes`` caps the adapters' resident bytes (None: no
        cap). ``dtype`` is the dtype adapters are held in (default: the base model's). ``use_templates`` False loads
        every adapter through PEFT (the baseline of the template path, adapter_template.py)."""
        import bslora  # noqa: F401  (registers BSLoRA with PEFT)
        from bslora.provenance import default_base_identity

        self.base_model = base_model
        self.identity = identity or default_base_identity(base_model)
        self.memory_limit_bytes = memory_limit_bytes
        self.dtype = dtype or next(base_model.parameters()).dtype
        self.device = next(base_model.parameters()).device
        self.peft_model: Optional[PeftModel] = None
        self.method: Optional[str] = None
        self._bytes: dict[str, int] = {}
        # adapter_config.json (as text) -> the first loaded adapter of that configuration, and its template once built
        self._first_of_config: dict[str, str] = {}
        self._templates: dict[str, AdapterTemplate] = {}
        self.use_templates = use_templates
        self.template_loads = 0  # loads that took the template path (observable for tests and benchmarks)

    # ------------------------------------------------------------------ state
    @property
    def names(self) -> list[str]:
        return list(self._bytes)

    def resident_bytes(self, name: Optional[str] = None) -> int:
        """Bytes held by one adapter's tensors (or by all adapters), each tensor counted once."""
        return self._bytes[name] if name is not None else sum(self._bytes.values())

    # ------------------------------------------------------------------ load / unload
    def _read_config(self, name: str, directory: Path) -> dict:
        path = directory / "adapter_config.json"
        if not path.is_file():
            raise InvalidArgument(f"adapter {name!r}: {path} does not exist; pass a save_pretrained directory")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InvalidArgument(f"adapter {name!r}: {path} is not valid JSON ({err}); re-save the adapter") from err

    def _check(self, name: str, directory: Path, config: dict) -> int:
        """Refusals that need no model change; returns the bytes the adapter will hold."""
        from bslora.provenance import current_method_version

        if name in self._bytes or name == BASE_ROW:
            raise InvalidArgument(f"adapter name {name!r} is already in use; unload it first or pick another name")
        method = str(config.get("peft_type", "")).upper()
        if self.method is not None and method != self.method:
            raise InvalidArgument(
                f"adapter {name!r} at {directory} is a {method} adapter, but this pool serves {self.method} "
                "adapters; serve it from a pool of its own method"
            )
        if method == "BSLORA":
            recorded = config.get("base_model_identity")
            if recorded is not None and recorded != self.identity:
                raise InvalidArgument(
                    f"adapter {name!r} at {directory} was trained on base model {recorded!r}, but this pool serves "
                    f"base model {self.identity!r}; load it where that base model is served, or retrain it on this one"
                )
            version = config.get("method_version") or current_method_version()
            if version != current_method_version():
                raise FailedPrecondition(
                    f"adapter {name!r} at {directory} was saved by BSLoRA {version!r}, but this worker implements "
                    f"{current_method_version()!r} (proto/method-versions.json); serve it with a worker of that "
                    "release or retrain it"
                )
        else:
            if config.get("use_dora"):
                raise InvalidArgument(
                    f"adapter {name!r} at {directory} is a DoRA adapter (use_dora), and PEFT cannot run DoRA in "
                    "mixed-adapter batches; serve it alone with PEFT, or merge it into the base model"
                )
            recorded, mine = config.get("base_model_name_or_path"), getattr(self.base_model, "name_or_path", "")
            if recorded and mine and recorded != mine:
                raise InvalidArgument(
                    f"adapter {name!r} at {directory} was trained on base model {recorded!r}, but this pool serves "
                    f"base model {mine!r}; load it where that base model is served"
                )
        weights = directory / "adapter_model.safetensors"
        if not weights.is_file():
            raise InvalidArgument(f"adapter {name!r}: {weights} does not exist; save adapters with safetensors")
        try:
            numels = safetensors_numels(weights)
        except (ValueError, KeyError, TypeError, IndexError, struct.error) as err:  # JSONDecodeError is a ValueError
            raise InvalidArgument(
                f"adapter {name!r}: {weights} is not a whole safetensors file ({err}); save the adapter again"
            ) from err
        needed = sum(numels) * torch.empty((), dtype=self.dtype).element_size()
        if self.memory_limit_bytes is not None and self.resident_bytes() + needed > self.memory_limit_bytes:
            raise ResourceExhausted(
                f"adapter {name!r} needs {needed} bytes but the pool holds {self.resident_bytes()} of its "
                f"{self.memory_limit_bytes}-byte limit; unload an adapter or raise the limit"
            )
        return needed

    def load(self, name: str, directory: Path | str) -> int:
        """Loads a saved adapter under ``name``; returns its resident bytes. Other adapters are not touched."""
        directory = Path(directory)
        config = self._read_config(name, directory)
        self._check(name, directory, config)
        config_key = json.dumps(config, sort_keys=True)
        try:
            if not self._load_from_template(name, directory, config, config_key):
                if self.peft_model is None:
                    self.peft_model = PeftModel.from_pretrained(self.base_model, directory, adapter_name=name,
                                                                autocast_adapter_dtype=False).eval()
                else:
                    self.peft_model.load_adapter(directory, adapter_name=name, autocast_adapter_dtype=False)
                self._first_of_config.setdefault(config_key, name)
        except torch.OutOfMemoryError as err:
            self._discard(name)
            raise ResourceExhausted(
                f"adapter {name!r}: the device ran out of memory while loading it ({err}); unload an adapter"
            ) from err
        self.method = str(config.get("peft_type", "")).upper()
        self._bytes[name] = self._hold(name)
        return self._bytes[name]

    def _load_from_template(self, name: str, directory: Path, config: dict, config_key: str) -> bool:
        """Loads ``name`` as a copy of a loaded adapter of the same configuration (adapter_template.py); False where
        there is none, or it cannot map this file, and PEFT loads it instead."""
        first = self._first_of_config.get(config_key)
        if not self.use_templates or first is None or str(config.get("peft_type", "")).upper() not in TEMPLATE_METHODS:
            return False
        template = self._templates.get(config_key)
        if template is None:
            template = self._templates[config_key] = AdapterTemplate(self.peft_model, first)
        tensors = read_tensors(directory / "adapter_model.safetensors")
        if not template.matches(tensors):
            return False
        template.load(self.peft_model, name, tensors)
        self.template_loads += 1
        return True

    def _adapter_params(self, name: str) -> list[torch.nn.Parameter]:
        # Walks the adapted modules and the tuner's own containers and looks the name up in each per-adapter dict,
        # rather than listing every parameter of the model: that list grows with every adapter loaded, which made
        # each load slower as N grew (docs/benchmarks.md, serving).
        unique: dict[int, torch.nn.Parameter] = {}
        tuner = self.peft_model.base_model
        holders = [*tuner_layers(tuner.model), tuner]
        for holder in holders:
            for child in holder._modules.values():
                if isinstance(child, (torch.nn.ModuleDict, torch.nn.ParameterDict)) and name in child:
                    entry = child[name]
                    params = [entry] if isinstance(entry, torch.nn.Parameter) else entry.parameters()
                    for param in params:
                        unique[id(param)] = param
        return list(unique.values())

    def _hold(self, name: str) -> int:
        """Casts the adapter's tensors (and only them) to the pool's dtype and device; returns their bytes."""
        total = 0
        for param in self._adapter_params(name):
            if param.dtype != self.dtype or param.device != self.device:
                param.data = param.data.to(device=self.device, dtype=self.dtype)
            param.requires_grad_(False)
            total += param.numel() * param.element_size()
        return total

    def _discard(self, name: str) -> None:
        if self.peft_model is not None and name in self.peft_model.peft_config:
            self.unload(name)

    def unload(self, name: str) -> None:
        if self.peft_model is None or name not in self.peft_model.peft_config:
            raise InvalidArgument(f"adapter {name!r} is not loaded; loaded: {self.names}")
        for key in [k for k, first in self._first_of_config.items() if first == name]:
            del self._first_of_config[key]  # the next load of that configuration goes through PEFT and replaces it
            self._templates.pop(key, None)
        remaining = [n for n in self.peft_model.peft_config if n != name]
        if not remaining:
            self.base_model = self.peft_model.unload()
            self.peft_model, self.method = None, None
        else:
            if name in self.peft_model.active_adapters:
                self.peft_model.set_adapter(remaining[0])
            self.peft_model.delete_adapter(name)
        self._bytes.pop(name, None)

    # ------------------------------------------------------------------ serving
    def forward(self, input_ids: torch.Tensor, adapter_names: list[str],
                attention_mask: Optional[torch.Tensor] = None):
        """One forward over a batch whose row i uses adapter ``adapter_names[i]`` (``"__base__"``: no adapter)."""
        unknown = sorted(set(adapter_names) - set(self._bytes) - {BASE_ROW})
        if unknown:
            raise InvalidArgument(f"unknown adapter(s) {unknown}; loaded: {self.names} (or '{BASE_ROW}')")
        with torch.no_grad():
            if self.peft_model is None:
                return self.base_model(input_ids=input_ids, attention_mask=attention_mask)
            return self.peft_model(input_ids=input_ids, attention_mask=attention_mask, adapter_names=adapter_names)

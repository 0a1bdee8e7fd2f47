"""Named public data sets, read from a local mirror folder when one is configured.

A spec names data the same way on every machine: a Hugging Face Hub dataset id (``yahma/alpaca-cleaned``) or one of
the LLM-Adapters commonsense sets (``llm-adapters:ARC-Easy``). A machine with internet fetches them; an offline
machine sets ``BSLORA_DATA_MIRROR`` (or ``--data-mirror`` on the commands that start workers) to a folder laid out
by dataset id and split, and runs the same spec unchanged:

    <mirror>/<owner>/<name>/<split>.json    (or .jsonl)   hub dataset ``owner/name``
    <mirror>/commonsense/<Set>/<split>.json              ``llm-adapters:<Set>`` (the layout of LLM-Adapters'
                                                          ``dataset/`` folder, under ``commonsense/``)

Training reads split ``train``; evaluation reads ``test`` (hub datasets: else ``validation``). With a mirror set,
the mirror is the only source (nothing is downloaded), and a data set it lacks is an error naming the data set and
the paths looked for.

``llm-adapters:<Set>`` without a mirror is downloaded once from the LLM-Adapters repository
(``https://raw.githubusercontent.com/AGI-Edgerunners/LLM-Adapters/main/dataset/<Set>/<split>.json``; the base URL can
be changed with ``BSLORA_LLM_ADAPTERS_URL``) into ``~/.cache/bslora/llm-adapters/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import FailedPrecondition, InvalidArgument

MIRROR_ENV = "BSLORA_DATA_MIRROR"
LLM_ADAPTERS_PREFIX = "llm-adapters:"
LLM_ADAPTERS_URL_ENV = "BSLORA_LLM_ADAPTERS_URL"
LLM_ADAPTERS_URL = "https://raw.githubusercontent.com/AGI-Edgerunners/LLM-Adapters/main/dataset"
# The eight commonsense sets of LLM-Adapters' dataset/ folder (the paper's commonsense suite); test splits for all,
# train splits for boolq, ARC-Easy, ARC-Challenge and openbookqa in the mirror CI uses.
LLM_ADAPTERS_SETS = (
    "boolq", "piqa", "social_i_qa", "hellaswag", "winogrande", "ARC-Easy", "ARC-Challenge", "openbookqa",
)


def mirror_dir() -> Path | None:
    """The configured mirror folder, or None. A configured folder that does not exist is an error."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FailedPrecondition(f"{MIRROR_ENV}={value!r} is not a folder: point it at the data mirror")
    return path.resolve()


def splits_for(purpose: str, *, hub: bool) -> list[str]:
    if purpose == "train":
        return ["train"]
    return ["test", "validation"] if hub else ["test"]


def hub_mirror_file(dataset_id: str, purpose: str, mirror: Path) -> tuple[Path, str]:
    """(file, split) of hub dataset ``dataset_id`` in ``mirror``; FailedPrecondition naming the data set and every
    path looked for when it is not there."""
    looked = []
    for split in splits_for(purpose, hub=True):
        for ext in (".json", ".jsonl"):
            path = mirror / dataset_id / f"{split}{ext}"
            if path.is_file():
                return path, split
            looked.append(str(path))
    raise FailedPrecondition(
        f"data set {dataset_id!r} is not in the data mirror {mirror} ({MIRROR_ENV}): looked for {', '.join(looked)}"
    )


def llm_adapters_set(ref: str) -> str:
    """The set name of ``llm-adapters:<Set>``; InvalidArgument listing the sets when it is not one."""
    name = ref.removeprefix(LLM_ADAPTERS_PREFIX)
    if name not in LLM_ADAPTERS_SETS:
        raise InvalidArgument(f"data ref {ref!r}: {name!r} is not one of the LLM-Adapters sets {', '.join(LLM_ADAPTERS_SETS)}")
    return name


def llm_adapters_file(ref: str, purpose: str) -> Path:
    """The local file of ``llm-adapters:<Set>`` for ``purpose``: from the mirror when one is set, else downloaded
    (once) into the cache."""
    name = llm_adapters_set(ref)
    split = splits_for(purpose, hub=False)[0]
    mirror = mirror_dir()
    if mirror is not None:
        path = mirror / "commonsense" / name / f"{split}.json"
        if not path.is_file():
            raise FailedPrecondition(
                f"data set {ref!r} ({split} split) is not in the data mirror {mirror} ({MIRROR_ENV}): "
                f"looked for {path}"
            )
        return path
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bslora" / "llm-adapters" / name
    path = cache / f"{split}.json"
    if path.is_file():
        return path
    url = f"{os.environ.get(LLM_ADAPTERS_URL_ENV, LLM_ADAPTERS_URL).rstrip('/')}/{name}/{split}.json"
    cache.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=30) as response, tempfile.NamedTemporaryFile(
            dir=cache, delete=False
        ) as tmp:
            shutil.copyfileobj(response, tmp)
    except (urllib.error.URLError, OSError) as err:
        raise FailedPrecondition(
            f"data set {ref!r} ({split} split) could not be downloaded from {url} ({err}); on a machine without "
            f"internet set {MIRROR_ENV} to a mirror holding commonsense/{name}/{split}.json"
        ) from err
    os.replace(tmp.name, path)  # whole file or nothing: an interrupted download leaves no partial cache entry
    return path

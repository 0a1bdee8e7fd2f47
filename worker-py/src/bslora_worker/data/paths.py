"""Local paths named in requests: resolution and the allowed-roots check shared by models and data."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidArgument


def looks_like_path(ref: str) -> bool:
    """True for refs that are meant as local paths (absolute, ./, ../, ~) or that exist on disk."""
    return ref.startswith(("/", "./", "../", "~", ".\\")) or os.path.exists(ref)


def resolve_local_path(ref: str, allowed_roots: Sequence[str] | None, *, what: str = "path") -> Path:
    """Resolve ``ref`` (symlinks included) and check that it lies under one of ``allowed_roots`` when given.

    Raises InvalidArgument naming the path when it lies outside every allowed root (an empty ``allowed_roots``
    accepts no local path), or when it does not exist."""
    path = Path(os.path.expanduser(ref)).resolve()
    if allowed_roots is not None:
        roots = [Path(os.path.expanduser(r)).resolve() for r in allowed_roots]
        if not any(path == root or path.is_relative_to(root) for root in roots):
            shown = ", ".join(str(r) for r in roots) or "(none)"
            # Said the same whether the path exists or not, and without the resolved path (a symlink's target).
            raise InvalidArgument(f"{what} {ref!r} is outside the worker's allowed roots: {shown}")
    if not path.exists():
        raise InvalidArgument(f"{what} {ref!r} does not exist (resolved to {path})")
    return path


_sha_cache: dict[tuple[str, int, int], str] = {}


def sha256_of_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's content, cached in-process by (path, size, mtime)."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    cached = _sha_cache.get(key)
    if cached is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        cached = _sha_cache[key] = h.hexdigest()
    return cached


def sha256_of_dir(path: str | os.PathLike) -> str:
    """Hex sha256 over every regular file of a directory tree: relative path, size and content sha256, sorted."""
    root = Path(path)
    h = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel.startswith(".") or "/." in rel:  # .cache, .git and friends do not identify weights
            continue
        h.update(f"{rel}\0{file.stat().st_size}\0{sha256_of_file(file)}\n".encode())
    return h.hexdigest()

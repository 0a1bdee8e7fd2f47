"""Adapters travel as one deterministic tar archive of a ``save_pretrained`` directory, named by its sha256.

Deterministic (sorted names, zero mtimes, no owner) so that the same adapter always has the same hash and the
control plane can deduplicate transfers and storage by it.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from ..errors import InvalidArgument


def pack_directory(directory: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            data = path.read_bytes()
            info = tarfile.TarInfo(name=path.relative_to(directory).as_posix())
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def unpack_to_directory(archive: bytes, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        for member in tar.getmembers():
            if not member.isfile() or member.name.startswith("/") or ".." in Path(member.name).parts:
                raise InvalidArgument(f"adapter archive holds an unsafe entry {member.name!r}")
        tar.extractall(directory, filter="data")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

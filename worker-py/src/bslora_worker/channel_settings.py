"""gRPC channel settings shared with the control plane.

Both sides read ``proto/channel-settings.json`` so message limits and keepalive always agree (a mismatch makes the
server answer pings with GOAWAY ``too_many_pings``). The defaults below match that file and are used only when the
worker runs from an installed wheel without the repository beside it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_DEFAULTS = {
    "max_message_bytes": 16 * 1024 * 1024,
    "adapter_chunk_bytes": 1024 * 1024,
    "keepalive_time_ms": 30_000,
    "keepalive_timeout_ms": 10_000,
    "keepalive_permit_without_calls": 1,
    "min_ping_interval_without_data_ms": 10_000,
}


@lru_cache(maxsize=1)
def channel_settings() -> dict[str, int]:
    """Returns the shared settings, read once."""
    path = Path(__file__).resolve().parents[3] / "proto" / "channel-settings.json"
    settings = dict(_DEFAULTS)
    if path.is_file():
        loaded = json.loads(path.read_text())
        settings.update({k: int(v) for k, v in loaded.items() if not k.startswith("_")})
    return settings


def server_options() -> list[tuple[str, int]]:
    """grpc.aio server options built from the shared settings."""
    s = channel_settings()
    return [
        ("grpc.max_send_message_length", s["max_message_bytes"]),
        ("grpc.max_receive_message_length", s["max_message_bytes"]),
        ("grpc.keepalive_time_ms", s["keepalive_time_ms"]),
        ("grpc.keepalive_timeout_ms", s["keepalive_timeout_ms"]),
        ("grpc.keepalive_permit_without_calls", s["keepalive_permit_without_calls"]),
        ("grpc.http2.min_ping_interval_without_data_ms", s["min_ping_interval_without_data_ms"]),
        # Clients ping every keepalive_time_ms even with no data; never punish that as abuse.
        ("grpc.http2.max_ping_strikes", 0),
    ]

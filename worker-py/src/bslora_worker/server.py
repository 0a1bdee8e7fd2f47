"""Starts the worker's grpc.aio server with the health service, and prints one ready line for the agent.

The ready line is JSON on stdout, e.g. ``{"event": "ready", "address": "127.0.0.1:50123", "pid": 4242}``; the agent
waits for it, then for health ``SERVING``, before sending work.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bslora_api.worker.v1 import worker_service_pb2_grpc as pb_grpc

from .channel_settings import server_options

SERVICE_NAME = "bslora_api.worker.v1.WorkerService"


def _notice(event: dict) -> None:
    """A JSON line on stderr for the agent's log; a closed pipe (dead agent) is not an error."""
    try:
        print(json.dumps(event), file=sys.stderr, flush=True)
    except OSError:
        pass


async def _exit_when_orphaned(stop: asyncio.Event, parent: int) -> None:
    """Stops the worker when the agent that spawned it (``parent``) dies, even by SIGKILL, so no orphan keeps a
    device."""
    while not stop.is_set():
        if os.getppid() != parent:
            stop.set()  # first: the parent's pipes are gone, so the notice below may fail
            _notice({"event": "orphaned", "pid": os.getpid()})
            return
        await asyncio.sleep(1.0)


async def serve(listen: str, run_dir: Path, device: str = "cpu", dry_run: bool = False,
                allowed_roots: tuple[str, ...] | None = None, without_torch: bool = False) -> None:
    # Read before the ready line: the agent may die as soon as it has read it, before the watchdog first runs.
    parent = os.getppid()
    server = grpc.aio.server(options=server_options())
    # Imported here: the torch-free dry run must not load WorkerService's modules, which import torch.
    if without_torch:
        from .dry_run_service import DryRunWorkerService

        service = DryRunWorkerService(device)
    else:
        from .service import WorkerService

        service = WorkerService(run_dir, device, dry_run=dry_run, allowed_roots=allowed_roots)
    pb_grpc.add_WorkerServiceServicer_to_server(service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(listen)
    if port == 0:
        raise SystemExit(f"cannot listen on {listen}: the address is in use or invalid; pick another --listen")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    host = listen.rsplit(":", 1)[0]
    print(json.dumps({"event": "ready", "address": f"{host}:{port}", "pid": os.getpid()}), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watchdog = asyncio.create_task(_exit_when_orphaned(stop, parent))
    await stop.wait()
    watchdog.cancel()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    # Grace lets a finishing stream end; running training is cancelled by the call's cancellation.
    await server.stop(grace=2.0)
    _notice({"event": "stopped", "pid": os.getpid()})

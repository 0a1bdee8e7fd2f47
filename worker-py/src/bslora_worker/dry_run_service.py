"""A dry-run ``WorkerService`` that never imports torch, for control-plane scale runs with many workers on one machine.

``serve --dry-run --without-torch`` uses it. It answers as ``WorkerService`` does with ``--dry-run`` (the trial is
validated and checked against this worker's method version, one progress event, a result of zeros, no adapter), so
the control plane's path per trial (two BullMQ jobs, two streaming gRPC calls) is the same; what it leaves out is
the Python process's size: a worker that imports torch holds about 400 MiB, this one about 40 MiB. ``CountParameters``
and ``UploadAdapter`` need a model and answer ``UNIMPLEMENTED`` here.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import time

import grpc

from bslora_api.worker.v1 import worker_service_pb2 as pb
from bslora_api.worker.v1 import worker_service_pb2_grpc as pb_grpc

from .contract_files import method_versions
from .errors import WorkerError
from .trials.trial import Trial, check_method_version
from .versions import library_versions


class DryRunWorkerService(pb_grpc.WorkerServiceServicer):
    def __init__(self, device: str = "cpu"):
        self.device = device
        # One trial at a time, as the real worker: the capacity Describe reports.
        self._busy = asyncio.Lock()
        # BSLORA_DRY_RUN_CALL_LOG: a file to which each Train and Evaluate call appends "<train|eval> <trial key>
        # <unix ms>" as it arrives, so that a scale run with agents in other processes can time dispatch up to here.
        path = os.environ.get("BSLORA_DRY_RUN_CALL_LOG")
        self._call_log = open(path, "a", buffering=1) if path else None  # noqa: SIM115 - open for the process's life

    def _note(self, kind: str, trial_key: str) -> None:
        if self._call_log is not None:
            self._call_log.write(f"{kind} {trial_key} {time.time() * 1000:.1f}\n")

    async def Describe(self, request, context):
        total, free = _memory()
        return pb.DescribeResponse(
            worker_id=f"{socket.gethostname()}:{os.getpid()}",
            devices=[pb.Device(name=self.device, kind=f"{platform.machine()} CPU, dry run without torch",
                               total_memory_bytes=total, free_memory_bytes=free)],
            versions=library_versions(),
            capacity=1,
            method_versions=[
                pb.MethodVersion(method=pb.Method.Value(f"METHOD_{name.upper()}"), version=version)
                for name, version in method_versions().items()
            ],
        )

    async def _trial(self, request, context) -> Trial | None:
        try:
            trial = Trial.from_proto(request.trial)
            check_method_version(trial)
            return trial
        except WorkerError as err:
            await context.abort(getattr(grpc.StatusCode, err.status), str(err))
            return None

    async def Train(self, request: pb.TrainRequest, context):
        self._note("train", request.trial.trial_key)
        trial = await self._trial(request, context)
        if trial is None:
            return
        async with self._busy:
            yield pb.TrainEvent(progress=pb.TrainProgress(step=1, total_steps=1, loss=0.0,
                                                          learning_rate=trial.learning_rate))
            yield pb.TrainEvent(result=pb.TrainResult(
                trial_key=request.trial.trial_key,
                counts=pb.ParameterCounts(footprint=pb.ServingFootprint()),
                initial_loss=0.0,
                final_loss=0.0,
                steps=1,
                wall_seconds=0.0,
                peak_memory_bytes=0,
                versions=library_versions(),
                device="dry-run",
                seed=request.trial.seed,
                adapter_sha256="",
                adapter_size=0,
                resumed_from_step=0,
            ))

    async def Evaluate(self, request: pb.EvaluateRequest, context):
        self._note("eval", request.trial.trial_key)
        trial = await self._trial(request, context)
        if trial is None:
            return
        async with self._busy:
            yield pb.EvaluateEvent(result=pb.EvaluateResult(
                trial_key=request.trial.trial_key,
                tasks=[pb.TaskMetrics(task=t, acc=0.0, acc_norm=0.0, n=0) for t in trial.eval_tasks],
                wall_seconds=0.0,
            ))


def _memory() -> tuple[int, int]:
    """(total, available) bytes of system memory from /proc/meminfo; (0, 0) where it does not exist."""
    values = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, _, rest = line.partition(":")
                values[key] = int(rest.split()[0]) * 1024
    except OSError:
        return 0, 0
    return values.get("MemTotal", 0), values.get("MemAvailable", 0)

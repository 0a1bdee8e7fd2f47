"""The gRPC ``WorkerService``: proto in, domain calls out, and every error mapped to a status in one place.

Blocking work (loading, training, scoring) runs in a worker thread; the asyncio loop only shuttles events, so health
checks and cancellation stay responsive while a trial trains.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from pathlib import Path

import grpc
import torch

from bslora_api.worker.v1 import worker_service_pb2 as pb
from bslora_api.worker.v1 import worker_service_pb2_grpc as pb_grpc

from .channel_settings import channel_settings
from .errors import Cancelled, ResourceExhausted, Unavailable, WorkerError
from .fault_injection import load_fault_rules
from .resident_models import ResidentModels
from .trials.archive import sha256_hex
from .trials.evaluate_trial import TaskScore, adapter_path, evaluate_trial
from .trials.count_without_weights import count_without_weights
from .contract_files import method_versions
from .trials.peft_entry import canonical_config_json, check_peft_version, installed_peft_version, peft_entry_config
from .trials.serving_footprint import ZERO
from .trials.trial import Trial, check_method_version
from .trials.train_trial import StepProgress, TrainOutcome, train_trial
from .devices import device_info
from .versions import library_versions

_DONE = object()


def _status_of(err: BaseException) -> tuple[grpc.StatusCode, str]:
    """The single mapping from worker errors to gRPC status codes."""
    if isinstance(err, WorkerError):
        return getattr(grpc.StatusCode, err.status), str(err)
    if isinstance(err, torch.OutOfMemoryError) or isinstance(err, MemoryError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, f"out of memory: {err}"
    return grpc.StatusCode.INTERNAL, f"{type(err).__name__}: {err}"


def _trial_of(request) -> Trial:
    """The request's trial, validated, and refused when it was planned for another method version than this one."""
    trial = Trial.from_proto(request.trial)
    check_method_version(trial)
    if trial.method == "peft":
        check_peft_version(trial)
    return trial


class _ThreadCall:
    """Blocking work run in a thread for one streaming RPC: the thread reports progress through ``report``, the RPC
    yields it from ``events``, and ``stop`` (on client cancel or a closed stream) signals ``cancel`` and waits until
    the thread has ended, so the device lock is held exactly as long as the work runs."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.cancel = threading.Event()
        self.task: asyncio.Future | None = None

    def report(self, item) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    async def events(self, work):
        self.task = self.loop.run_in_executor(None, work)
        self.task.add_done_callback(lambda _: self.report(_DONE))
        while (item := await self.queue.get()) is not _DONE:
            yield item

    def result(self):
        return self.task.result()

    async def stop(self) -> None:
        self.cancel.set()
        if self.task is not None:
            try:
                await self.task  # the thread stops at its next step
            except BaseException:  # noqa: BLE001 - its Cancelled error is the expected outcome
                pass


def _dry_run_outcome(trial: Trial, on_progress) -> TrainOutcome:
    on_progress(StepProgress(1, 1, 0.0, trial.learning_rate, 0.0, 0.0))
    zero = {"local": 0, "intra": 0, "inter": 0, "transform": 0, "total": 0, "base_total": 0, "footprint": dict(ZERO)}
    return TrainOutcome(zero, 0.0, 0.0, 1, 0.0, 0, library_versions(), "dry-run", b"", "", 0)


class WorkerService(pb_grpc.WorkerServiceServicer):
    def __init__(self, run_dir: Path, device: str = "cpu", dry_run: bool = False,
                 allowed_roots: tuple[str, ...] | None = None):
        self.run_dir = run_dir
        self.device = device
        # Dry run: Train and Evaluate answer at once without touching a model (control-plane benchmarks).
        self.dry_run = dry_run
        self.faults = load_fault_rules()
        # Local models and data files must lie under these directories (None: anywhere).
        self.allowed_roots = allowed_roots
        self.models = ResidentModels(allowed_roots=allowed_roots, device=device)
        # One trial at a time per device: the capacity Describe reports.
        self._busy = asyncio.Lock()

    async def Describe(self, request, context):
        held = sorted(p.stem for p in (self.run_dir / "adapters").glob("*.tar"))
        return pb.DescribeResponse(
            worker_id=f"{socket.gethostname()}:{os.getpid()}",
            devices=[device_info(self.device)],
            versions=library_versions(),
            capacity=1,
            resident_models=self.models.names(),
            held_adapters=held,
            method_versions=[
                pb.MethodVersion(method=pb.Method.Value(f"METHOD_{name.upper()}"), version=version)
                for name, version in method_versions().items()
            ],
        )

    async def Train(self, request: pb.TrainRequest, context):
        call = _ThreadCall()

        def run() -> TrainOutcome:
            trial = _trial_of(request)
            if self.faults.is_unavailable(trial.name):
                raise Unavailable(f"injected fault: trial {trial.name} is unavailable")
            if self.faults.is_oom(trial.name):
                raise torch.OutOfMemoryError(f"injected fault: trial {trial.name} ran out of memory")
            if self.dry_run:
                return _dry_run_outcome(trial, call.report)
            base = self.models.get(trial.base_model, trial.task_type)
            slow = self.faults.is_slow(trial.name)
            progress = (lambda p: (time.sleep(0.5), call.report(p))) if slow else call.report
            return train_trial(trial, base, self.run_dir, progress, call.cancel, self.allowed_roots)

        async with self._busy:
            try:
                async for p in call.events(run):
                    yield pb.TrainEvent(progress=pb.TrainProgress(**p.__dict__))
                outcome = call.result()
            except (asyncio.CancelledError, GeneratorExit):
                await call.stop()  # the client cancelled or its deadline passed: stop at the next step
                raise
            except BaseException as err:  # noqa: BLE001 - mapped to a status right here
                await context.abort(*_status_of(err))
                return
            finally:
                call.cancel.set()
            chunk = channel_settings()["adapter_chunk_bytes"]
            for offset in range(0, len(outcome.adapter), chunk):
                yield pb.TrainEvent(adapter_chunk=pb.AdapterChunk(
                    sha256=outcome.adapter_sha256, offset=offset, data=outcome.adapter[offset:offset + chunk],
                    total_size=len(outcome.adapter)))
            yield pb.TrainEvent(result=pb.TrainResult(
                trial_key=request.trial.trial_key,
                counts=pb.ParameterCounts(**outcome.counts),
                initial_loss=outcome.initial_loss,
                final_loss=outcome.final_loss,
                steps=outcome.steps,
                wall_seconds=outcome.wall_seconds,
                peak_memory_bytes=outcome.peak_memory_bytes,
                versions=outcome.versions,
                device=outcome.device,
                seed=request.trial.seed,
                adapter_sha256=outcome.adapter_sha256,
                adapter_size=len(outcome.adapter),
                resumed_from_step=outcome.resumed_from_step,
                validation_loss=outcome.validation_loss,
                validation_examples=outcome.validation_examples,
            ))

    async def CountParameters(self, request: pb.CountParametersRequest, context):
        """Counts from the model's config on the meta device: no weights are loaded, so any size is instant."""

        def run() -> pb.CountParametersResponse:
            trial = Trial.from_proto(request.trial)
            check_method_version(trial)
            counts = pb.ParameterCounts(**count_without_weights(trial, self.allowed_roots))
            if trial.method != "peft":
                return pb.CountParametersResponse(counts=counts)
            # Validation: the planner sends the entry as written and keys the trial by what comes back.
            config = peft_entry_config(trial)
            return pb.CountParametersResponse(counts=counts, canonical_config_json=canonical_config_json(config),
                                              peft_version=installed_peft_version())

        try:
            return await asyncio.get_running_loop().run_in_executor(None, run)
        except Exception as err:  # noqa: BLE001 - mapped to a status right here
            await context.abort(*_status_of(err))

    async def UploadAdapter(self, request_iterator, context):
        parts: list[bytes] = []
        expected = ""
        async for chunk in request_iterator:
            expected = expected or chunk.sha256
            parts.append(chunk.data)
        data = b"".join(parts)
        sha = sha256_hex(data)
        if expected and sha != expected:
            await context.abort(grpc.StatusCode.DATA_LOSS, f"adapter arrived as {sha}, expected {expected}: resend it")
        path = adapter_path(self.run_dir, sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        return pb.UploadAdapterResponse(sha256=sha, size=len(data))

    async def Evaluate(self, request: pb.EvaluateRequest, context):
        call = _ThreadCall()

        def on_progress(task: str, done: int, total: int) -> None:
            call.report(pb.EvaluateProgress(task=task, done=done, total=total))

        def run():
            trial = _trial_of(request)
            if self.dry_run:
                return [TaskScore(t, 0.0, 0.0, 0) for t in trial.eval_tasks], 0.0
            base = self.models.get(trial.base_model, trial.task_type)
            return evaluate_trial(trial, request.adapter_sha256, base, self.run_dir, on_progress, call.cancel,
                                  self.allowed_roots)

        async with self._busy:
            try:
                async for p in call.events(run):
                    yield pb.EvaluateEvent(progress=p)
                scores, wall = call.result()
            except (asyncio.CancelledError, GeneratorExit):
                await call.stop()
                raise
            except BaseException as err:  # noqa: BLE001 - mapped to a status right here
                await context.abort(*_status_of(err))
                return
            finally:
                call.cancel.set()
        yield pb.EvaluateEvent(result=pb.EvaluateResult(
            trial_key=request.trial.trial_key,
            tasks=[pb.TaskMetrics(task=s.task, acc=s.acc, acc_norm=s.acc_norm, n=s.n, item_correct=s.item_correct)
                   for s in scores],
            wall_seconds=wall,
        ))

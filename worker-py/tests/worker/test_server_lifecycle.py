"""Worker process lifecycle: no orphan survives its agent, dry-run mode, injected faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import grpc
import pytest

from bslora_api.worker.v1 import worker_service_pb2 as pb
from bslora_api.worker.v1 import worker_service_pb2_grpc as pb_grpc
from trial_messages import trial_message


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_worker_exits_when_its_parent_is_killed(tmp_path):
    parent_code = textwrap.dedent(f"""
        import subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-m", "bslora_worker", "serve", "--listen", "127.0.0.1:0",
                              "--run-dir", {str(tmp_path)!r}, "--dry-run"], stdout=subprocess.PIPE, text=True)
        print(p.stdout.readline().strip(), flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    ready = json.loads(parent.stdout.readline())
    worker_pid = ready["pid"]
    assert _alive(worker_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    # The watchdog polls once a second and then stops the server with a 2 s grace; 30 s leaves room for a loaded machine.
    deadline = time.monotonic() + 30
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker_pid)


@pytest.fixture()
def worker_with(tmp_path):
    procs = []

    def start(*extra, env=None):
        proc = subprocess.Popen(
            [sys.executable, "-m", "bslora_worker", "serve", "--listen", "127.0.0.1:0", "--run-dir", str(tmp_path), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        )
        procs.append(proc)
        ready = json.loads(proc.stdout.readline())
        return pb_grpc.WorkerServiceStub(grpc.insecure_channel(ready["address"]))

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=15)


def _trial(name: str) -> pb.Trial:
    return trial_message(trial_key=f"k-{name}", name=name, method="lora", rank=2, target_modules=["q_proj"],
                         training=pb.TrainingSettings(steps=3, learning_rate=1e-3, batch_size=2, seq_len=64))


def test_dry_run_answers_at_once_without_a_model(worker_with):
    stub = worker_with("--dry-run")
    stub.Describe(pb.DescribeRequest(), timeout=5)  # connected
    # "At once" as a ratio on this machine, whatever its load: a dry-run Train costs about what a Describe does (a
    # real one loads a model and trains). Fastest of three each, so one scheduling pause does not decide it.
    describe_s, train_s = [], []
    for i in range(3):
        t0 = time.monotonic()
        stub.Describe(pb.DescribeRequest(), timeout=5)
        describe_s.append(time.monotonic() - t0)
        t0 = time.monotonic()
        events = list(stub.Train(pb.TrainRequest(trial=_trial(f"dry-{i}")), timeout=10))
        train_s.append(time.monotonic() - t0)
        assert events[-1].WhichOneof("event") == "result"
        assert events[-1].result.device == "dry-run"
        assert [e.WhichOneof("event") for e in events] == ["progress", "result"]  # one step reported, none trained
    assert min(train_s) < 20 * min(describe_s) + 0.05, (train_s, describe_s)
    assert stub.Describe(pb.DescribeRequest(), timeout=5).resident_models == []


def test_dry_run_without_torch_answers_the_same_and_never_imports_torch(worker_with):
    stub = worker_with("--dry-run", "--without-torch")
    d = stub.Describe(pb.DescribeRequest(), timeout=10)
    assert d.capacity == 1 and d.method_versions  # the agent's heartbeat and version checks read these
    train = list(stub.Train(pb.TrainRequest(trial=_trial("light")), timeout=10))
    assert [e.WhichOneof("event") for e in train] == ["progress", "result"]
    assert train[-1].result.device == "dry-run" and train[-1].result.trial_key == "k-light"
    evaluate = list(stub.Evaluate(pb.EvaluateRequest(trial=_trial("light")), timeout=10))
    assert evaluate[-1].result.trial_key == "k-light"
    # A trial planned for another method version is refused, as by the full worker.
    stale = _trial("stale")
    stale.method_version = "0-not-this-one"
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Train(pb.TrainRequest(trial=stale), timeout=10))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # What makes it light: the serving process never loaded torch (checked in a process of its own).
    code = ("import sys, bslora_worker.server, bslora_worker.dry_run_service; "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"


def test_without_torch_is_refused_without_dry_run(tmp_path):
    r = subprocess.run([sys.executable, "-m", "bslora_worker", "serve", "--run-dir", str(tmp_path), "--without-torch"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--without-torch only applies to --dry-run" in r.stderr


def test_injected_unavailable_fault_is_transient_status(worker_with):
    stub = worker_with(env={"BSLORA_WORKER_FAULTS": "unavailable:doomed"})
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Train(pb.TrainRequest(trial=_trial("doomed-trial")), timeout=30))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    ok = list(stub.Train(pb.TrainRequest(trial=_trial("fine-trial")), timeout=60))
    assert ok[-1].result.steps == 3


def test_oom_maps_to_resource_exhausted_and_the_worker_keeps_serving(worker_with):
    stub = worker_with(env={"BSLORA_WORKER_FAULTS": "oom:huge"})
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Train(pb.TrainRequest(trial=_trial("huge-trial")), timeout=30))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "out of memory" in err.value.details()
    ok = list(stub.Train(pb.TrainRequest(trial=_trial("small-trial")), timeout=60))
    assert ok[-1].result.steps == 3


def test_paths_outside_the_allowed_roots_are_refused(worker_with, tmp_path):
    inside = tmp_path / "inside"
    inside.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps([{"instruction": "1+1?", "input": "", "output": "2"}] * 4))
    stub = worker_with("--allowed-root", str(inside))
    trial = _trial("roots")
    trial.training.seq_len = 320  # the Alpaca prompt template alone is ~200 bytes
    trial.train_data = str(outside)
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Train(pb.TrainRequest(trial=trial), timeout=30))
    assert err.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
    assert str(outside) in err.value.details()

    allowed = inside / "train.json"
    allowed.write_text(outside.read_text())
    trial.train_data = str(allowed)
    ok = list(stub.Train(pb.TrainRequest(trial=trial), timeout=60))
    assert ok[-1].result.steps == 3


def test_describe_reports_device_memory(worker_with):
    stub = worker_with("--dry-run")
    device = stub.Describe(pb.DescribeRequest(), timeout=5).devices[0]
    assert device.total_memory_bytes > 0
    assert 0 < device.free_memory_bytes <= device.total_memory_bytes

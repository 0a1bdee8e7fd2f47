"""The worker as the control plane sees it: a real process, a real socket, the generated gRPC stubs."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bslora_api.worker.v1 import worker_service_pb2 as pb
from bslora_api.worker.v1 import worker_service_pb2_grpc as pb_grpc
from bslora_worker.contract_files import method_versions
from trial_messages import trial_message

TARGETS = ["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]


def trial_msg(**overrides) -> pb.Trial:
    fields = dict(
        trial_key=f"svc-{overrides.get('method', 'lora')}",
        name="svc",
        method="lora",
        rank=4,
        task_type="causal_lm",
        target_modules=TARGETS,
        training=pb.TrainingSettings(steps=6, learning_rate=3e-3, batch_size=4, seq_len=48, eval_limit=20),
    )
    fields.update(overrides)
    return trial_message(**fields)


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("worker-run")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bslora_worker", "serve", "--listen", "127.0.0.1:0", "--run-dir", str(run_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    ready = json.loads(proc.stdout.readline())
    assert ready["event"] == "ready" and ready["pid"] == proc.pid
    channel = grpc.insecure_channel(ready["address"])
    yield {"channel": channel, "stub": pb_grpc.WorkerServiceStub(channel), "proc": proc, "run_dir": run_dir}
    channel.close()
    proc.terminate()
    assert proc.wait(timeout=15) == 0  # SIGTERM is a clean, graceful stop


def train(stub, trial, **kw):
    progress, chunks, result = [], [], None
    for event in stub.Train(pb.TrainRequest(trial=trial), **kw):
        kind = event.WhichOneof("event")
        if kind == "progress":
            progress.append(event.progress)
        elif kind == "adapter_chunk":
            chunks.append(event.adapter_chunk)
        else:
            result = event.result
    return progress, chunks, result


def test_health_is_serving_and_describe_reports_versions(worker):
    health = health_pb2_grpc.HealthStub(worker["channel"])
    assert health.Check(health_pb2.HealthCheckRequest(service="")).status == health_pb2.HealthCheckResponse.SERVING
    d = worker["stub"].Describe(pb.DescribeRequest(), timeout=10)
    assert d.capacity == 1 and d.devices[0].name == "cpu"
    for lib in ("torch", "transformers", "peft", "python"):
        assert d.versions[lib]
    reported = {pb.Method.Name(v.method).removeprefix("METHOD_").lower(): v.version for v in d.method_versions}
    assert reported == method_versions()


def test_a_trial_planned_for_another_method_version_is_refused_by_every_call_naming_both_versions(worker):
    # Regression: the worker used to run a trial whatever method version its key was computed with.
    trial = trial_msg(trial_key="svc-old-version", method_version="peft-lora/0")
    calls = {
        "Train": lambda: list(worker["stub"].Train(pb.TrainRequest(trial=trial), timeout=60)),
        "Evaluate": lambda: list(worker["stub"].Evaluate(pb.EvaluateRequest(trial=trial), timeout=60)),
        "CountParameters": lambda: worker["stub"].CountParameters(pb.CountParametersRequest(trial=trial), timeout=60),
    }
    for name, call in calls.items():
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, name
        assert "peft-lora/0" in err.value.details() and method_versions()["lora"] in err.value.details(), name


def test_train_streams_every_step_then_the_adapter_then_the_result(worker):
    trial = trial_msg(method="bslora", rank=0, ranks=pb.BSLoraRanks(local=2, intra=2, inter=4), share_mode="slice")
    progress, chunks, result = train(worker["stub"], trial, timeout=120)
    assert [p.step for p in progress] == list(range(1, 7))
    assert all(p.total_steps == 6 and p.loss > 0 for p in progress)
    data = b"".join(c.data for c in chunks)
    assert hashlib.sha256(data).hexdigest() == result.adapter_sha256 == chunks[0].sha256
    assert result.adapter_size == len(data)
    assert result.counts.intra > 0 and result.counts.inter > 0 and result.counts.total > 0
    assert result.versions["torch"].startswith("2.13")

    d = worker["stub"].Describe(pb.DescribeRequest(), timeout=10)
    assert result.adapter_sha256 in d.held_adapters

    events = list(worker["stub"].Evaluate(pb.EvaluateRequest(trial=trial, adapter_sha256=result.adapter_sha256), timeout=120))
    final = events[-1].result
    assert final.tasks[0].task == "builtin:arith" and final.tasks[0].n == 20
    assert 0.0 <= final.tasks[0].acc <= 1.0
    # One bit per item, and the set bits are the items counted correct.
    bits = final.tasks[0].item_correct
    assert len(bits) == 3 and sum(bin(b).count("1") for b in bits) == round(final.tasks[0].acc * 20)
    assert bits[2] >> 4 == 0


def test_upload_adapter_round_trips_and_rejects_corruption(worker):
    trial = trial_msg(trial_key="svc-upload", training=pb.TrainingSettings(steps=2, learning_rate=1e-3, batch_size=2, seq_len=64))
    _, chunks, result = train(worker["stub"], trial, timeout=120)
    data = b"".join(c.data for c in chunks)
    (worker["run_dir"] / "adapters" / f"{result.adapter_sha256}.tar").unlink()
    sent = worker["stub"].UploadAdapter(iter([pb.AdapterChunk(sha256=result.adapter_sha256, offset=0, data=data)]))
    assert sent.sha256 == result.adapter_sha256 and sent.size == len(data)
    with pytest.raises(grpc.RpcError) as err:
        worker["stub"].UploadAdapter(iter([pb.AdapterChunk(sha256=result.adapter_sha256, offset=0, data=data[:-1])]))
    assert err.value.code() == grpc.StatusCode.DATA_LOSS


@pytest.mark.parametrize(
    "overrides, code, words",
    [
        ({"method": None}, grpc.StatusCode.INVALID_ARGUMENT, "trial.method is not set"),
        ({"base_model": "builtin:no-such-model"}, grpc.StatusCode.INVALID_ARGUMENT, "no-such-model"),
        ({"train_data": "/nonexistent/train.json"}, grpc.StatusCode.INVALID_ARGUMENT, "/nonexistent/train.json"),
    ],
)
def test_bad_requests_map_to_non_retryable_status(worker, overrides, code, words):
    with pytest.raises(grpc.RpcError) as err:
        train(worker["stub"], trial_msg(**overrides), timeout=60)
    assert err.value.code() == code
    assert words in err.value.details()


def test_cancel_stops_training_and_health_answers_meanwhile(worker):
    trial = trial_msg(trial_key="svc-cancel", training=pb.TrainingSettings(steps=5000, learning_rate=1e-3, batch_size=4, seq_len=48))
    call = worker["stub"].Train(pb.TrainRequest(trial=trial), timeout=300)
    first = next(call)
    assert first.progress.step == 1
    health = health_pb2_grpc.HealthStub(worker["channel"])
    # The event loop is free while the trial trains: a health check costs a few training steps at most, measured
    # against this training's own step time on this machine (a blocked loop would answer after all 5000 steps).
    t0 = time.monotonic()
    assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=60).status == health_pb2.HealthCheckResponse.SERVING
    health_s = time.monotonic() - t0
    t0 = time.monotonic()
    steps = [next(call).progress.step for _ in range(20)]
    step_s = (time.monotonic() - t0) / 20
    assert steps[-1] < 5000, steps
    assert health_s < 50 * step_s + 0.05, (health_s, step_s)
    call.cancel()
    # The device lock is released once training stopped: the next call runs promptly.
    t0 = time.monotonic()
    _, _, result = train(worker["stub"], trial_msg(trial_key="svc-after-cancel", training=pb.TrainingSettings(
        steps=1, learning_rate=1e-3, batch_size=2, seq_len=64)), timeout=60)
    assert result.steps == 1
    assert time.monotonic() - t0 < 30


def test_count_parameters_matches_what_training_allocates(worker):
    trial = trial_msg(method="bslora", rank=0, ranks=pb.BSLoraRanks(local=2, intra=2, inter=4), share_mode="slice",
                      trial_key="svc-count", training=pb.TrainingSettings(steps=1, learning_rate=1e-3, batch_size=2, seq_len=64))
    counted = worker["stub"].CountParameters(pb.CountParametersRequest(trial=trial), timeout=60).counts
    _, _, result = train(worker["stub"], trial, timeout=60)
    assert counted.total == result.counts.total
    assert (counted.local, counted.intra, counted.inter) == (result.counts.local, result.counts.intra, result.counts.inter)
    # the serving footprint counted without weights equals the trained adapter's, its file size measured
    assert counted.footprint == result.counts.footprint and result.counts.footprint.adapter_file_bytes > 0
    assert counted.footprint.resident_bytes_fp32 == 4 * counted.total


@pytest.mark.parametrize(
    "mode, extra, total",
    [("slice", {}, 8_167_424), ("gate", {"gate_share_size": 1024}, 11_206_656), ("kron", {"kron_share_size": 256}, 5_090_368)],
)
def test_count_parameters_of_llama2_7b_needs_no_weights(worker, mode, extra, total):
    """The paper notes' closed forms (all seven modules, 2/4/16), from the config alone, within seconds."""
    trial = trial_msg(method="bslora", rank=0, ranks=pb.BSLoraRanks(local=2, intra=4, inter=16), share_mode=mode,
                      base_model="meta-llama/Llama-2-7b-hf",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], **extra)
    t0 = time.monotonic()
    counts = worker["stub"].CountParameters(pb.CountParametersRequest(trial=trial), timeout=60).counts
    assert counts.total == total
    assert counts.footprint.resident_bytes_bf16 == 2 * total and counts.footprint.resident_bytes_fp32 == 4 * total
    assert counts.footprint.adapter_file_bytes > 4 * total
    assert counts.footprint.adapters_per_gib == pytest.approx(2**30 / (2 * total))
    assert counts.base_total == 6_738_415_616
    assert time.monotonic() - t0 < 15


def test_count_parameters_of_lora_and_vera_match_training(worker):
    for method, rank in (("lora", 4), ("vera", 8)):
        trial = trial_msg(method=method, rank=rank, trial_key=f"svc-count-{method}",
                          training=pb.TrainingSettings(steps=1, learning_rate=1e-3, batch_size=2, seq_len=64))
        counted = worker["stub"].CountParameters(pb.CountParametersRequest(trial=trial), timeout=60).counts
        _, _, result = train(worker["stub"], trial, timeout=60)
        assert counted.total == result.counts.total > 0, method
        assert counted.footprint.resident_bytes_bf16 == result.counts.footprint.resident_bytes_bf16 > 0, method
        if method == "lora":  # VeRA's file size is known only once trained
            assert counted.footprint.adapter_file_bytes == result.counts.footprint.adapter_file_bytes, method


def test_count_parameters_of_an_unknown_offline_hub_model_fails_precondition(worker):
    trial = trial_msg(base_model="someone/unknown-model-xyz")
    with pytest.raises(grpc.RpcError) as err:
        worker["stub"].CountParameters(pb.CountParametersRequest(trial=trial), timeout=60)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "someone/unknown-model-xyz" in err.value.details()


def test_count_parameters_with_a_kron_size_that_does_not_divide_is_invalid_argument(worker):
    trial = trial_msg(method="bslora", rank=0, ranks=pb.BSLoraRanks(local=1, intra=1, inter=1), share_mode="kron",
                      kron_share_size=48)
    with pytest.raises(grpc.RpcError) as err:
        worker["stub"].CountParameters(pb.CountParametersRequest(trial=trial), timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "48" in err.value.details()


def _peft_msg(fields: dict, peft_version: str = "", key: str = "svc-peft") -> pb.Trial:
    trial = trial_msg(method="peft", rank=0, trial_key=key,
                      training=pb.TrainingSettings(steps=2, learning_rate=1e-3, batch_size=2, seq_len=64))
    trial.peft.name = "entry"
    trial.peft.config_json = json.dumps(fields)
    trial.peft.peft_version = peft_version
    return trial


def test_count_parameters_validates_a_peft_entry_and_its_canonical_config_trains_to_that_count(worker):
    res = worker["stub"].CountParameters(
        pb.CountParametersRequest(trial=_peft_msg({"peft_type": "LOHA", "r": 4, "alpha": 8})), timeout=60)
    config = json.loads(res.canonical_config_json)
    assert config["peft_type"] == "LOHA" and config["r"] == 4 and sorted(config["target_modules"]) == sorted(TARGETS)
    assert res.peft_version == "0.21.2" and res.counts.total > 0
    # The planner sends the canonical config back with the version: it trains, to the counted size.
    trial = _peft_msg(config, res.peft_version, key="svc-peft-canonical")
    _, _, result = train(worker["stub"], trial, timeout=60)
    assert result.counts.total == res.counts.total


def test_a_peft_trial_not_validated_by_this_peft_is_refused_and_a_bad_entry_is_invalid_argument(worker):
    with pytest.raises(grpc.RpcError) as err:
        list(worker["stub"].Train(pb.TrainRequest(trial=_peft_msg({"peft_type": "LOHA"}, "0.1.0")), timeout=60))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "0.1.0" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        worker["stub"].CountParameters(pb.CountParametersRequest(trial=_peft_msg({"peft_type": "LOHA", "rr": 4})),
                                       timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "rr" in err.value.details()

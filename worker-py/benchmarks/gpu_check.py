"""GPU check: SmolLM2 trained with LoRA and with BSLoRA on a CUDA device in bf16 (fp32 adapters), compared with the
same trials on the CPU in fp32, with time per step and peak memory. Exits 1 when a check fails.

Run on a CUDA machine (the whole script, install included, within 10 minutes; docs/benchmarks.md)::

    .venv/bin/python worker-py/benchmarks/gpu_check.py --out test-artifacts/gpu-check.json

Prove it runs without a GPU (the CPU stands in for the device; every check still runs)::

    OMP_NUM_THREADS=1 .venv/bin/python worker-py/benchmarks/gpu_check.py --device cpu --steps 3 --eval-items 8

What it does, per method (LoRA r=8 and BSLoRA kron 2/4/8, on q/k/v/up/down, ``builtin:arith``), through the
worker's own trial code (``train_trial``, ``evaluate_trial``):

1. the base model's logits on one batch, device (bf16 weights) against CPU (fp32): relative error and agreement
   of the next-token argmax;
2. ``--steps`` training steps on each side from the same seed: the step-1 losses (the base model's, since B starts at
   zero) agree within the bf16 tolerance, the loss falls on the device, the curves stay close;
3. the adapter trained on the device is scored on the device and, loaded from its archive, on the CPU: the same
   adapter gives nearly the same accuracy on both (bf16 against fp32 base weights);
4. time per step (median of the steps after the first) and peak memory on each side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

from bslora_worker.devices import base_dtype, peak_memory_bytes, place_on_device
from bslora_worker.models import load_base_model
from bslora_worker.trials.evaluate_trial import evaluate_trial
from bslora_worker.trials.train_trial import train_trial
from bslora_worker.trials.trial import Trial

TARGETS = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")
# bf16 keeps 8 bits of mantissa: logits of a 30-layer model drift by about a percent from fp32.
LOGIT_REL_TOL = 0.05
ARGMAX_AGREEMENT_MIN = 0.9
STEP1_LOSS_REL_TOL = 0.03
CURVE_REL_TOL = 0.15
ACC_DIFF_MAX = 0.1


def trial_for(method: str, args) -> Trial:
    from bslora_api.worker.v1 import worker_service_pb2 as pb

    from bslora_worker.contract_files import method_versions

    msg = pb.Trial(
        trial_key=f"gpu-check-{method}",
        name=f"gpu-check-{method}",
        method_version=method_versions()[method],
        base_model=args.model,
        task_type=pb.TASK_TYPE_CAUSAL_LM,
        train_data="builtin:arith",
        eval_tasks=["builtin:arith"],
        target_modules=list(TARGETS),
        training=pb.TrainingSettings(steps=args.steps, learning_rate=1e-3, batch_size=args.batch_size, seq_len=64,
                                     eval_limit=args.eval_items),
        seed=0,
    )
    if method == "lora":
        msg.lora.rank = 8
        msg.lora.lora_alpha = 16.0
    else:
        msg.bslora.ranks.CopyFrom(pb.BSLoraRanks(local=2, intra=4, inter=8))
        msg.bslora.kron.share_size = args.kron_share_size
    return Trial(msg)


def timed_training(trial: Trial, base, run_dir: Path, device: str) -> dict:
    stamps: list[float] = []
    losses: list[float] = []

    def on_progress(p) -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        losses.append(p.loss)

    started = time.perf_counter()
    out = train_trial(trial, base, run_dir, on_progress, threading.Event())
    steps = [b - a for a, b in zip([started] + stamps, stamps)]
    return {
        "outcome": out,
        "losses": losses,
        # The first step includes the optimizer's and kernels' warm-up.
        "seconds_per_step": statistics.median(steps[1:] if len(steps) > 1 else steps),
        "first_step_seconds": steps[0],
        "peak_memory_bytes": out.peak_memory_bytes,
    }


def base_logits(base, device: str) -> torch.Tensor:
    tok = base.tokenizer
    texts = ["Question: What is 12 + 7?\nAnswer:", "The capital of France is", "def add(a, b):\n    return"]
    seqs = [tok.encode(t) for t in texts]
    width = max(map(len, seqs))
    ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    with torch.no_grad():
        out = base.model(input_ids=ids.to(device), attention_mask=mask.to(device))
    return out.logits.float().cpu()[mask.bool()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda:0", help="the device under test (cpu: a dry run of the whole script)")
    ap.add_argument("--model", default="builtin:smollm2-135m")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--eval-items", type=int, default=100)
    ap.add_argument("--kron-share-size", type=int, default=64, help="must divide every adapted dimension (64: SmolLM2)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    ap.add_argument("--out", type=Path, default=None, help="also write the report here as JSON")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    if dev.startswith("cuda") and not torch.cuda.is_available():
        print(f"--device {dev}: torch {torch.__version__} sees no CUDA device (use --device cpu for a dry run)",
              file=sys.stderr)
        return 2

    report: dict = {
        "device": dev,
        "device_name": torch.cuda.get_device_name(torch.device(dev)) if dev.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "model": args.model,
        "base_dtype_on_device": str(base_dtype(dev)),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "eval_items": args.eval_items,
        "methods": {},
        "checks": [],
    }

    def check(name: str, ok: bool, detail) -> None:
        report["checks"].append({"name": name, "ok": bool(ok), "detail": detail})
        print(f"{'ok  ' if ok else 'FAIL'}  {name}: {detail}", flush=True)

    t0 = time.perf_counter()
    cpu_base = load_base_model(args.model)
    dev_base = place_on_device(load_base_model(args.model), dev)
    report["load_seconds"] = round(time.perf_counter() - t0, 1)
    check("base weights are bf16 on a CUDA device, fp32 on the CPU",
          next(dev_base.model.parameters()).dtype == base_dtype(dev)
          and next(cpu_base.model.parameters()).dtype == torch.float32,
          str(next(dev_base.model.parameters()).dtype))

    a, b = base_logits(cpu_base, "cpu"), base_logits(dev_base, dev)
    rel = float((a - b).norm() / a.norm())
    agree = float((a.argmax(-1) == b.argmax(-1)).float().mean())
    report["base_logits"] = {"relative_error": rel, "argmax_agreement": agree}
    check("base logits: device against CPU", rel <= LOGIT_REL_TOL and agree >= ARGMAX_AGREEMENT_MIN,
          f"relative error {rel:.4f} (<= {LOGIT_REL_TOL}), argmax agreement {agree:.3f} (>= {ARGMAX_AGREEMENT_MIN})")

    with tempfile.TemporaryDirectory(prefix="bslora-gpu-check-") as tmp:
        for method in ("lora", "bslora"):
            trial = trial_for(method, args)
            on_dev = timed_training(trial, dev_base, Path(tmp) / f"{method}-dev", dev)
            on_cpu = timed_training(trial, cpu_base, Path(tmp) / f"{method}-cpu", "cpu")
            out = on_dev["outcome"]
            adapter_dtypes = sorted({str(p.dtype) for p in _adapter_tensors(out.adapter)})
            (dev_scores,), _ = evaluate_trial(trial, out.adapter_sha256, dev_base, Path(tmp) / f"{method}-dev",
                                              lambda *e: None, threading.Event())
            # The device's adapter, from its archive, on the CPU's fp32 base.
            cpu_dir = Path(tmp) / f"{method}-cpu"
            (cpu_dir / "adapters").mkdir(parents=True, exist_ok=True)
            (cpu_dir / "adapters" / f"{out.adapter_sha256}.tar").write_bytes(out.adapter)
            (cross_scores,), _ = evaluate_trial(trial, out.adapter_sha256, cpu_base, cpu_dir, lambda *e: None,
                                                threading.Event())
            m = {
                "trainable": out.counts["total"],
                "adapter_dtypes": adapter_dtypes,
                "device": {"losses": on_dev["losses"], "seconds_per_step": on_dev["seconds_per_step"],
                           "first_step_seconds": on_dev["first_step_seconds"],
                           "peak_memory_bytes": on_dev["peak_memory_bytes"], "acc": dev_scores.acc},
                "cpu": {"losses": on_cpu["losses"], "seconds_per_step": on_cpu["seconds_per_step"],
                        "peak_memory_bytes": on_cpu["peak_memory_bytes"]},
                "device_adapter_scored_on_cpu": {"acc": cross_scores.acc},
                "speedup_per_step": on_cpu["seconds_per_step"] / max(on_dev["seconds_per_step"], 1e-9),
            }
            report["methods"][method] = m
            ld, lc = on_dev["losses"], on_cpu["losses"]
            check(f"{method}: adapters stay fp32", adapter_dtypes == ["torch.float32"], adapter_dtypes)
            check(f"{method}: step-1 loss, device against CPU", abs(ld[0] - lc[0]) <= STEP1_LOSS_REL_TOL * lc[0],
                  f"{ld[0]:.4f} vs {lc[0]:.4f} (within {STEP1_LOSS_REL_TOL:.0%})")
            tail = max(1, len(ld) // 5)
            end_d, end_c = sum(ld[-tail:]) / tail, sum(lc[-tail:]) / tail
            if len(ld) >= 5:
                check(f"{method}: loss falls on the device", end_d < ld[0], f"{ld[0]:.4f} -> {end_d:.4f}")
            check(f"{method}: final loss, device against CPU", abs(end_d - end_c) <= CURVE_REL_TOL * max(end_c, 1e-6),
                  f"{end_d:.4f} vs {end_c:.4f} (within {CURVE_REL_TOL:.0%})")
            check(f"{method}: the device's adapter scores alike on both", abs(dev_scores.acc - cross_scores.acc)
                  <= ACC_DIFF_MAX, f"acc {dev_scores.acc:.3f} on {dev}, {cross_scores.acc:.3f} on cpu")
            check(f"{method}: peak memory recorded", on_dev["peak_memory_bytes"] > 0,
                  f"{on_dev['peak_memory_bytes'] / 2**20:.0f} MiB on {dev}")
            print(f"{method}: {on_dev['seconds_per_step'] * 1000:.1f} ms/step on {dev}, "
                  f"{on_cpu['seconds_per_step'] * 1000:.1f} ms/step on cpu (x{m['speedup_per_step']:.1f}); "
                  f"peak {on_dev['peak_memory_bytes'] / 2**20:.0f} MiB on {dev}", flush=True)

    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    report["peak_memory_bytes_process"] = peak_memory_bytes(dev)
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    report["passed"] = not failed
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({"passed": report["passed"], "failed": failed, "total_seconds": report["total_seconds"]}))
    return 0 if not failed else 1


def _adapter_tensors(archive: bytes):
    """The tensors of a saved adapter archive (tar of PEFT's save_pretrained output)."""
    import io
    import tarfile

    from safetensors.torch import load as load_safetensors

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.name.endswith(".safetensors"):
                yield from load_safetensors(tar.extractfile(member).read()).values()


if __name__ == "__main__":
    sys.exit(main())

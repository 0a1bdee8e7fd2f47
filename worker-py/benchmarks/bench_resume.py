"""Checkpoint and resume on a real model: an uninterrupted trial against the same trial interrupted at step k and
resumed from its last checkpoint, on one resident base.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python worker-py/benchmarks/bench_resume.py [--model builtin:smollm2-135m] \
        [--steps 20] [--checkpoint-every 5] [--interrupt-at 12] [--threads 1]

Prints the final losses of both runs and their difference, whether the adapters are bit-identical, the step the
rerun resumed from, and the time the rerun took against a rerun from scratch (the time saved by resuming; the
steps done after the last checkpoint before the interruption are lost and done again).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import torch

from bslora_worker.errors import Cancelled
from bslora_worker.models import load_base_model
from bslora_worker.trials.train_trial import train_trial
from bslora_worker.trials.trial import Trial


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:smollm2-135m")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--checkpoint-every", type=int, default=5)
    ap.add_argument("--interrupt-at", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    def trial(key: str, checkpoint_every: int) -> Trial:
        return Trial(trial_key=key, name="bench-resume", method="bslora", base_model=args.model,
                     task_type="causal_lm", train_data="builtin:arith", eval_tasks=(),
                     target_modules=("q_proj", "k_proj", "v_proj", "up_proj", "down_proj"), steps=args.steps,
                     learning_rate=1e-3, batch_size=args.batch_size, seq_len=32, seed=0, r_local=2, r_intra=2,
                     r_inter=2, share_mode="kron", kron_share_size=64, checkpoint_every=checkpoint_every)

    t0 = time.perf_counter()
    base = load_base_model(args.model)
    print(f"model {args.model} loaded in {time.perf_counter() - t0:.1f}s; torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        full = train_trial(trial("bench-full", 0), base, tmp / "full", lambda p: None, threading.Event())
        full_s = time.perf_counter() - t0

        cancel = threading.Event()
        interrupted = trial("bench-resumed", args.checkpoint_every)
        t0 = time.perf_counter()
        try:
            train_trial(interrupted, base, tmp / "resumed",
                        lambda p: cancel.set() if p.step == args.interrupt_at else None, cancel)
            raise SystemExit("the interrupted run was not interrupted")
        except Cancelled:
            pass
        before_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        resumed = train_trial(interrupted, base, tmp / "resumed", lambda p: None, threading.Event())
        rerun_s = time.perf_counter() - t0

    k = resumed.resumed_from_step
    print(f"{args.steps} steps × {args.batch_size}, BSLoRA kron(64) r=2/2/2 on builtin:arith, checkpoint every "
          f"{args.checkpoint_every}, interrupted after step {args.interrupt_at}")
    print(f"  uninterrupted: final loss {full.final_loss:.6f}, {full_s:.1f} s")
    print(f"  resumed from step {k}: final loss {resumed.final_loss:.6f}, rerun {rerun_s:.1f} s "
          f"(interrupted run {before_s:.1f} s)")
    print(f"  |final loss difference|: {abs(resumed.final_loss - full.final_loss):.2e}; adapters bit-identical: "
          f"{resumed.adapter_sha256 == full.adapter_sha256}")
    print(f"  rerun from the checkpoint {rerun_s:.1f} s vs from scratch {full_s:.1f} s: "
          f"{full_s - rerun_s:.1f} s saved "
          f"({(full_s - rerun_s) / full_s:.0%}; {k} of {args.steps} steps not redone)")


if __name__ == "__main__":
    main()

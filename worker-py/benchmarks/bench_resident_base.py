"""Time to first optimizer step: a cold trial (load the base model, wrap, step) against a trial on the resident
base (wrap, step), in one process, side by side.

Run::

    .venv/bin/python worker-py/benchmarks/bench_resident_base.py [--model builtin:smollm2-135m] [--repeats 3]

Prints each timing and the ratio cold / resident. The worker keeps the base resident between trials
(resident_models.py), so every trial after the first on a base pays only the resident time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bslora_worker.models import load_base_model
from bslora_worker.trials.train_trial import train_trial
from bslora_worker.trials.trial import Trial


class _FirstStep(Exception):
    pass


def time_to_first_step(trial: Trial, base_loader, run_dir: Path) -> float:
    started = time.perf_counter()
    base = base_loader()

    def on_progress(p):
        raise _FirstStep()

    try:
        train_trial(trial, base, run_dir, on_progress, threading.Event())
    except _FirstStep:
        pass
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:smollm2-135m")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    def trial(i: int) -> Trial:
        return Trial(trial_key=f"bench-{i}", name="bench", method="bslora", base_model=args.model, task_type="causal_lm",
                     train_data="builtin:arith", eval_tasks=(), target_modules=("q_proj", "k_proj", "v_proj", "up_proj",
                     "down_proj"), steps=2, learning_rate=1e-4, batch_size=4, seq_len=64, seed=i, r_local=2, r_intra=2,
                     r_inter=4, share_mode="slice")

    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            cold.append(time_to_first_step(trial(i), lambda: load_base_model(args.model), Path(tmp)))
        resident = load_base_model(args.model)
        time_to_first_step(trial(99), lambda: resident, Path(tmp))  # first wrap on this base: excluded
        for i in range(args.repeats):
            warm.append(time_to_first_step(trial(100 + i), lambda: resident, Path(tmp)))
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"model {args.model}, {args.repeats} repeats, median time to first step")
    print(f"  cold (load + wrap + step): {c:.3f} s   {[round(x, 3) for x in cold]}")
    print(f"  resident (wrap + step):    {w:.3f} s   {[round(x, 3) for x in warm]}")
    print(f"  ratio cold / resident:     {c / w:.1f}x")


if __name__ == "__main__":
    main()

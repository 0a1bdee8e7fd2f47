"""Peak memory and time per training step with and without ``training.gradient_checkpointing`` and
``training.bf16_autocast``, side by side, on one model at one batch shape.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python worker-py/benchmarks/bench_memory.py \\
        [--model builtin:smollm2-135m] [--batch-size 8] [--seq-len 192] [--steps 3] [--configs plain,gc,bf16,gc+bf16]

Each configuration runs in a process of its own (so one's allocations do not hide in another's resident set): load
the base, wrap it in LoRA r=8 on q/k/v/up/down as a trial does, run one untimed step, then ``--steps`` timed steps
on full-length sequences (random token ids, every position a label) inside the worker's own ``memory_settings`` /
``step_autocast`` / ``PeakMemory`` (bslora_worker/trials/memory.py). Prints, per configuration, the resident set
after loading, the peak during the steps (sampled every 20 ms), the peak above the loaded model, the median step
time, and the ratios against ``plain``. Results: docs/benchmarks.md, "Memory".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CONFIGS = {"plain": {}, "gc": {"gradient_checkpointing": True}, "bf16": {"bf16_autocast": True},
           "gc+bf16": {"gradient_checkpointing": True, "bf16_autocast": True}}


def measure(model_ref: str, config: str, batch_size: int, seq_len: int, steps: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model

    from bslora_worker.models import load_base_model
    from bslora_worker.trials.memory import PeakMemory, _rss_bytes, memory_settings, step_autocast

    class Settings:  # the two fields memory_settings / step_autocast read, plus the name they print
        base_model = model_ref
        gradient_checkpointing = CONFIGS[config].get("gradient_checkpointing", False)
        bf16_autocast = CONFIGS[config].get("bf16_autocast", False)

    torch.manual_seed(0)
    base = load_base_model(model_ref)
    loaded = _rss_bytes()
    model = get_peft_model(base.model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05,
                                                  target_modules=["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    vocab = base.model.config.vocab_size
    ids = torch.randint(0, vocab, (batch_size, seq_len), generator=torch.Generator().manual_seed(0))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}
    device = torch.device("cpu")
    times = []
    with memory_settings(model, Settings, device), PeakMemory(device) as peak:
        for step in range(steps + 1):
            started = time.perf_counter()
            with step_autocast(Settings, device):
                loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step > 0:  # the first step allocates the optimizer state and warms the allocator
                times.append(time.perf_counter() - started)
    return {"config": config, "loaded_bytes": loaded, "peak_bytes": peak.peak_bytes,
            "above_loaded_bytes": peak.peak_bytes - loaded, "step_s": statistics.median(times), "steps": times,
            "loss": float(loss), "threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="builtin:smollm2-135m")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=192)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this configuration in this process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.model, args.one, args.batch_size, args.seq_len, args.steps)))
        return
    rows = []
    for config in args.configs.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", config, "--model", args.model, "--batch-size",
                              str(args.batch_size), "--seq-len", str(args.seq_len), "--steps", str(args.steps)],
                             check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    plain = next((r for r in rows if r["config"] == "plain"), rows[0])
    gib = 1024 ** 3
    print(f"\n{args.model}, batch {args.batch_size} x {args.seq_len} tokens, LoRA r=8, median of {args.steps} steps")
    print("| configuration | loaded | peak | peak above loaded | vs plain | step | vs plain |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['config']} | {r['loaded_bytes'] / gib:.2f} GiB | {r['peak_bytes'] / gib:.2f} GiB | "
              f"{r['above_loaded_bytes'] / gib:.2f} GiB | {r['peak_bytes'] / plain['peak_bytes']:.2f}x peak, "
              f"{r['above_loaded_bytes'] / plain['above_loaded_bytes']:.2f}x above | {r['step_s']:.2f} s | "
              f"{r['step_s'] / plain['step_s']:.2f}x |")


if __name__ == "__main__":
    main()

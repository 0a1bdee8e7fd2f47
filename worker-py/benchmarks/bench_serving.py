"""Many adapters on one base model: what LoRA and BSLoRA cost to serve, side by side in one run.

Two parts:

* ``--part shapes`` (Llama-2-7B, exact, no weights): per-adapter bytes from the shapes on the meta device for LoRA r=8
  and every BSLoRA configuration of jobs/paper/ (plus slice 2/4/16), resident memory against N, and how many
  adapters fit beside the fp16 base model in 80 GiB (the reference repository's plot).
* ``--part measured`` (SmolLM2-135M, builtin): for LoRA r=8 and BSLoRA 2/4/16 in each mode, N adapters loaded into an
  ``AdapterPool`` from a saved directory (N = the --ns list): resident bytes (the pool's count and the process's RSS
  growth), the time to load one adapter, and tokens/s of a mixed batch of --rows rows drawn at random from the N
  adapters, distinct once N >= rows (one forward over rows × seq tokens, best of --rounds), against the base model
  alone (the same wrapped model under ``disable_adapter()``). The LoRA rows are PEFT LoRA's own mixed batch
  (``adapter_names=``).

Each method's N adapters are N loads of one saved directory under N names (identical bytes, so the same memory and
load time as N different adapters; what the rows compute does not change the time). The methods are measured in one
process, and the timing rounds interleave the base model and the pools so that machine noise hits them alike.

    .venv/bin/python worker-py/benchmarks/bench_serving.py --part shapes
    nice -n 10 .venv/bin/python worker-py/benchmarks/bench_serving.py --part measured --ns 1,10,32 --timed-ns 32 \
        --rows 32 --seq 8 --rounds 3 --threads 1
    nice -n 10 .venv/bin/python worker-py/benchmarks/bench_serving.py --part measured --only kron --ns 32 --timed-ns 0

(the second: one method in a fresh process, for its RSS growth; see docs/benchmarks.md for why N stops at 32)
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import peft  # noqa: E402
import torch  # noqa: E402

import bslora  # noqa: E402
from bslora.footprint import lora_serving_footprint, serving_footprint  # noqa: E402

TARGETS = ["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]  # jobs/paper/llama2-7b-commonsense.yaml
# (label, share_mode, share size, (r_local, r_intra, r_inter)): the paper job's grid, plus slice 2/4/16
PAPER = [
    ("gate 2/4/8", "gate", 1024, (2, 4, 8)),
    ("gate 2/4/16", "gate", 1024, (2, 4, 16)),
    ("gate 2/8/8", "gate", 1024, (2, 8, 8)),
    ("kron 4/8/8", "kron", 256, (4, 8, 8)),
    ("kron 2/4/16", "kron", 256, (2, 4, 16)),
    ("kron 2/8/16", "kron", 256, (2, 8, 16)),
    ("kron 2/8/32", "kron", 256, (2, 8, 32)),
    ("slice 2/4/16", "slice", 0, (2, 4, 16)),
]
GB = 10**9
MIB = 1 << 20
GIB = 1 << 30


def bslora_config(mode: str, size: int, ranks, init_weights=True) -> bslora.BSLoraConfig:
    extra = {f"{mode}_share_size": size} if mode != "slice" else {}
    return bslora.BSLoraConfig(r_local=ranks[0], r_intra=ranks[1], r_inter=ranks[2], share_mode=mode,
                               target_modules=TARGETS, init_weights=init_weights, **extra)


# ---------------------------------------------------------------------------------------------------- shapes (7B)
def shapes_part(hbm_gb: float) -> None:
    from bslora_worker.models.known_configs import known_config

    cfg = known_config("meta-llama/Llama-2-7b-hf")
    with torch.device("meta"):
        from transformers import LlamaForCausalLM

        model = LlamaForCausalLM(cfg)
    base_params = sum(p.numel() for p in model.parameters())
    base_fp16 = base_params * 2
    rows = [("LoRA r=8", lora_serving_footprint(model, 8, TARGETS))]
    rows += [(label, serving_footprint(model, bslora_config(m, s, r))) for label, m, s, r in PAPER]
    # the reference plot's "80 GB": 80 GiB of device memory, the fp16 base model resident, adapters in fp32; its
    # 53.5 MB and 17.44 MB per adapter are MiB (53.5 MiB = LoRA r=8 on these five modules, in fp32)
    room = hbm_gb * GIB - base_fp16
    ref = {label: int(room // (mib * MIB)) for label, mib in (("LoRA", 53.5), ("BSLoRA", 17.44))}
    print(f"The reference plot's per-adapter sizes through the same formula ({hbm_gb:g} GiB - fp16 base) / fp32 "
          f"adapter: LoRA 53.5 MiB -> {ref['LoRA']:,} adapters, BSLoRA 17.44 MiB -> {ref['BSLoRA']:,} adapters.\n")
    print(f"Llama-2-7B (meta device): {base_params:,} base parameters, {base_fp16 / GB:.2f} GB in fp16; "
          f"adapters on {', '.join(TARGETS)}\n")
    print("| adapter | parameters | fp32 MiB | bf16 MiB | merged bf16 MiB | file MiB | bf16 per GiB "
          "| fit in 80 GiB, fp32 | fit in 80 GiB, bf16 | fit merged, bf16 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, fp in rows:
        params = fp["resident_bytes_fp32"] // 4
        print(f"| {label} | {params:,} | {fp['resident_bytes_fp32'] / MIB:.2f} "
              f"| {fp['resident_bytes_bf16'] / MIB:.2f} "
              f"| {fp['merged_resident_bytes_bf16'] / MIB:.2f} | {fp['adapter_file_bytes'] / MIB:.2f} "
              f"| {fp['adapters_per_gib']:.1f} | {int(room // fp['resident_bytes_fp32']):,} "
              f"| {int(room // fp['resident_bytes_bf16']):,} | {int(room // fp['merged_resident_bytes_bf16']):,} |")
    print(f"\nResident memory against N (GB, base fp16 {base_fp16 / GB:.2f} GB included; adapters in fp32 | bf16):\n")
    ns = [1, 10, 100, 1000, 10000]
    print("| adapter | " + " | ".join(f"N={n:,}" for n in ns) + " |")
    print("|---|" + "---:|" * len(ns))
    for label, fp in rows:
        cells = [f"{(base_fp16 + n * fp['resident_bytes_fp32']) / GB:.1f} \\| "
                 f"{(base_fp16 + n * fp['resident_bytes_bf16']) / GB:.1f}" for n in ns]
        print(f"| {label} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------------------------------------------- measured
def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def save_adapter(base, config, directory: Path) -> None:
    torch.manual_seed(0)
    pm = peft.get_peft_model(base, config)
    pm.save_pretrained(directory)
    pm.unload()  # the base comes back bare, for the next method


def mixed_tokens_per_s(run, rows: int, seq: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    return rows * seq / best


def measured_part(ns: list[int], rows: int, seq: int, rounds: int, threads: int, kron_size: int,
                  timed_ns: set[int], only: str = "") -> None:
    from bslora_worker.models import load_base_model
    from bslora_worker.serving import AdapterPool

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    loaded = load_base_model("builtin:smollm2-135m")
    base = loaded.model.eval()
    print(f"SmolLM2-135M loaded in {time.perf_counter() - t0:.0f} s ({base.dtype}); {threads} thread(s); "
          f"mixed batch {rows} rows × {seq} tokens; N = {ns}\n")
    methods = [("LoRA r=8", peft.LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, init_lora_weights=False))]
    methods += [(f"BSLoRA {m} 2/4/16", bslora_config(m, s, (2, 4, 16), init_weights=False))
                for m, s in (("slice", 0), ("gate", 1024), ("kron", kron_size))]
    methods = [(label, config) for label, config in methods if only in label]
    ids = torch.randint(0, base.config.vocab_size, (rows, seq), generator=torch.Generator().manual_seed(0))
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    for label, config in methods:
        if isinstance(config, bslora.BSLoraConfig):  # as the worker does: the adapter names its base model
            config.base_model_identity = loaded.identity
        save_adapter(base, config, work / label.replace(" ", "_").replace("/", "-"))

    results = []
    for label, _ in methods:
        directory = work / label.replace(" ", "_").replace("/", "-")
        file_bytes = (directory / "adapter_model.safetensors").stat().st_size
        gc.collect()
        rss0 = rss_bytes()
        pool = AdapterPool(base, identity=loaded.identity)
        loaded_n = 0
        for n in ns:
            t = time.perf_counter()
            for i in range(loaded_n, n):
                pool.load(f"a{i}", directory)
            load_s = (time.perf_counter() - t) / max(1, n - loaded_n)
            loaded_n = n
            gc.collect()
            # rows draw distinct adapters once N >= rows (the most groups a batch can have), with repeats below
            rng = random.Random(0)
            names = [f"a{i}" for i in (rng.sample(range(n), rows) if n >= rows else rng.choices(range(n), k=rows))]
            tps_base = tps_mixed = float("nan")  # not timed at this N
            if n in timed_ns:
                tps_base = tps_mixed = 0.0
            for _ in range(rounds if n in timed_ns else 0):  # interleaved: noise hits both alike
                with pool.peft_model.disable_adapter():
                    tps_base = max(tps_base, mixed_tokens_per_s(base_run_wrapped(pool, ids), rows, seq, 1))
                tps_mixed = max(tps_mixed, mixed_tokens_per_s(lambda: pool.forward(ids, names), rows, seq, 1))
            grown = rss_bytes() - rss0
            results.append((label, n, pool.resident_bytes(), grown, load_s, tps_mixed, tps_base, file_bytes))
            print(f"{label:>20} N={n:>5}: pool {pool.resident_bytes() / MIB:8.1f} MiB, RSS +{grown / MIB:8.1f} MiB, "
                  f"load {load_s * 1000:7.1f} ms/adapter, mixed {tps_mixed:7.1f} tok/s, base {tps_base:7.1f} tok/s",
                  flush=True)
        for name in list(pool.names):
            pool.unload(name)
        base = pool.base_model
        del pool
        gc.collect()

    print("\n| adapter | N | resident MiB (pool) | per adapter MiB | RSS growth MiB | load ms/adapter | mixed tok/s "
          "| base alone tok/s | mixed / base |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, n, resident, rss, load_s, tps, tps_base, _ in results:
        print(f"| {label} | {n:,} | {resident / MIB:.1f} | {resident / n / MIB:.2f} | {rss / MIB:.1f} "
              f"| {load_s * 1000:.0f} "
              f"| {tps:.0f} | {tps_base:.0f} | {tps / tps_base:.2f} |")
    lora = {n: (tps, tps_base) for label, n, _, _, _, tps, tps_base, _ in results if label.startswith("LoRA")}
    if not lora:
        return
    print("\nmixed-batch tokens/s relative to PEFT LoRA's mixed batch at the same N: raw, and each divided by the "
          "base model's tokens/s measured interleaved with it (which cancels the machine's load drifting between "
          "methods):")
    for label, n, _, _, _, tps, tps_base, _ in results:
        if not label.startswith("LoRA") and n in timed_ns:
            raw = tps / lora[n][0]
            normalized = (tps / tps_base) / (lora[n][0] / lora[n][1])
            print(f"  {label} N={n}: raw {raw:.2f}, base-normalized {normalized:.2f}")


def base_run_wrapped(pool, ids):
    def run():
        with torch.no_grad():
            pool.peft_model(input_ids=ids)
    return run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("shapes", "measured"), default="shapes")
    ap.add_argument("--hbm-gib", type=float, default=80.0, help="device memory for the 'fit' columns (GiB)")
    ap.add_argument("--ns", default="1,10,100", help="adapter counts, increasing (measured part)")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timed-ns", default="", help="time the mixed batch only at these N (default: every N; 0: never)")
    ap.add_argument("--only", default="", help="measure only the methods whose label contains this (e.g. kron)")
    ap.add_argument("--kron-share-size", type=int, default=64,
                    help="SmolLM2's dimensions (576, 192, 1536) are not multiples of the paper's 256")
    args = ap.parse_args(argv)
    if args.part == "shapes":
        shapes_part(args.hbm_gib)
    else:
        measured_part([int(n) for n in args.ns.split(",")], args.rows, args.seq, args.rounds, args.threads,
                      args.kron_share_size, {int(n) for n in (args.timed_ns or args.ns).split(",")}, args.only)


if __name__ == "__main__":
    sys.exit(main())

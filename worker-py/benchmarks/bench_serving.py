"""Many adapters on one base model: what LoRA and BSLoRA cost to serve, side by side in one run.

Two parts:

* ``--part shapes`` (Llama-2-7B, exact, no weights): per-adapter bytes from the shapes on the meta device for LoRA r=8
  and every BSLoRA configuration of jobs/paper/ (plus slice 2/4/16), resident memory against N, and how many
  adapters fit beside the fp16 base model in 80 GiB (the reference repository's plot).
* ``--part measured`` (SmolLM2-135M, builtin): for LoRA r=8 and BSLoRA 2/4/16 in each mode, N adapters in an
  ``AdapterPool`` (N = the --ns list, default 1, 10, 100, 1,000): the pool's resident bytes against parameters × 4 B,
  the time of the real ``AdapterPool.load`` of the N-th adapter from a saved directory, and tokens/s of a mixed
  batch of --rows rows drawn from the first N adapters (distinct once N >= rows), --rounds times (at most 3 below
  N = rows), median and spread,
  against the base model alone (a bare copy of the base model) and against PEFT LoRA's mixed batch
  (``adapter_names=``). The BSLoRA rows are timed twice in the same rounds: the stacked mixed batch (now) and the
  per-adapter loop it replaced (``bslora.layer.MIXED_BATCH_STACKED = False``, "before"), at the N >= rows.

Every adapter is loaded by the real ``AdapterPool.load`` from the saved directory; all N share one configuration,
so from the second on the pool takes its template path (adapter_template.py). At each N (up to --peft-load-max)
PEFT's own load of one more adapter is timed beside it, the baseline, checked to serve the same rows, and unloaded.
Up to --together-max (100) every method has its own copy of the base model and all are resident at once, so each
timing round runs the base alone (on a bare copy), LoRA and every BSLoRA mode in turn; above it LoRA grows first
and stays resident, then each BSLoRA mode grows beside it, the smallest first, is timed in the same rounds as LoRA
and the bare base, and is freed before the next.

    .venv/bin/python worker-py/benchmarks/bench_serving.py --part shapes
    .venv/bin/python worker-py/benchmarks/bench_serving.py --part measured --ns 1,10,100,1000 \
        --rows 32 --seq 8 --rounds 5 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gc
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import peft  # noqa: E402
import torch  # noqa: E402

import bslora  # noqa: E402
from bslora.counting import count_lora_parameters, count_parameters  # noqa: E402
from bslora.footprint import lora_serving_footprint, serving_footprint  # noqa: E402
from bslora_worker.serving import AdapterPool  # noqa: E402

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


class Method:
    """One method's pool on its own copy of the base model, grown to N adapters, each by the real
    ``AdapterPool.load`` (from the second on, the template path of adapter_template.py: all N share one
    configuration); at each timed N also PEFT's own load of one more adapter, the baseline, undone after."""

    def __init__(self, label, config, directory: Path, base, identity, params_per_adapter: int):
        self.label, self.config, self.directory = label, config, directory
        self.params = params_per_adapter
        self.pool = AdapterPool(base, identity=identity)
        self.peft_load_max = 0  # above this N PEFT's load is not timed (0: at every N)
        self.loads: dict[int, float] = {}  # N -> seconds of the pool's load of the N-th adapter
        self.peft_loads: dict[int, float] = {}  # N -> seconds of PEFT's load of one more adapter beside N
        self.fill_seconds = 0.0  # all loads of the adapters between the timed ones
        self.resident: dict[int, int] = {}
        self.rss: dict[int, int] = {}

    @property
    def is_bslora(self) -> bool:
        return isinstance(self.config, bslora.BSLoraConfig)

    def _load(self, name: str) -> float:
        t = time.perf_counter()
        self.pool.load(name, self.directory)
        return time.perf_counter() - t

    def grow(self, n: int, ids, profile: bool = False) -> None:
        have = len(self.pool.names)
        for i in range(have, n - 1):
            self.fill_seconds += self._load(f"a{i}")
        self.loads[n] = self._load(f"a{n - 1}")
        self.resident[n] = self.pool.resident_bytes()
        self.rss[n] = rss_bytes()
        if n > 1 and not (self.peft_load_max and n > self.peft_load_max):
            profiler = cProfile.Profile() if profile else None
            self.pool.use_templates = False
            try:
                t = time.perf_counter()
                if profiler:
                    profiler.enable()
                self.pool.load("peft-baseline", self.directory)
                if profiler:
                    profiler.disable()
                self.peft_loads[n] = time.perf_counter() - t
            finally:
                self.pool.use_templates = True
            out = self.pool.forward(ids[:1].repeat(2, 1), [f"a{n - 1}", "peft-baseline"]).logits
            if not torch.equal(out[0], out[1]):  # the template path serves what PEFT's load of the same file serves
                raise AssertionError(f"{self.label}: the pool's load of adapter {n} differs from PEFT's load")
            self.pool.unload("peft-baseline")
            if profiler:
                print(f"\nprofile of PEFT's load of adapter {n} ({self.label}), by cumulative time:")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)

    def release(self) -> None:
        self.pool = None
        gc.collect()


def time_rounds(n: int, methods: list[Method], ids, rows: int, rounds: int, base_model) -> dict[str, list[float]]:
    """tokens/s of the base alone and of each mixed batch over rows drawn from the first n adapters; every round runs
    each item once, in the same order, so that machine noise spreads over all of them."""
    rng = random.Random(n)
    names = [f"a{i}" for i in (rng.sample(range(n), rows) if n >= rows else rng.choices(range(n), k=rows))]
    seq = ids.shape[1]
    items = []

    def base():  # a bare copy of the base model, not disable_adapter(), which walks every adapter's modules
        with torch.no_grad():
            base_model(input_ids=ids)

    items.append(("base model alone", base))
    for m in methods:
        items.append((m.label, lambda m=m: m.pool.forward(ids, names)))
        if m.is_bslora and n >= rows:  # before/after where a batch has the most adapter groups
            def loop(m=m):
                bslora.layer.MIXED_BATCH_STACKED = False
                try:
                    m.pool.forward(ids, names)
                finally:
                    bslora.layer.MIXED_BATCH_STACKED = True
            items.append((f"{m.label}, per-adapter loop (before)", loop))
    times: dict[str, list[float]] = {label: [] for label, _ in items}
    for _ in range(rounds):
        for label, run in items:
            t = time.perf_counter()
            run()
            times[label].append(rows * seq / (time.perf_counter() - t))
    return times


def grow_large(pools: list[Method], big: list[int], plain, ids, rows: int, rounds: int, profile_at: int,
               timings, rss_growth) -> None:
    """Above together_max not every pool fits in memory at once: LoRA (the reference) grows first and stays
    resident, then each BSLoRA mode, the smallest first, grows beside it, is timed in the same rounds as LoRA and
    the bare base model, and is freed before the next."""
    lora = [m for m in pools if not m.is_bslora]
    others = sorted((m for m in pools if m.is_bslora), key=lambda m: m.params)
    freed = False
    for n in big:
        for m in lora + others:
            before_n, rss_before = max(m.rss, default=0), rss_bytes()
            m.grow(n, ids, profile=(n == profile_at))
            if not freed:  # once a pool was freed the heap reuses its memory and RSS growth says nothing
                added = m.resident[n] - m.resident.get(before_n, 0)
                rss_growth[m.label] = (n - before_n, m.rss[n] - rss_before, added)
            print(f"{m.label:>20} N={n:>5}: pool {m.resident[n] / MIB:8.1f} MiB, "
                  f"load of the {n}th {m.loads[n] * 1000:7.1f} ms "
                  f"(PEFT's {m.peft_loads.get(n, float('nan')) * 1000:7.0f} ms), "
                  f"RSS +{(m.rss[n] - rss_before) / MIB:.0f} MiB "
                  f"for {n - before_n} adapters", flush=True)
            if m in lora and others:
                continue  # timed with each BSLoRA mode below
            timed = lora + [m] if m not in lora else lora
            t = time_rounds(n, timed, ids, rows, rounds, plain)
            report_timing(n, t)
            for label, values in t.items():
                if label in ("base model alone", "LoRA r=8") and m not in lora:
                    label = f"{label} (with {m.label})"
                timings.setdefault(n, {})[label] = values
            if m not in lora:
                m.release()
                freed = True
    for m in lora:
        m.release()


def measured_part(ns: list[int], rows: int, seq: int, rounds: int, threads: int, kron_size: int,
                  together_max: int, only: str = "", profile_at: int = 0, peft_load_max: int = 0) -> None:
    from bslora_worker.models import load_base_model

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    loaded = load_base_model("builtin:smollm2-135m")
    base = loaded.model.eval()
    print(f"SmolLM2-135M loaded in {time.perf_counter() - t0:.0f} s ({base.dtype}); {threads} thread(s); "
          f"mixed batch {rows} rows × {seq} tokens; N = {ns}; {rounds} rounds\n", flush=True)
    configs = [("LoRA r=8", peft.LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, init_lora_weights=False))]
    configs += [(f"BSLoRA {m} 2/4/16", bslora_config(m, s, (2, 4, 16), init_weights=False))
                for m, s in (("slice", 0), ("gate", 1024), ("kron", kron_size))]
    configs = [(label, config) for label, config in configs if only in label]
    ids = torch.randint(0, base.config.vocab_size, (rows, seq), generator=torch.Generator().manual_seed(0))
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    methods = []
    for label, config in configs:
        if isinstance(config, bslora.BSLoraConfig):  # as the worker does: the adapter names its base model
            config.base_model_identity = loaded.identity
            params = count_parameters(base, config)["total"]
        else:
            params = count_lora_parameters(base, 8, TARGETS)
        directory = work / label.replace(" ", "_").replace("/", "-")
        save_adapter(base, config, directory)
        methods.append((label, config, directory, params))
    # the base alone is timed on a bare copy: PEFT's disable_adapter() walks every adapter's modules on entry and
    # exit, so on a pool's model it times that walk more than the forward once many adapters are loaded
    plain = copy.deepcopy(base)
    # each method gets its own copy of the base model, so that all pools are resident at once up to together_max
    pools = [Method(label, config, directory, base if i == 0 else copy.deepcopy(base), loaded.identity, params)
             for i, (label, config, directory, params) in enumerate(methods)]
    for m in pools:
        m.peft_load_max = peft_load_max
    timings: dict[int, dict[str, list[float]]] = {}
    for n in [n for n in ns if n <= together_max]:
        for m in pools:
            m.grow(n, ids, profile=(n == profile_at))
            print(f"{m.label:>20} N={n:>5}: pool {m.resident[n] / MIB:8.1f} MiB, "
                  f"load of the {n}th {m.loads[n] * 1000:7.1f} ms "
                  f"(PEFT's {m.peft_loads.get(n, float('nan')) * 1000:7.0f} ms)", flush=True)
        timings[n] = time_rounds(n, pools, ids, rows, rounds if n >= rows else min(rounds, 3), plain)
        report_timing(n, timings[n])
    rss_growth: dict[str, tuple[int, int, int]] = {}
    big = [n for n in ns if n > together_max]
    if big:
        grow_large(pools, big, plain, ids, rows, rounds, profile_at, timings, rss_growth)
    summarize(pools, ns, timings, rss_growth)


def med(values: list[float]) -> float:
    return statistics.median(values)


def report_timing(n: int, times: dict[str, list[float]]) -> None:
    for label, values in times.items():
        print(f"    N={n:>5} {label:>48}: median {med(values):6.1f} tok/s (min {min(values):6.1f}, "
              f"max {max(values):6.1f})", flush=True)


def summarize(pools: list[Method], ns: list[int], timings, rss_growth) -> None:
    print("\n| adapter | N | resident MiB (pool) | pool / (N × params × 4 B) | pool's load of the N-th adapter, ms "
          "| PEFT's load beside N, ms | PEFT / pool |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m in pools:
        for n in ns:
            if n in m.resident:
                print(f"| {m.label} | {n:,} | {m.resident[n] / MIB:.1f} | {m.resident[n] / (n * m.params * 4):.6f} "
                      f"| {m.loads[n] * 1000:,.1f} | {m.peft_loads.get(n, float('nan')) * 1000:,.0f} "
                      f"| {m.peft_loads.get(n, float('nan')) / m.loads[n]:,.0f} |")
        print(f"| {m.label} | all {max(m.resident):,} loads | | | {(m.fill_seconds + sum(m.loads.values())):,.1f} s "
              "in all | | |")
    if rss_growth:
        print("\nRSS growth while one method grew, before any pool was freed (after that the heap reuses the freed "
              "memory and RSS growth says nothing):")
        for label, (added, rss, tensors) in rss_growth.items():
            print(f"  {label}: +{added} adapters, RSS +{rss / MIB:.1f} MiB, tensors +{tensors / MIB:.1f} MiB, "
                  f"over the tensors {(rss - tensors) / added / 1024:.0f} KiB per adapter")
    print("\n| N | adapter | mixed tok/s, median (min–max) | base alone tok/s | mixed / base | vs LoRA's mixed batch "
          "in the same rounds (ratio of medians) |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in ns:
        t = timings.get(n)
        if not t:
            continue
        for label, values in t.items():
            if label.startswith("base model alone"):
                continue
            # above together_max each BSLoRA mode was timed in rounds of its own with LoRA and the bare base
            partner = label.split(" (with ")[1][:-1] if " (with " in label else label.split(",")[0]
            lora = t.get(f"LoRA r=8 (with {partner})", t.get("LoRA r=8"))
            base = t.get(f"base model alone (with {partner})", t.get("base model alone"))
            rel = f"{med(values) / med(lora):.2f}" if lora else "–"
            base_cells = f"{med(base):.1f} | {med(values) / med(base):.2f}" if base else "– | –"
            print(f"| {n:,} | {label} | {med(values):.1f} ({min(values):.1f}–{max(values):.1f}) "
                  f"| {base_cells} | {rel} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("shapes", "measured"), default="shapes")
    ap.add_argument("--hbm-gib", type=float, default=80.0, help="device memory for the 'fit' columns (GiB)")
    ap.add_argument("--ns", default="1,10,100,1000", help="adapter counts, increasing (measured part)")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--seq", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds per N (median and spread reported)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--together-max", type=int, default=100,
                    help="up to this N all methods are resident at once and timed interleaved; above it, LoRA "
                         "and one BSLoRA mode at a time")
    ap.add_argument("--profile-load", type=int, default=0, help="cProfile PEFT's load of the adapter at this N")
    ap.add_argument("--peft-load-max", type=int, default=0,
                    help="above this N PEFT's own load (the baseline) is not timed (0: at every N)")
    ap.add_argument("--only", default="", help="measure only the methods whose label contains this (e.g. kron)")
    ap.add_argument("--kron-share-size", type=int, default=64,
                    help="SmolLM2's dimensions (576, 192, 1536) are not multiples of the paper's 256")
    args = ap.parse_args(argv)
    if args.part == "shapes":
        shapes_part(args.hbm_gib)
    else:
        measured_part([int(n) for n in args.ns.split(",")], args.rows, args.seq, args.rounds, args.threads,
                      args.kron_share_size, args.together_max, args.only, args.profile_load,
                      args.peft_load_max)


if __name__ == "__main__":
    sys.exit(main())

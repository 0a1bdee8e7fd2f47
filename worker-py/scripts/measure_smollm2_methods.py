"""Base vs tuned on SmolLM2 for LoRA and the three BSLoRA share modes, through the worker's own trial code.

    OMP_NUM_THREADS=1 .venv/bin/python worker-py/scripts/measure_smollm2_methods.py --suite arith --seeds 0,1
    OMP_NUM_THREADS=1 .venv/bin/python worker-py/scripts/measure_smollm2_methods.py --suite commonsense --seeds 0

Loads the base model once and runs every trial on it as the worker does (``train_trial`` wraps the resident base in a
fresh adapter, trains, saves and unloads; ``evaluate_trial`` loads the saved adapter and scores by log-likelihood).

Suites:
  arith        train builtin:arith/train, evaluate the first --eval-limit items of builtin:arith/test
  commonsense  train ARC-Easy train (``#mc`` style), evaluate the first --eval-limit items of ARC-Easy test and of
               BoolQ test (``llm-adapters:`` sets: set BSLORA_DATA_MIRROR on a machine without internet)

Methods: the untuned base; LoRA r=--lora-rank (alpha 2r); BSLoRA slice / kron(--kron-share-size) /
gate(--gate-share-size) with r_local = r_intra = r_inter = r for each r in --ranks and lora_alpha = 2 * 3r (so the
scale alpha / total rank is 2, as LoRA's). All adapters target q, k, v, up, down.

``--scaling MODE`` (fixed:<s>, alpha_over_rank, rslora; the sweep setting adapter.scaling) replaces those alphas:
every adapter then gets the scale that MODE gives with the default alpha, as a sweep without lora_alpha would.
``--bslora-ranks 2/4/16`` measures that one local/intra/inter triple instead of the r/r/r ones of --ranks.

Each finished trial is printed at once (stderr) and appended as a JSON line to --out (when given); the markdown
table goes to stdout at the end. ``--resume`` skips trials already in --out, so an interrupted run can continue.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def suite_refs(suite: str) -> tuple[str, tuple[str, ...], int]:
    """(train ref, eval refs, seq_len)"""
    if suite == "arith":
        return "builtin:arith/train", ("builtin:arith/test",), 32
    if suite == "commonsense":
        return "llm-adapters:ARC-Easy#mc", ("llm-adapters:ARC-Easy#mc", "llm-adapters:boolq#mc"), 128
    raise SystemExit(f"unknown suite {suite!r}")


def method_specs(args) -> list[tuple[str, dict]]:
    """(label, Trial fields) for every method to measure, the base first."""
    specs: list[tuple[str, dict]] = [] if args.no_base else [("base", dict(method="base"))]
    scale = dict(scaling=args.scaling) if args.scaling else None
    if "lora" in args.methods:
        r = args.lora_rank
        specs.append((f"lora r={r}{_tag(args)}", dict(method="lora", rank=r, **(scale or dict(lora_alpha=2.0 * r)))))
    for mode in ("slice", "kron", "gate"):
        if mode not in args.methods:
            continue
        extra = {"kron": dict(kron_share_size=args.kron_share_size),
                 "gate": dict(gate_share_size=args.gate_share_size)}
        label_mode = {"slice": "slice", "kron": f"kron({args.kron_share_size})",
                      "gate": f"gate({args.gate_share_size})"}
        if args.bslora_ranks:
            local, intra, inter = (int(x) for x in args.bslora_ranks.split("/"))
            specs.append((f"bslora {label_mode[mode]} {args.bslora_ranks}{_tag(args)}",
                           dict(method="bslora", share_mode=mode, r_local=local, r_intra=intra, r_inter=inter,
                                **(scale or dict(lora_alpha=2.0 * (local + intra + inter))), **extra.get(mode, {}))))
            continue
        for r in args.ranks:
            specs.append((f"bslora {label_mode[mode]} r={r}{_tag(args)}",
                          dict(method="bslora", share_mode=mode, r_local=r, r_intra=r, r_inter=r,
                               **(scale or dict(lora_alpha=2.0 * 3 * r)), **extra.get(mode, {}))))
    return specs


def trial_message(fields: dict, **common):
    """The proto Trial of one measured configuration (``fields`` as ``method_specs`` gives them)."""
    from bslora_api.worker.v1 import worker_service_pb2 as pb
    from bslora_worker.contract_files import method_versions

    fields = dict(fields)
    method = fields.pop("method")
    msg = pb.Trial(method_version=method_versions()[method], **common)
    settings = getattr(msg, method)
    settings.SetInParent()
    if method == "lora":
        settings.rank = fields.pop("rank")
    elif method == "bslora":
        settings.ranks.CopyFrom(pb.BSLoraRanks(local=fields.pop("r_local"), intra=fields.pop("r_intra"),
                                               inter=fields.pop("r_inter")))
        mode = fields.pop("share_mode")
        getattr(settings, mode).SetInParent()
        if mode != "slice":
            getattr(settings, mode).share_size = fields.pop(f"{mode}_share_size")
    if "lora_alpha" in fields:
        settings.lora_alpha = fields.pop("lora_alpha")
    if "scaling" in fields:
        mode, _, value = fields.pop("scaling").partition(":")
        settings.scaling.mode = pb.ScalingMode.Value(f"SCALING_MODE_{mode.upper()}")
        if value:
            settings.scaling.fixed = float(value)
    if fields:
        raise SystemExit(f"trial_message: unused settings {sorted(fields)}")
    return msg


def _tag(args) -> str:
    return f" [{args.scaling}]" if args.scaling else ""


def short_task(ref: str) -> str:
    if ref.startswith("builtin:"):
        return ref.split("/")[0].removeprefix("builtin:")
    if ref.startswith("llm-adapters:"):
        return ref.split("#")[0].removeprefix("llm-adapters:")
    return Path(ref.split("#")[0]).parent.name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:smollm2-135m")
    ap.add_argument("--suite", choices=("arith", "commonsense"), default="arith")
    ap.add_argument("--methods", default="lora,slice,kron,gate", help="comma list of lora, slice, kron, gate")
    ap.add_argument("--ranks", default="2,4,8", help="BSLoRA ranks r (r_local = r_intra = r_inter = r)")
    ap.add_argument("--lora-rank", type=int, default=8)
    ap.add_argument("--scaling", default="", help="adapter.scaling for every adapter (default: alpha = 2 x rank)")
    ap.add_argument("--bslora-ranks", default="", help="one local/intra/inter triple, e.g. 2/4/16 (replaces --ranks)")
    ap.add_argument("--kron-share-size", type=int, default=64)
    ap.add_argument("--gate-share-size", type=int, default=256)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup-steps", type=int, default=4, help="linear warm-up steps (0: none)")
    ap.add_argument("--seq-len", type=int, default=0, help="0: the suite's default (arith 32, commonsense 128)")
    ap.add_argument("--eval-limit", type=int, default=200, help="first N test items of each eval task")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    ap.add_argument("--out", type=Path, default=None, help="append one JSON line per trial here")
    ap.add_argument("--no-base", action="store_true", help="skip the untuned base (e.g. when runs are split)")
    ap.add_argument("--resume", action="store_true", help="skip trials already recorded in --out")
    ap.add_argument("--report", type=Path, nargs="+", default=None,
                    help="train nothing: print the table of the --suite rows in these JSON-line files")
    args = ap.parse_args()
    if args.report:
        rows = [json.loads(line) for p in args.report for line in p.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["suite"] == args.suite]
        rows.sort(key=lambda r: (r["method"] != "base", not r["method"].startswith("lora"), _rank_key(r["method"]),
                                 r["seed"]))
        r0 = next((r for r in rows if r["method"] != "base"), rows[0])
        print_table(args.model, args.suite, rows, list(rows[0]["scores"]), r0["steps"], r0["batch_size"], r0["lr"],
                    r0["seq_len"])
        return
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.ranks = [int(r) for r in args.ranks.split(",") if r.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if args.threads:
        torch.set_num_threads(args.threads)

    from bslora_worker.models import load_base_model
    from bslora_worker.trials.evaluate_trial import evaluate_trial
    from bslora_worker.trials.train_trial import train_trial
    from bslora_api.worker.v1 import worker_service_pb2 as pb
    from bslora_worker.trials.trial import Trial

    train_ref, eval_refs, seq_len = suite_refs(args.suite)
    seq_len = args.seq_len or seq_len
    done: dict[tuple[str, int], dict] = {}
    if args.resume and args.out and args.out.is_file():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            if row.get("suite") == args.suite:
                done[(row["method"], row["seed"])] = row

    t0 = time.perf_counter()
    base = load_base_model(args.model)
    _say(f"loaded {base.identity} in {time.perf_counter() - t0:.1f}s, torch threads {torch.get_num_threads()}")

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="measure-smollm2-") as tmp:
        run_dir = Path(tmp)
        for label, fields in method_specs(args):
            for seed in seeds if fields["method"] != "base" else seeds[:1]:  # the base does not depend on the seed
                if (label, seed) in done:
                    rows.append(done[(label, seed)])
                    continue
                trial = Trial(trial_message(
                    fields, trial_key=f"{args.suite}-{label}-{seed}".replace(" ", "_"), name=label,
                    base_model=args.model, train_data=train_ref, eval_tasks=eval_refs, target_modules=TARGETS,
                    training=pb.TrainingSettings(steps=args.steps, learning_rate=args.lr, batch_size=args.batch_size,
                                                 seq_len=seq_len, eval_limit=args.eval_limit,
                                                 warmup_steps=args.warmup_steps),
                    seed=seed))
                started = time.perf_counter()
                out = train_trial(trial, base, run_dir, lambda p: None, threading.Event())
                train_s = time.perf_counter() - started
                scores, eval_s = evaluate_trial(trial, out.adapter_sha256, base, run_dir, lambda *a: None,
                                                threading.Event())
                row = dict(suite=args.suite, method=label, seed=seed, trainable=out.counts["total"],
                           counts={k: out.counts[k] for k in ("local", "intra", "inter", "transform")},
                           initial_loss=out.initial_loss, final_loss=out.final_loss,
                           scores={short_task(s.task): dict(acc=s.acc, acc_norm=s.acc_norm, n=s.n,
                                                            item_correct=s.item_correct.hex()) for s in scores},
                           train_s=round(train_s, 1), eval_s=round(eval_s, 1), steps=out.steps,
                           batch_size=args.batch_size, lr=args.lr, seq_len=seq_len,
                           torch_threads=torch.get_num_threads())
                rows.append(row)
                _say(json.dumps(row))
                if args.out:
                    with args.out.open("a") as f:
                        f.write(json.dumps(row) + "\n")

    print_table(args.model, args.suite, rows, [short_task(r) for r in eval_refs], args.steps, args.batch_size, args.lr,
                seq_len)


def _rank_key(method: str) -> tuple:
    mode, _, r = method.rpartition(" r=")
    order = next((i for i, m in enumerate(("lora", "slice", "kron", "gate")) if m in mode), 9)
    return (order, int(r) if r.isdigit() else 0)


def print_table(model, suite, rows, tasks, steps, batch_size, lr, seq_len) -> None:
    n = {t: next(r["scores"][t]["n"] for r in rows) for t in tasks}
    head = ["method", "trainable params", "seed"]
    head += [f"{t} acc / acc_norm (n={n[t]})" for t in tasks] + ["train loss first → last 20 %", "train s", "eval s"]
    print(f"\n{model}, suite {suite}: {steps} steps × {batch_size}, lr {lr}, seq_len {seq_len}")
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join(["---", "---:", "---:"] + ["---:"] * len(tasks) + ["---", "---:", "---:"]) + " |")
    for r in rows:
        cells = [r["method"], f"{r['trainable']:,}", str(r["seed"]) if r["method"] != "base" else "–"]
        cells += [f"{r['scores'][t]['acc']:.3f} / {r['scores'][t]['acc_norm']:.3f}" for t in tasks]
        loss = "–" if r["method"] == "base" else f"{r['initial_loss']:.2f} → {r['final_loss']:.2f}"
        cells += [loss, f"{r['train_s']:.0f}", f"{r['eval_s']:.0f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""Measure a built-in task: base accuracy vs after a short plain-PEFT LoRA fine-tune.

    .venv/bin/python worker-py/scripts/measure_builtin_task.py --model builtin:smollm2-135m --task builtin:arith

Trains a LoRA adapter (PEFT, all attention and MLP projections) on the task's train split for a few dozen steps with
the loss on completion tokens only, then scores the test split by log-likelihood (acc / acc_norm) before and after.
Prints one JSON line with the numbers and timings. Deterministic for a given --seed on one machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

import torch


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:smollm2-135m")
    ap.add_argument(
        "--task", default="builtin:arith", help="train ref; eval uses the same ref (test split for builtins)"
    )
    ap.add_argument("--eval-task", default=None, help="eval ref when it differs from --task")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--eval-limit", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from bslora_worker.data import load_eval_items, load_train_examples
    from bslora_worker.evaluation import score_multiple_choice
    from bslora_worker.models import load_base_model
    from peft import LoraConfig, get_peft_model

    t0 = time.perf_counter()
    base = load_base_model(args.model, seed=args.seed)
    load_s = time.perf_counter() - t0
    _say(f"loaded {base.identity} in {load_s:.1f}s")
    tok = base.tokenizer
    examples = load_train_examples(args.task)
    items = load_eval_items(args.eval_task or args.task, limit=args.eval_limit)

    t0 = time.perf_counter()
    before = score_multiple_choice(base.model, tok, items, batch_size=16)
    eval_s = time.perf_counter() - t0
    _say(f"base {before} in {eval_s:.1f}s")

    torch.manual_seed(args.seed)
    config = LoraConfig(
        r=args.rank,
        lora_alpha=2 * args.rank,
        lora_dropout=0.0,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base.model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 5) * max(0.0, 1 - s / args.steps))
    rng = random.Random(args.seed)
    order = list(range(len(examples)))
    rng.shuffle(order)

    model.train()
    losses = []
    t0 = time.perf_counter()
    for step in range(args.steps):
        batch = [examples[order[(step * args.batch_size + k) % len(order)]] for k in range(args.batch_size)]
        seqs, labels = [], []
        for ex in batch:
            p, c = tok.encode(ex.prompt), tok.encode(ex.prompt + ex.completion)[len(tok.encode(ex.prompt)) :]
            c = c + [tok.eos_token_id]
            seqs.append(p + c)
            labels.append([-100] * len(p) + c)
        width = max(map(len, seqs))
        ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in seqs])
        lab = torch.tensor([lb + [-100] * (width - len(lb)) for lb in labels])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
        loss = model(input_ids=ids, attention_mask=mask, labels=lab).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 10 == 0 or step == args.steps - 1:
            _say(f"step {step + 1}/{args.steps} loss {loss.item():.4f} ({time.perf_counter() - t0:.1f}s)")
    train_s = time.perf_counter() - t0
    model.eval()
    after = score_multiple_choice(model, tok, items, batch_size=16)
    print(
        json.dumps(
            {
                "model": args.model,
                "identity": base.identity,
                "task": args.task,
                "eval_task": args.eval_task or args.task,
                "eval_n": before["n"],
                "base": before,
                "tuned": after,
                "steps": args.steps,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "lora_rank": args.rank,
                "trainable_params": trainable,
                "seed": args.seed,
                "first_loss": round(sum(losses[:5]) / min(5, len(losses)), 4),
                "last_loss": round(sum(losses[-5:]) / min(5, len(losses)), 4),
                "load_s": round(load_s, 2),
                "eval_s": round(eval_s, 2),
                "train_s": round(train_s, 2),
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Forward+backward speed and memory of BSLoRA (slice / gate / kron) vs PEFT LoRA of the same total rank.

One Llama-2-7B-shaped decoder block (hidden 4096, intermediate 11008, 32 heads, all seven projections adapted) is
wrapped once per method, all in the same process; the timing rounds interleave the methods so that machine noise
hits them alike. Reported per method:

* block:     forward + backward of the whole block (frozen base weights; the input requires grad, as inside a
             network), min (and median) over rounds, and its ratio to PEFT LoRA;
* est.:      bare block min + adapter-only min, a block estimate that is robust to machine noise;
* adapter:   forward + backward of the adapter paths alone (the seven modules, base matmuls excluded), the cleanest
             comparison of the adapter implementations;
* saved MB:  activation memory the adapter keeps for backward (unique non-parameter tensors saved by autograd,
             measured with saved_tensors_hooks; the bare block's own saved tensors subtracted);
* state MB:  trainable parameters + gradients + two Adam moments, fp32.

"plain-<mode>" rows run the same BSLoRA parameters through a naive implementation that follows the reference code's
order of operations (each part separately, torch.kron, the four gate projections in sequence). The "kron-folded"
row runs the kron model through an alternative forward that folds the input by the sampler instead of building the
Kronecker-extended factors (fewer FLOPs; measured slower on CPU, so not the layer's).

    .venv/bin/python worker-py/benchmarks/bench_bslora_speed.py            # defaults: 2/4/16 vs LoRA r=22, 128 tokens
    .venv/bin/python worker-py/benchmarks/bench_bslora_speed.py --tokens 256 --rounds 7 --ranks 4,8,8
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings
from functools import partial

import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")

import peft  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from transformers import LlamaConfig, LlamaModel  # noqa: E402

import bslora  # noqa: E402
from bslora.layer import BSLoraLayer  # noqa: E402

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def plain_adapter_output(layer: BSLoraLayer, adapter: str, x: torch.Tensor) -> torch.Tensor:
    """Naive per-part implementation in the reference code's order of operations."""
    spec = layer.bslora_spec[adapter]
    s = layer.bslora_scaling[adapter]
    store = layer._bslora_store
    dropout = layer.bslora_dropout[adapter]
    n_in, n_out = layer.in_features, layer.out_features
    y = 0
    if spec.r_local:
        y = dropout(x) @ layer.bslora_A[adapter].T @ layer.bslora_B[adapter].T * s
    for part in spec.parts():
        A, B = store.pair(adapter, part, spec.block)
        if spec.share_mode == "slice":
            ca, cb = (A.shape[1] - n_in) // 2, (B.shape[0] - n_out) // 2
            y = y + dropout(x) @ A.T[ca:ca + n_in, :] @ B.T[:, cb:cb + n_out] * s
        elif spec.share_mode == "gate":
            g = layer.bslora_transform[adapter]
            h = dropout(x) @ g[f"{part}_in_down"].unsqueeze(1)
            h = h @ g[f"{part}_in_up"].unsqueeze(0)
            h = h @ A.T @ B.T
            h = h @ g[f"{part}_out_down"].unsqueeze(1)
            y = y + h @ g[f"{part}_out_up"].unsqueeze(0) * s
        else:
            g = layer.bslora_transform[adapter]
            A_hat = torch.kron(g[f"{part}_sampler_A"].unsqueeze(0), A)
            B_hat = torch.kron(g[f"{part}_sampler_B"].unsqueeze(1), B)
            y = y + x @ A_hat.T @ B_hat.T * s
    return y


def folded_kron_adapter_output(layer: BSLoraLayer, adapter: str, x: torch.Tensor) -> torch.Tensor:
    """A kron forward that never builds the Kronecker-extended factors (an alternative that was measured, not used).

    With x viewed as (…, in/S, S) blocks, kron(K_A, A) x = A (Σ_k k_k x_k): the sampler folds the input's blocks into
    one of size S, a part's rank-r product runs at the share size S, and the output's blocks are t_k (B A x̃). The
    matmul FLOPs drop to ~0.2× LoRA's, but the passes over the input and output (fold, broadcast, and their
    backward) cost more than the skinny GEMMs they replace on CPU, so the layer keeps building the factors.
    """
    spec = layer.bslora_spec[adapter]
    g = layer.bslora_transform[adapter]
    parts = spec.parts()
    lead = x.shape[:-1]
    xd = layer.bslora_dropout[adapter](x)
    pairs = [layer._shared(adapter, part, x.dtype, x.device) for part in parts]
    s_in = pairs[0][0].shape[1]
    k_a = torch.stack([g[f"{part}_sampler_A"] for part in parts])  # (P, in/S)
    k_b = torch.stack([g[f"{part}_sampler_B"] for part in parts])  # (P, out/S)
    folded = torch.matmul(k_a, xd.reshape(*lead, layer.in_features // s_in, s_in))  # (…, P, S)
    shared = torch.stack([F.linear(F.linear(folded[..., i, :], A), B) for i, (A, B) in enumerate(pairs)], dim=-2)
    out = torch.matmul(k_b.transpose(0, 1), shared).reshape(*lead, layer.out_features)
    if spec.r_local:
        out = out + F.linear(F.linear(xd, layer.bslora_A[adapter]), layer.bslora_B[adapter])
    return out * layer.bslora_scaling[adapter]


# Rows that run a BSLoRA model through another forward than its own: name prefix -> forward.
OVERRIDES = {"plain-": plain_adapter_output, "kron-folded": folded_kron_adapter_output}


def override_of(name: str):
    return next((fn for prefix, fn in OVERRIDES.items() if name.startswith(prefix)), None)


def adapter_only(model, kind: str, xs: dict[int, torch.Tensor]) -> torch.Tensor:
    total = 0
    for module in model.modules():
        if kind == "lora" and isinstance(module, peft.tuners.lora.LoraLayer):
            x = xs[module.in_features]
            total = total + (module.lora_B["default"](module.lora_A["default"](module.lora_dropout["default"](x)))
                             * module.scaling["default"]).sum()
        elif kind != "lora" and isinstance(module, BSLoraLayer):
            total = total + module._adapter_output("default", xs[module.in_features]).sum()
    return total


class SavedBytes:
    """Bytes of unique non-parameter tensors autograd saves for backward."""

    def __init__(self, model):
        self.param_ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self.seen: set[int] = set()
        self.bytes = 0

    def pack(self, t: torch.Tensor):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in self.param_ptrs and ptr not in self.seen:
            self.seen.add(ptr)
            self.bytes += t.untyped_storage().nbytes()
        return t

    def unpack(self, t):
        return t


class OpCounter(TorchDispatchMode):
    """Counts aten operator calls (forward and backward): a deterministic proxy for dispatch overhead."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


def adapter_work(model, kind: str, xs: dict[int, torch.Tensor]) -> tuple[int, int]:
    """(matmul FLOPs, aten calls) of one adapter-only forward + backward; deterministic, unlike wall time."""
    flops = FlopCounterMode(display=False)
    ops = OpCounter()
    with flops, ops:
        adapter_only(model, kind, xs).backward()
    model.zero_grad(set_to_none=True)
    for t in xs.values():
        t.grad = None
    return flops.get_total_flops(), ops.calls


def step(model, x: torch.Tensor) -> None:
    out = model(inputs_embeds=x).last_hidden_state
    out.pow(2).mean().backward()


def saved_megabytes(model, x: torch.Tensor) -> float:
    counter = SavedBytes(model)
    with torch.autograd.graph.saved_tensors_hooks(counter.pack, counter.unpack):
        out = model(inputs_embeds=x).last_hidden_state
        loss = out.pow(2).mean()
    loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.bytes / 2**20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=128, help="tokens per step (batch 1 × this sequence length)")
    ap.add_argument("--rounds", type=int, default=5, help="timed block rounds after one warm-up (0: adapter-only)")
    ap.add_argument("--adapter-repeats", type=int, default=20, help="timed adapter-only repeats per method")
    ap.add_argument("--ranks", default="2,4,16", help="local,intra,inter; LoRA uses their sum")
    ap.add_argument("--kron-share-size", type=int, default=256)
    ap.add_argument("--gate-share-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    ap.add_argument("--no-plain", action="store_true", help="skip the naive reference-order rows")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    r_l, r_a, r_e = (int(v) for v in args.ranks.split(","))
    R = r_l + r_a + r_e

    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_attention_heads=32, num_hidden_layers=1,
                         vocab_size=32, max_position_embeddings=max(4096, args.tokens))
    base = LlamaModel(config).float().train()
    for p in base.parameters():
        p.requires_grad_(False)

    models = {"base": base}
    kinds = {"base": "base"}
    models["lora"] = peft.get_peft_model(copy.deepcopy(base), peft.LoraConfig(r=R, lora_alpha=2 * R,
                                                                               target_modules=TARGETS))
    kinds["lora"] = "lora"
    for mode in ("slice", "gate", "kron"):
        cfg = bslora.BSLoraConfig(r_local=r_l, r_intra=r_a, r_inter=r_e, share_mode=mode, target_modules=TARGETS,
                                  kron_share_size=args.kron_share_size, gate_share_size=args.gate_share_size,
                                  init_weights=False)
        models[mode] = peft.get_peft_model(copy.deepcopy(base), cfg)
        kinds[mode] = mode
        if not args.no_plain:
            models[f"plain-{mode}"] = models[mode]
            kinds[f"plain-{mode}"] = f"plain-{mode}"
    models["kron-folded"] = models["kron"]
    kinds["kron-folded"] = "kron-folded"
    for m in models.values():
        m.train()

    def use_forward(model, name: str):
        """Installs the forward of row `name` on the model's BSLoRA layers (its own when the row has no override)."""
        fn = override_of(name)
        for module in model.modules():
            if isinstance(module, BSLoraLayer):
                if fn:
                    module._adapter_output = partial(fn, module)
                else:
                    module.__dict__.pop("_adapter_output", None)

    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, args.tokens, 4096, generator=g, requires_grad=True)
    xs = {4096: torch.randn(args.tokens, 4096, generator=g, requires_grad=True),
          11008: torch.randn(args.tokens, 11008, generator=g, requires_grad=True)}

    # Every alternative forward computes the same function as the layer's own (else its timing means nothing).
    with torch.no_grad():
        for name, fn in ((n, override_of(n)) for n in models if override_of(n)):
            for layer in (m for m in models[name].modules() if isinstance(m, BSLoraLayer)):
                own = layer._adapter_output("default", xs[layer.in_features])
                torch.testing.assert_close(fn(layer, "default", xs[layer.in_features]), own, rtol=1e-3, atol=1e-4,
                                           msg=lambda m, name=name: f"{name}: {m}")

    def clear(model):
        model.zero_grad(set_to_none=True)
        x.grad = None
        for t in xs.values():
            t.grad = None

    block_t: dict[str, list[float]] = {k: [] for k in models}
    for rnd in range(args.rounds + 1):  # round 0 warms up
        for name, model in models.items():
            use_forward(model, name)
            t0 = time.perf_counter()
            step(model, x)
            if rnd:
                block_t[name].append(time.perf_counter() - t0)
            clear(model)
            use_forward(model, "")

    adapter_t: dict[str, list[float]] = {k: [] for k in models if k != "base"}
    for rep in range(args.adapter_repeats + 1):
        for name in adapter_t:
            model = models[name]
            use_forward(model, name)
            t0 = time.perf_counter()
            adapter_only(model, "lora" if name == "lora" else name, xs).backward()
            if rep:
                adapter_t[name].append(time.perf_counter() - t0)
            clear(model)
            use_forward(model, "")

    saved = {}
    if args.rounds:
        for name, model in models.items():
            use_forward(model, name)
            saved[name] = saved_megabytes(model, x)
            use_forward(model, "")
            x.grad = None

    work = {}
    for name, model in models.items():
        if name == "base":
            continue
        use_forward(model, name)
        work[name] = adapter_work(model, "lora" if name == "lora" else name, xs)
        use_forward(model, "")

    # min over rounds is the estimator least affected by other load on a shared machine; medians are printed too
    trainable = {k: sum(p.numel() for p in m.parameters() if p.requires_grad) for k, m in models.items()}
    best_a = {k: min(v) for k, v in adapter_t.items()}
    med_a = {k: statistics.median(v) for k, v in adapter_t.items()}
    print(f"# BSLoRA speed: one Llama-2-7B-shaped block, {args.tokens} tokens, fp32, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}; min (median) over {args.rounds} block "
          f"rounds / {args.adapter_repeats} adapter-only repeats, methods interleaved")
    print(f"# BSLoRA {r_l}/{r_a}/{r_e} (kron S={args.kron_share_size}, gate S={args.gate_share_size}) vs PEFT LoRA "
          f"r={R}")
    print()
    print("Deterministic adapter-only work (forward + backward, seven modules): matmul FLOPs and aten calls")
    print()
    print("| method | GFLOP | / LoRA | aten calls | / LoRA |")
    print("|---|---:|---:|---:|---:|")
    for name, (f, c) in work.items():
        print(f"| {name} | {f / 1e9:.3f} | {f / work['lora'][0]:.3f} | {c} | {c / work['lora'][1]:.2f} |")
    if not args.rounds:
        print()
        print("| method | trainable | adapter-only ms | adapter-only / LoRA |")
        print("|---|---:|---:|---:|")
        for name in adapter_t:
            print(f"| {name} | {trainable[name]:,} | {best_a[name] * 1e3:.2f} ({med_a[name] * 1e3:.2f}) | "
                  f"{best_a[name] / best_a['lora']:.3f} |")
        print()
        print(f"kron-folded: adapter-only {best_a['kron-folded'] / best_a['kron']:.3f}x kron's own forward")
        for mode in ("slice", "gate", "kron"):
            line = f"{mode}: adapter-only {best_a[mode] / best_a['lora']:.3f}x LoRA"
            if f"plain-{mode}" in best_a:
                line += f", {best_a[mode] / best_a[f'plain-{mode}']:.3f}x the plain formulas"
            print(line)
        return 0

    best = {k: min(v) for k, v in block_t.items()}
    med = {k: statistics.median(v) for k, v in block_t.items()}
    # block estimate from the two cleanest minima: bare block + this method's adapter-only time
    est = {k: best["base"] + best_a[k] for k in best_a}
    print(f"# bare block fwd+bwd {best['base'] * 1e3:.1f} ({med['base'] * 1e3:.1f}) ms, saved {saved['base']:.1f} MB; "
          "est. = bare block min + adapter-only min")
    print()
    print("| method | trainable | block ms | block / LoRA | est. block / LoRA | adapter-only ms | "
          "adapter-only / LoRA | saved MB | state MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in models:
        if name == "base":
            continue
        print(f"| {name} | {trainable[name]:,} | {best[name] * 1e3:.1f} ({med[name] * 1e3:.1f}) | "
              f"{best[name] / best['lora']:.3f} | {est[name] / est['lora']:.3f} | "
              f"{best_a[name] * 1e3:.2f} ({med_a[name] * 1e3:.2f}) | {best_a[name] / best_a['lora']:.3f} | "
              f"{saved[name] - saved['base']:.1f} | {trainable[name] * 16 / 2**20:.1f} |")
    print()
    print(f"kron-folded: adapter-only {best_a['kron-folded'] / best_a['kron']:.3f}x kron's own forward, "
          f"block est. {est['kron-folded'] / est['kron']:.3f}x")
    for mode in ("slice", "gate", "kron"):
        line = (f"{mode}: block {best[mode] / best['lora']:.3f}x LoRA (est. {est[mode] / est['lora']:.3f}x), "
                f"adapter-only {best_a[mode] / best_a['lora']:.3f}x LoRA")
        if f"plain-{mode}" in best:
            line += (f"; vs the plain formulas: block {best[mode] / best[f'plain-{mode}']:.3f}x "
                     f"(est. {est[mode] / est[f'plain-{mode}']:.3f}x), "
                     f"adapter-only {best_a[mode] / best_a[f'plain-{mode}']:.3f}x")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

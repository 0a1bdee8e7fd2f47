"""A trial's parameter breakdown: BSLoRA's own count split into parts; plain adapters count as all-local.

Trained copies of ``modules_to_save`` (the classification head of a seq_cls trial) are counted apart as ``head``.
The BSLoRA breakdown is checked against what the wrapped model actually allocates, so a reported count can never
drift from what trained.
"""

from __future__ import annotations

from .trial import Trial

ZERO = {"local": 0, "intra": 0, "inter": 0, "transform": 0, "head": 0, "total": 0}


def count_trial_parameters(trial: Trial, model, trainable, config=None) -> dict[str, int]:
    base_total = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    if trainable is None:
        return {**ZERO, "base_total": base_total}
    total = sum(p.numel() for p in trainable)
    head = sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and "modules_to_save" in n)
    if trial.method == "bslora":
        import bslora

        parts = bslora.count_parameters(model, config)
        if parts["total"] + head != total:
            raise RuntimeError(f"BSLoRA count {parts['total']} + head {head} != allocated trainable parameters {total}")
        return {**{k: int(parts[k]) for k in ("local", "intra", "inter", "transform")}, "head": head, "total": total,
                "base_total": base_total}
    return {**ZERO, "local": total - head, "head": head, "total": total, "base_total": base_total}

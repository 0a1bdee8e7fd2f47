"""A trial's parameter breakdown: BSLoRA's own count split into parts; plain adapters count as all-local.

The BSLoRA breakdown is checked against what the wrapped model actually allocates, so a reported count can never
drift from what trained.
"""

from __future__ import annotations

from .trial import Trial


def count_trial_parameters(trial: Trial, model, trainable, config=None) -> dict[str, int]:
    base_total = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    if trainable is None:
        return {"local": 0, "intra": 0, "inter": 0, "transform": 0, "total": 0, "base_total": base_total}
    total = sum(p.numel() for p in trainable)
    if trial.method == "bslora":
        import bslora

        parts = bslora.count_parameters(model, config)
        if parts["total"] != total:
            raise RuntimeError(f"BSLoRA count {parts['total']} != allocated trainable parameters {total}")
        return {**{k: int(parts[k]) for k in ("local", "intra", "inter", "transform")}, "total": total,
                "base_total": base_total}
    return {"local": total, "intra": 0, "inter": 0, "transform": 0, "total": total, "base_total": base_total}

"""A trial's serving footprint (``ParameterCounts.footprint``): from shapes, without weights, for every method.

BSLoRA and LoRA are computed from their plans (file bytes included, exactly as ``save_pretrained`` writes them);
a trained adapter's file bytes are then replaced by the measured size. VeRA holds its trained vectors only (its
projections are regenerated from a seed), so factored and merged are the same; its file size is known only once
trained. The untuned base model costs nothing.
"""

from __future__ import annotations

import io
import tarfile

from bslora.footprint import footprint_from_counts, lora_serving_footprint, serving_footprint

from .trial import Trial

ZERO = footprint_from_counts(0, 0, 0)


def trial_footprint(trial: Trial, model, counts: dict[str, int], config=None) -> dict:
    if trial.method == "base":
        return dict(ZERO)
    if trial.method == "lora":
        return lora_serving_footprint(model, trial.rank, list(trial.target_modules))
    if trial.method == "bslora":
        if config is None:
            from .adapter_config import adapter_config

            config = adapter_config(trial)
        return serving_footprint(model, config)
    adapter = counts["total"] - counts.get("head", 0)
    return footprint_from_counts(adapter, adapter, 0)


def safetensors_bytes_in_archive(archive: bytes) -> int:
    """Size of adapter_model.safetensors inside a packed adapter (0 when there is none)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        for member in tar.getmembers():
            if member.name == "adapter_model.safetensors":
                return member.size
    return 0

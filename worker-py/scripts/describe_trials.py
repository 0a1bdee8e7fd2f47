"""Reads planned trials (base64 proto ``Trial`` messages, one per stdin line) and prints, per trial, one JSON line of
what the worker makes of it: the scale every adapted layer of the built PEFT model applies (on ``builtin:tiny-llama``
or the trial's base), the kron dropout switch, and the training settings. Used by the control plane's contract test
of the settings (control-plane/src/sweep-specs/training-settings-worker.test.ts)."""

from __future__ import annotations

import base64
import copy
import json
import sys


def main() -> None:
    import peft
    from peft.tuners.lora import LoraLayer

    from bslora import BSLoraLayer
    from bslora_api.worker.v1 import worker_service_pb2 as pb
    from bslora_worker.models import load_base_model
    from bslora_worker.trials.adapter_config import adapter_config
    from bslora_worker.trials.trial import Trial

    bases = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        trial = Trial(pb.Trial.FromString(base64.b64decode(line)))
        if trial.base_model not in bases:
            bases[trial.base_model] = load_base_model(trial.base_model)
        config = adapter_config(trial)
        scales = []
        if config is not None:
            model = peft.get_peft_model(copy.deepcopy(bases[trial.base_model].model), config)
            for m in model.modules():
                if isinstance(m, LoraLayer):
                    scales.append(m.scaling["default"])
                elif isinstance(m, BSLoraLayer):
                    scales.append(m.bslora_scaling["default"])
        print(json.dumps({
            "name": trial.name,
            "layer_scales": sorted(set(scales)),
            "kron_shared_dropout": trial.kron_shared_dropout if trial.share_mode == "kron" else None,
            "lr_scheduler": trial.lr_scheduler,
            "micro_batch_size": trial.micro_batch_size,
            "train_on_inputs": trial.train_on_inputs,
            "prompt_template": trial.prompt_template,
        }), flush=True)


if __name__ == "__main__":
    main()

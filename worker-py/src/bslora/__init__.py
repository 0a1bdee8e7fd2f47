"""BSLoRA (Bi-Share LoRA, ICML 2025) as a PEFT method.

``import bslora`` registers the method with PEFT, after which ``peft.get_peft_model(model, bslora.BSLoraConfig(...))``,
``PeftModel.save_pretrained`` and ``PeftModel.from_pretrained`` work as for built-in methods. Import ``bslora`` before
loading a saved BSLoRA adapter: the registration is what lets PEFT read ``"peft_type": "BSLORA"``.
"""

from .registration import BSLORA_PEFT_TYPE, register as _register
from .config import BSLoraConfig
from .layer import BSLoraLayer, Linear
from .model import BSLoraModel
from .plan import AdapterPlan, TargetInfo, build_plan
from .counting import count_lora_parameters, count_parameters

_register(BSLoraConfig, BSLoraModel)

__all__ = [
    "BSLORA_PEFT_TYPE",
    "AdapterPlan",
    "BSLoraConfig",
    "BSLoraLayer",
    "BSLoraModel",
    "Linear",
    "TargetInfo",
    "build_plan",
    "count_lora_parameters",
    "count_parameters",
]

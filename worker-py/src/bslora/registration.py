"""Register BSLoRA with PEFT from outside the PEFT source tree.

PEFT's ``register_peft_method`` requires the method's name to be a member of the ``PeftType`` enum, and PEFT offers no
public way to add one. ``PeftType`` is a plain ``str`` enum, so we add the member ``BSLORA`` (value ``"BSLORA"``)
through the enum's internal tables; string lookups of ``"BSLORA"`` (as read back from ``adapter_config.json``) then hit
the mapping entries registered below. This must run before ``PeftModel.from_pretrained`` sees a BSLoRA checkpoint,
which is why ``import bslora`` is required before loading (documented in ``docs/bslora-method.md``).
"""

from __future__ import annotations

import sys

from peft.utils.peft_types import PeftType

_NAME = "BSLORA"


def _extend_peft_type() -> PeftType:
    if _NAME in PeftType.__members__:
        return PeftType[_NAME]
    member = str.__new__(PeftType, _NAME)
    member._name_ = _NAME
    member._value_ = _NAME
    member.__objclass__ = PeftType
    member._sort_order_ = len(PeftType._member_names_)
    if sys.version_info >= (3, 13) and hasattr(PeftType, "_add_member_"):
        PeftType._add_member_(_NAME, member)
    else:
        PeftType._member_map_[_NAME] = member
        type.__setattr__(PeftType, _NAME, member)
    PeftType._member_names_.append(_NAME)
    PeftType._value2member_map_[_NAME] = member
    return member


BSLORA_PEFT_TYPE = _extend_peft_type()


def register(config_cls, model_cls) -> None:
    from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING, PEFT_TYPE_TO_TUNER_MAPPING
    from peft.utils import register_peft_method

    if PEFT_TYPE_TO_TUNER_MAPPING.get(BSLORA_PEFT_TYPE) is model_cls:
        return
    if BSLORA_PEFT_TYPE in PEFT_TYPE_TO_TUNER_MAPPING or BSLORA_PEFT_TYPE in PEFT_TYPE_TO_CONFIG_MAPPING:
        # a re-import (e.g. importlib.reload) registered older class objects: replace them
        from peft.mapping import PEFT_TYPE_TO_PREFIX_MAPPING

        PEFT_TYPE_TO_CONFIG_MAPPING[BSLORA_PEFT_TYPE] = config_cls
        PEFT_TYPE_TO_TUNER_MAPPING[BSLORA_PEFT_TYPE] = model_cls
        PEFT_TYPE_TO_PREFIX_MAPPING[BSLORA_PEFT_TYPE] = model_cls.prefix
        return
    register_peft_method(name="bslora", config_cls=config_cls, model_cls=model_cls, prefix=model_cls.prefix)

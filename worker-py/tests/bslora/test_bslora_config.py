import json

import pytest
from peft import PeftConfig
from peft.utils.peft_types import PeftType

import bslora


def test_defaults_and_peft_type():
    cfg = bslora.BSLoraConfig(target_modules=["q_proj"])
    assert (cfg.r_local, cfg.r_intra, cfg.r_inter) == (2, 4, 16)
    assert cfg.share_mode == "kron" and cfg.kron_share_size == 256 and cfg.gate_share_size == 1024
    assert cfg.peft_type == PeftType.BSLORA == "BSLORA"
    assert cfg.target_modules == {"q_proj"}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"r_local": -1}, "r_local"),
        ({"r_intra": 1.5}, "r_intra"),
        ({"r_inter": True}, "r_inter"),
        ({"r_local": 0, "r_intra": 0, "r_inter": 0}, "r_local + r_intra + r_inter"),
        ({"share_mode": "tile"}, "share_mode"),
        ({"kron_share_size": 0}, "kron_share_size"),
        ({"gate_share_size": -4}, "gate_share_size"),
        ({"lora_alpha": 0}, "lora_alpha"),
        ({"scaling": "alpha"}, "scaling"),
        ({"lora_dropout": 1.0}, "lora_dropout"),
        ({"bias": "lora_only"}, "bias"),
        ({"init_weights": "pissa"}, "init_weights"),
        ({"target_parameters": ["weight"]}, "target_parameters"),
        ({"layers_pattern": "layers"}, "layers_pattern"),
    ],
)
def test_invalid_values_name_the_field(kwargs, field):
    with pytest.raises(ValueError) as err:
        bslora.BSLoraConfig(target_modules=["q_proj"], **kwargs)
    assert field in str(err.value)


def test_config_round_trips_through_json(tmp_path):
    cfg = bslora.BSLoraConfig(r_local=1, r_intra=2, r_inter=3, share_mode="gate", gate_share_size=64,
                              target_modules=["q_proj", "v_proj"], scaling="reference_fixed_2")
    cfg.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "adapter_config.json").read_text())["peft_type"] == "BSLORA"
    loaded = PeftConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, bslora.BSLoraConfig)
    assert (loaded.r_local, loaded.r_intra, loaded.r_inter, loaded.share_mode) == (1, 2, 3, "gate")
    assert loaded.gate_share_size == 64 and loaded.scaling == "reference_fixed_2"
    assert loaded.target_modules == {"q_proj", "v_proj"}

import torch
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

import bslora  # noqa: F401  (registers the method with PEFT)

LLAMA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
GPT2_TARGETS = ["c_attn", "c_proj", "c_fc"]
BERT_TARGETS = ["query", "key", "value", "dense"]

# kron_share_size 8 divides every adapted dimension of the tiny models below (32, 16, 64, 96, 128)
MODE_SIZES = {"kron_share_size": 8, "gate_share_size": 16}


def tiny_llama(seed: int = 0, layers: int = 2) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
        num_hidden_layers=layers, vocab_size=64, max_position_embeddings=64,
    )
    return LlamaForCausalLM(cfg).eval()


def tiny_gpt2(seed: int = 0) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=64, n_positions=64)
    return GPT2LMHeadModel(cfg).eval()


def tiny_bert(seed: int = 0) -> BertModel:
    torch.manual_seed(seed)
    cfg = BertConfig(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2,
                     vocab_size=64, max_position_embeddings=64)
    return BertModel(cfg).eval()


ARCHS = {
    "llama": (tiny_llama, LLAMA_TARGETS),
    "gpt2": (tiny_gpt2, GPT2_TARGETS),
    "bert": (tiny_bert, BERT_TARGETS),
}


def model_inputs(seed: int = 1, batch: int = 2, seq: int = 6) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(0, 64, (batch, seq), generator=g)}


def model_output(model, inputs) -> torch.Tensor:
    out = model(**inputs)
    return out.logits if hasattr(out, "logits") else out.last_hidden_state


def make_config(mode: str, targets, **kw) -> "bslora.BSLoraConfig":
    args = dict(r_local=2, r_intra=3, r_inter=4, share_mode=mode, target_modules=list(targets), **MODE_SIZES)
    args.update(kw)
    return bslora.BSLoraConfig(**args)


def model_loss(model, inputs) -> torch.Tensor:
    """A scalar that depends on every adapted module (BERT's pooler included)."""
    out = model(**inputs)
    main = out.logits if hasattr(out, "logits") else out.last_hidden_state
    loss = main.pow(2).mean()
    if getattr(out, "pooler_output", None) is not None:
        loss = loss + out.pooler_output.pow(2).mean()
    return loss

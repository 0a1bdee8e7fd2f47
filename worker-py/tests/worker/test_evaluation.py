from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from bslora_worker.data import ChoiceItem, ClassItem, load_class_items, load_eval_items
from bslora_worker.errors import InvalidArgument
from bslora_worker.evaluation import option_loglikelihoods, score_classification, score_multiple_choice
from bslora_worker.evaluation.multiple_choice import _encode_pair
from bslora_worker.models import ByteTokenizer, load_base_model


class BigramLM(torch.nn.Module):
    """A causal LM whose next-token log-probabilities depend only on the current token: a fixed table, so every
    expected score can be computed by hand."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = torch.nn.Parameter(table, requires_grad=False)
        self.config = SimpleNamespace(max_position_embeddings=64)
        self.calls = 0

    def forward(self, input_ids, attention_mask=None):
        self.calls += 1
        assert not torch.is_grad_enabled() and not self.training
        return SimpleNamespace(logits=self.table[input_ids])


def _bigram(favour: dict[tuple[int, int], float]) -> BigramLM:
    table = torch.zeros(259, 259)
    for (prev, nxt), v in favour.items():
        table[prev, nxt] = v
    return BigramLM(table)


def _manual_ll(model: BigramLM, ids: list[int], n_cont: int) -> float:
    logp = model.table.log_softmax(-1)
    return sum(float(logp[ids[k - 1], ids[k]]) for k in range(len(ids) - n_cont, len(ids)))


def test_encode_pair_moves_trailing_space_and_handles_empty_context():
    tok = ByteTokenizer()
    ctx, cont = _encode_pair(tok, "Answer: ", "yes")
    assert bytes(ctx) == b"Answer:" and bytes(cont) == b" yes"
    ctx, cont = _encode_pair(tok, "", " yes")
    assert ctx == [tok.eos_token_id] and bytes(cont) == b" yes"


def test_scores_are_summed_token_logprobs():
    tok = ByteTokenizer()
    model = _bigram({(ord("A"), ord(" ")): 2.0, (ord(" "), ord("x")): 3.0, (ord("x"), ord("y")): 1.5})
    item = ChoiceItem(context="QA", options=["xy", "zz", "x"], gold=0)
    (lls,) = option_loglikelihoods(model, tok, [item], batch_size=2)
    for opt, got in zip(item.options, lls):
        ids = tok.encode("QA " + opt)
        assert got == pytest.approx(_manual_ll(model, ids, len(opt) + 1), abs=1e-5)
    assert lls[0] > lls[1]


def _exact(logprobs: dict[tuple[int, int], float]) -> BigramLM:
    """A bigram model with exactly these next-token log-probabilities (the rest of each row spread evenly)."""
    table = torch.zeros(259, 259, dtype=torch.float64)
    rows: dict[int, dict[int, float]] = {}
    for (prev, nxt), lp in logprobs.items():
        rows.setdefault(prev, {})[nxt] = lp
    for prev, targets in rows.items():
        rest = 1.0 - sum(math.exp(lp) for lp in targets.values())
        table[prev, :] = math.log(rest / (259 - len(targets)))
        for nxt, lp in targets.items():
            table[prev, nxt] = lp
    return BigramLM(table.float())


def test_acc_norm_divides_by_characters_not_tokens_or_bytes():
    tok = ByteTokenizer()
    space, a, b, c = ord(" "), ord("a"), ord("b"), ord("c")
    # short option "é": 1 character, 2 bytes, log-likelihood -4; long option "abc": 3 characters, -7.5.
    model = _exact(
        {
            (ord(":"), space): -1e-6,
            (space, 0xC3): -4.0,
            (0xC3, 0xA9): -1e-6,
            (space, a): -2.5,
            (a, b): -2.5,
            (b, c): -2.5,
        }
    )
    item = ChoiceItem(context="Q:", options=["é", "abc"], gold=1)
    (lls,) = option_loglikelihoods(model, tok, [item])
    assert lls == pytest.approx([-4.0, -7.5], abs=1e-3)
    # by sum: "é" wins (acc 0); per character: -4 vs -2.5, "abc" wins (acc_norm 1);
    # per byte it would be -2 vs -2.5 and "é" would win, so this also pins characters, not bytes.
    assert score_multiple_choice(model, tok, [item]) == {"acc": 0.0, "acc_norm": 1.0, "n": 1, "correct": [False]}
    assert score_multiple_choice(model, tok, [ChoiceItem("Q:", ["é", "abc"], 0)]) == {
        "acc": 1.0,
        "acc_norm": 0.0,
        "n": 1,
        "correct": [True],
    }


def _direct(model, tok, item: ChoiceItem) -> list[float]:
    out = []
    for opt in item.options:
        ctx = tok.encode(item.context) or [tok.eos_token_id]
        cont = tok.encode(item.continuation(item.options.index(opt)))
        with torch.no_grad():
            logp = model(input_ids=torch.tensor([ctx + cont])).logits[0].log_softmax(-1)
        out.append(sum(float(logp[len(ctx) + k - 1, t]) for k, t in enumerate(cont)))
    return out


MIXED = [
    ChoiceItem("Question: What is 12 + 30?\nAnswer:", ["42", "52", "41"], 0),
    ChoiceItem("Q", ["yes", "no"], 0),  # a one-token context cannot share a prefix pass
    ChoiceItem(
        "A much longer context, so that prefixes in one batch differ in length:", ["a", "bb", "ccc", "d", "e"], 2
    ),
    ChoiceItem("Pick one:", ["first option", "second"], 1),
]


@pytest.fixture(scope="module")
def direct_scores(tiny):
    items = load_eval_items("builtin:arith", limit=3) + MIXED
    return items, [_direct(tiny.model, tiny.tokenizer, item) for item in items]


@pytest.mark.parametrize("share,batch_size", [(True, 1), (True, 4), (True, 16), (False, 1), (False, 16)])
def test_tiny_llama_scores_match_a_direct_forward(tiny, direct_scores, share, batch_size):
    items, expected = direct_scores
    got = option_loglikelihoods(tiny.model, tiny.tokenizer, items, batch_size=batch_size, share_context=share)
    for scores, want in zip(got, expected):
        assert scores == pytest.approx(want, abs=1e-4)


def test_shared_context_works_through_a_peft_model():
    from peft import LoraConfig, get_peft_model

    lb = load_base_model("builtin:tiny-llama", seed=1)
    items = load_eval_items("builtin:arith", limit=4) + MIXED
    base = option_loglikelihoods(lb.model, lb.tokenizer, items[:1], share_context=False)
    model = get_peft_model(
        lb.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    )
    shared = option_loglikelihoods(model, lb.tokenizer, items, share_context=True)
    full = option_loglikelihoods(model, lb.tokenizer, items, share_context=False)
    for a, b in zip(shared, full):
        assert a == pytest.approx(b, abs=1e-4)
    with model.disable_adapter():
        assert option_loglikelihoods(model, lb.tokenizer, items[:1])[0] == pytest.approx(base[0], abs=1e-4)
    assert shared[0] != pytest.approx(base[0], abs=1e-3), "the adapter must change the scores"


def test_share_context_needs_a_cache_capable_model():
    with pytest.raises(InvalidArgument, match="share_context=True"):
        option_loglikelihoods(_bigram({}), ByteTokenizer(), MIXED, share_context=True)


def test_score_multiple_choice_is_deterministic_and_restores_mode(tiny):
    items = load_eval_items("builtin:arith", limit=40)
    tiny.model.train()
    try:
        a = score_multiple_choice(tiny.model, tiny.tokenizer, items, batch_size=8)
        assert tiny.model.training, "the caller's mode is restored"
    finally:
        tiny.model.eval()
    b = score_multiple_choice(tiny.model, tiny.tokenizer, items, batch_size=5)
    assert a == b and a["n"] == 40 and set(a) == {"acc", "acc_norm", "n", "correct"}
    assert len(a["correct"]) == 40 and sum(a["correct"]) / 40 == a["acc"]
    assert 0.0 <= a["acc"] <= 1.0 and 0.0 <= a["acc_norm"] <= 1.0


def test_an_oracle_model_scores_one_and_an_anti_oracle_zero():
    tok = ByteTokenizer()
    # A bigram model sees only the previous token, so each item gets its own delimiter ("4", "5", "6") and the
    # model's preference after that delimiter decides the item.
    base = [ChoiceItem("Q1", ["b", "c"], 1), ChoiceItem("Q2", ["b", "c"], 0), ChoiceItem("Q3", ["b", "c", "d"], 2)]
    items = [ChoiceItem(i.context, i.options, i.gold, delimiter=str(n)) for n, i in enumerate(base, start=4)]
    oracle = _bigram({(ord("4"), ord("c")): 9.0, (ord("5"), ord("b")): 9.0, (ord("6"), ord("d")): 9.0})
    assert score_multiple_choice(oracle, tok, items) == {"acc": 1.0, "acc_norm": 1.0, "n": 3, "correct": [True] * 3}
    anti = _bigram({(ord("4"), ord("b")): 9.0, (ord("5"), ord("c")): 9.0, (ord("6"), ord("b")): 9.0})
    assert score_multiple_choice(anti, tok, items) == {"acc": 0.0, "acc_norm": 0.0, "n": 3, "correct": [False] * 3}
    mixed = _bigram({(ord("4"), ord("c")): 9.0, (ord("5"), ord("c")): 9.0, (ord("6"), ord("d")): 9.0})
    assert score_multiple_choice(mixed, tok, items)["correct"] == [True, False, True]


def test_progress_and_cancellation(tiny):
    items = load_eval_items("builtin:arith", limit=5)  # 20 requests
    seen = []
    record = lambda d, t: seen.append((d, t))  # noqa: E731
    score_multiple_choice(tiny.model, tiny.tokenizer, items, batch_size=2, on_progress=record)
    assert seen == [(8, 20), (16, 20), (20, 20)]  # shared contexts: 2 items (8 options) per group
    seen.clear()
    score_multiple_choice(tiny.model, tiny.tokenizer, items, batch_size=8, share_context=False, on_progress=record)
    assert seen == [(8, 20), (16, 20), (20, 20)]  # one sequence per option: 8 per batch

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        score_multiple_choice(tiny.model, tiny.tokenizer, items, on_progress=stop)


def test_bad_items_are_rejected():
    tok, model = ByteTokenizer(), _bigram({})
    with pytest.raises(InvalidArgument, match="no multiple-choice items"):
        score_multiple_choice(model, tok, [])
    with pytest.raises(InvalidArgument, match="gold index 2"):
        score_multiple_choice(model, tok, [ChoiceItem("Q", ["a", "b"], 2)])
    with pytest.raises(InvalidArgument, match="at least two options"):
        score_multiple_choice(model, tok, [ChoiceItem("Q", ["a"], 0)])


def test_long_contexts_are_cut_from_the_left():
    tok = ByteTokenizer()
    model = _bigram({(ord(" "), ord("y")): 4.0})
    item = ChoiceItem("x" * 500, ["y", "n"], 0)  # 500 bytes > max_position_embeddings=64
    assert score_multiple_choice(model, tok, [item])["acc"] == 1.0


# ------------------------------------------------------------------------------------------------- classification


class FixedClassifier(torch.nn.Module):
    """Predicts label 1 when the text holds an even number of bytes, else 0."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(num_labels=2, max_position_embeddings=64)
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask):
        even = (attention_mask.sum(-1) % 2 == 0).float()
        return SimpleNamespace(logits=torch.stack([1 - even, even], dim=-1))


def test_score_classification_counts_correct_labels():
    tok = ByteTokenizer()
    items = [ClassItem("ab", 1), ClassItem("abc", 0), ClassItem("abcd", 0), ClassItem("a", 1)]
    assert score_classification(FixedClassifier(), tok, items, batch_size=3) == {
        "acc": 0.5,
        "n": 4,
        "correct": [True, True, False, False],
    }
    with pytest.raises(InvalidArgument, match="label 5"):
        score_classification(FixedClassifier(), tok, [ClassItem("ab", 5)])


def test_score_classification_on_tiny_seq_cls():
    lb = load_base_model("builtin:tiny-llama", "seq_cls")
    items = load_class_items("builtin:arith", split="test", limit=64)
    a = score_classification(lb.model, lb.tokenizer, items, batch_size=8)
    b = score_classification(lb.model, lb.tokenizer, items, batch_size=64)
    assert a == b and a["n"] == 64 and not math.isnan(a["acc"])


# ------------------------------------------------------------------------------------------------- SmolLM2


def test_smollm2_arith_base_is_well_below_ceiling(smollm2):
    # builtin:arith must leave room for fine-tuning to show (docs/data-and-evaluation.md: 0.355 on 200 items).
    res = score_multiple_choice(
        smollm2.model, smollm2.tokenizer, load_eval_items("builtin:arith", limit=40), batch_size=16
    )
    assert res["n"] == 40 and res["acc"] <= 0.6


def test_smollm2_shared_context_matches_full_sequences(smollm2, commonsense_dir):
    # Real GQA attention, a real tokenizer (whose context/continuation boundary is not byte-aligned), 4-5 options.
    items = load_eval_items(str(commonsense_dir / "ARC-Easy/test.json"), limit=3)
    shared = option_loglikelihoods(smollm2.model, smollm2.tokenizer, items, batch_size=16, share_context=True)
    full = option_loglikelihoods(smollm2.model, smollm2.tokenizer, items, batch_size=16, share_context=False)
    for a, b in zip(shared, full):
        assert a == pytest.approx(b, abs=2e-3)


@pytest.mark.slow
def test_smollm2_seq_cls_on_boolq(commonsense_dir):
    lb = load_base_model("builtin:smollm2-135m", "seq_cls", num_labels=2)
    items = load_class_items(str(commonsense_dir / "boolq/test.json"), limit=16)
    res = score_classification(lb.model, lb.tokenizer, items, batch_size=8)
    assert res["n"] == 16 and 0.0 <= res["acc"] <= 1.0
    assert lb.model.config.pad_token_id == lb.tokenizer.pad_token_id


@pytest.mark.slow
def test_short_lora_fine_tune_improves_arith():
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "measure_builtin_task.py"
    out = subprocess.run(
        [sys.executable, str(script), "--steps", "40", "--eval-limit", "100"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["tuned"]["acc"] >= result["base"]["acc"] + 0.15, result


def test_pack_item_bits_is_numpys_little_bit_order():
    import numpy as np

    from bslora_worker.trials.evaluate_trial import pack_item_bits

    flags = [bool((i * 7) % 3) for i in range(21)]
    assert pack_item_bits(flags) == np.packbits(np.array(flags), bitorder="little").tobytes()
    assert pack_item_bits([True, False, True, True]) == bytes([0b1101])
    assert pack_item_bits([]) == b""

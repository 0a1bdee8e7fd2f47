from __future__ import annotations

import collections
import hashlib
import json
import re

import pytest
from bslora_worker.data import (
    ChoiceItem,
    TrainExample,
    class_labels,
    identity_of,
    load_class_items,
    load_eval_items,
    load_train_examples,
)
from bslora_worker.data.formats import ALPACA_PROMPT, ANSWER_LEAD
from bslora_worker.errors import InvalidArgument

# ------------------------------------------------------------------------------------------------- builtin:arith

_Q = re.compile(r"^Question: What is (\d+) ([+-]) (\d+)\?\nAnswer:$")


def _solve(context: str) -> int:
    a, op, b = _Q.match(context).groups()
    return int(a) + int(b) if op == "+" else int(a) - int(b)


def test_arith_splits_are_fixed_disjoint_and_correct():
    train = load_train_examples("builtin:arith")
    test = load_eval_items("builtin:arith")
    assert len(train) == 4000 and len(test) == 500
    assert {e.prompt for e in train}.isdisjoint({i.context for i in test})
    for e in train:
        assert e.completion == f" {_solve(e.prompt)}"
    for item in test:
        assert item.delimiter == " " and len(item.options) == 4 and len(set(item.options)) == 4
        assert item.options[item.gold] == str(_solve(item.context))
    # the gold position carries no signal: each position holds roughly a quarter of the golds
    positions = collections.Counter(i.gold for i in test)
    assert all(0.17 < positions[k] / len(test) < 0.33 for k in range(4)), positions


def test_arith_is_pinned():
    # Changing the generator changes every result recorded under builtin:arith@v1: bump ARITH_VERSION instead.
    test = load_eval_items("builtin:arith")
    blob = json.dumps([[i.context, i.options, i.gold] for i in test]).encode()
    assert hashlib.sha256(blob).hexdigest()[:16] == "a9a03624e9f1de8d"
    assert identity_of("builtin:arith") == "builtin:arith@v1"


def test_arith_explicit_splits_and_limits():
    assert load_eval_items("builtin:arith", limit=7) == load_eval_items("builtin:arith")[:7]
    train_as_items = load_eval_items("builtin:arith/train", limit=5)
    assert [i.context for i in train_as_items] == [e.prompt for e in load_train_examples("builtin:arith", limit=5)]
    assert [e.prompt for e in load_train_examples("builtin:arith/test", limit=3)] == [
        i.context for i in load_eval_items("builtin:arith", limit=3)
    ]
    assert identity_of("builtin:arith/test") == "builtin:arith/test@v1"
    with pytest.raises(InvalidArgument, match="unknown builtin task"):
        load_eval_items("builtin:nope")
    with pytest.raises(InvalidArgument, match="splits"):
        load_train_examples("builtin:arith/validation")
    with pytest.raises(InvalidArgument, match="limit"):
        load_eval_items("builtin:arith", limit=-1)


def test_arith_classification_items():
    items = load_class_items("builtin:arith", split="test")
    assert len(items) == 500 and class_labels("builtin:arith") == ["wrong", "right"]
    balance = sum(i.label for i in items) / len(items)
    assert 0.4 < balance < 0.6
    for it in items:
        lhs, rhs = it.text.split(" = ")
        a, op, b = lhs.split()
        truth = int(a) + int(b) if op == "+" else int(a) - int(b)
        assert (truth == int(rhs)) == bool(it.label)


# ------------------------------------------------------------------------------------------------- the real files

EXPECTED = {
    "boolq/train.json": (9427, {2}),
    "boolq/test.json": (3270, {2}),
    "ARC-Easy/train.json": (2251, {3, 4, 5}),
    "ARC-Easy/test.json": (2376, {3, 4, 5}),
    "openbookqa/train.json": (4957, {4}),
    "openbookqa/test.json": (500, {4}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_commonsense_files_parse_completely(commonsense_dir, name):
    path = commonsense_dir / name
    raw = json.loads(path.read_text())
    items = load_eval_items(str(path))
    count, option_counts = EXPECTED[name]
    assert len(items) == count == len(raw)
    assert {len(i.options) for i in items} == option_counts
    for item, rec in zip(items, raw):
        if rec["answer"] in ("true", "false"):
            assert item.options == ["no", "yes"] and item.gold == int(rec["answer"] == "true")
        else:
            assert item.gold == int(rec["answer"][len("answer") :]) - 1
            # every option text appears verbatim (up to whitespace) in the instruction, after its marker
            flat = " ".join(rec["instruction"].split())
            for k, opt in enumerate(item.options, start=1):
                assert f"Answer{k}: {opt}" in flat
        assert item.context.startswith("Question: ") and item.context.endswith("\nAnswer:")
        assert "Please choose" not in item.context and "Answer1:" not in item.context


def test_commonsense_first_records_exactly(commonsense_dir):
    arc = load_eval_items(str(commonsense_dir / "ARC-Easy/train.json"), limit=1)[0]
    assert arc == ChoiceItem(
        context="Question: Which factor will most likely cause a person to develop a fever?\nAnswer:",
        options=[
            "a leg muscle relaxing after exercise",
            "a bacterial population in the bloodstream",
            "several viral particles on the skin",
            "carbohydrates being digested in the stomach",
        ],
        gold=1,
    )
    ex = load_train_examples(str(commonsense_dir / "boolq/train.json"), limit=1)[0]
    assert ex == TrainExample("Question: do iran and afghanistan speak the same language?\nAnswer:", " yes")


def test_llm_adapters_style_trains_what_it_scores(commonsense_dir):
    path = str(commonsense_dir / "openbookqa/train.json") + "#llm-adapters"
    examples = load_train_examples(path, limit=20)
    items = load_eval_items(path, limit=20)
    raw = json.loads((commonsense_dir / "openbookqa/train.json").read_text())[:20]
    for ex, item, rec in zip(examples, items, raw):
        assert ex.prompt.startswith(ALPACA_PROMPT.split("{")[0]) and rec["instruction"] in ex.prompt
        assert ex.completion == rec["output"]
        assert item.options == ["answer1", "answer2", "answer3", "answer4"]
        assert item.context + item.continuation(item.gold) == ex.prompt + ex.completion
        assert item.context.endswith(ANSWER_LEAD)
    assert identity_of(path).endswith("#llm-adapters")
    assert identity_of(path).split("#")[0] == identity_of(str(commonsense_dir / "openbookqa/train.json"))


# ------------------------------------------------------------------------------------------------- every answer style


def _write(tmp_path, records, name="data.json"):
    p = tmp_path / name
    p.write_text(json.dumps(records))
    return p


PIQA = {
    "instruction": "Please choose the correct solution to the question: Make outdoor pillow.\n\n"
    "Solution1: Blow into tin can and tie with rubber band.\n\n"
    "Solution2: Blow into trash bag and tie with rubber band.\n\nAnswer format: solution1/solution2",
    "input": "",
    "output": "the correct answer is solution2",
    "answer": "solution2",
}
WINOGRANDE = {
    "instruction": "Please choose the correct answer to fill in the blank to complete the given sentence: "
    "Ian volunteered to eat Dennis's menudo after already having a bowl because _ despised eating intestine.\n\n"
    "Option1: Ian Option2: Dennis Answer format: option1/option2",
    "input": "",
    "output": "the correct answer is option2",
    "answer": "option2",
}
HELLASWAG = {
    "instruction": "Please choose the correct ending to complete the given sentence: Playing drums: People are "
    "standing behind large drums. A man\n\nEnding1: is playing a bag pipe. Ending2: starts to play around the drums. "
    "Ending3: begins playing a drum set. Ending4: begins playing the drums.\n\n"
    "Answer format: ending1/ending2/ending3/ending4",
    "input": "",
    "output": "the correct answer is ending4",
    "answer": "ending4",
}
SIQA = {
    "instruction": "Please choose the correct answer to the question: Carson relocated somewhere new. "
    "How would you describe Carson?\n\nAnswer1: mobile Answer2: anxious Answer3: lonely\n\n"
    "Answer format: answer1/answer2/answer3",
    "input": "",
    "output": "the correct answer is answer1",
    "answer": "answer1",
}
BOOLQ = {
    "instruction": "Please answer the following question with true or false, question: is the sky blue?\n\n"
    "Answer format: true/false",
    "input": "",
    "output": "the correct answer is true",
    "answer": "true",
}


def test_every_answer_style(tmp_path):
    p = _write(tmp_path, [PIQA, WINOGRANDE, HELLASWAG, SIQA, BOOLQ])
    piqa, wino, hella, siqa, boolq = load_eval_items(str(p))
    assert piqa.context == "Question: Make outdoor pillow.\nAnswer:"
    assert piqa.options == [
        "Blow into tin can and tie with rubber band.",
        "Blow into trash bag and tie with rubber band.",
    ]
    assert piqa.gold == 1
    assert wino.options == ["Ian", "Dennis"] and wino.gold == 1 and "_ despised" in wino.context
    assert hella.context == "Playing drums: People are standing behind large drums. A man"  # endings: no Question:
    assert hella.options[3] == "begins playing the drums." and hella.gold == 3 and len(hella.options) == 4
    assert siqa.options == ["mobile", "anxious", "lonely"] and siqa.gold == 0
    assert (
        boolq.context == "Question: is the sky blue?\nAnswer:" and boolq.options == ["no", "yes"] and boolq.gold == 1
    )
    labels = load_eval_items(str(p) + "#llm-adapters")
    assert [i.options for i in labels] == [
        ["solution1", "solution2"],
        ["option1", "option2"],
        ["ending1", "ending2", "ending3", "ending4"],
        ["answer1", "answer2", "answer3"],
        ["false", "true"],
    ]
    assert [i.gold for i in labels] == [1, 1, 3, 0, 1]
    train = load_train_examples(str(p))
    assert [e.completion for e in train] == [
        " Blow into trash bag and tie with rubber band.",
        " Dennis",
        " begins playing the drums.",
        " mobile",
        " yes",
    ]


@pytest.mark.parametrize(
    "record,match",
    [
        ({**SIQA, "answer": "answer7"}, r"answer answer7 names an option that is not listed \(3 options\)"),
        ({**SIQA, "answer": "maybe"}, r"the answer is not one of true/false"),
        ({**SIQA, "answer": "option1"}, r"does not list options 'Option1: \.\.\. Option2: \.\.\.'"),
        ({**SIQA, "instruction": SIQA["instruction"].replace("answer3", "answer3/answer4")}, "answer format names 4"),
        (
            {**SIQA, "instruction": SIQA["instruction"].replace("Answer2: anxious", "Answer2: ")},
            "option answer2 is empty",
        ),
        (
            {**BOOLQ, "instruction": "Please answer the following question with true or false, question: "},
            "no question",
        ),
        ({k: v for k, v in SIQA.items() if k != "instruction"}, r"missing field 'instruction'"),
        ({**SIQA, "answer": 3}, r"field 'answer' must be a string"),
    ],
)
def test_unparseable_record_names_file_and_record(tmp_path, record, match):
    p = _write(tmp_path, [SIQA, SIQA, record])
    with pytest.raises(InvalidArgument, match=match) as info:
        load_eval_items(str(p))
    assert str(p) in info.value.message and "record #2 (0-based)" in info.value.message


# --------------------------------------------------------------------------------------------- Alpaca, malformed files


def test_alpaca_json_and_jsonl(tmp_path):
    records = [
        {"instruction": "Give a synonym of happy.", "input": "", "output": "glad"},
        {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
        {"instruction": "Say hi.", "output": "hi"},  # input may be absent
    ]
    as_json = _write(tmp_path, records)
    as_jsonl = tmp_path / "data.jsonl"
    as_jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    for p in (as_json, as_jsonl):
        ex = load_train_examples(str(p))
        assert len(ex) == 3
        assert ex[0].prompt.endswith("### Instruction:\nGive a synonym of happy.\n\n### Response:\n")
        assert "### Input:" not in ex[0].prompt and ex[0].completion == "glad"
        assert "### Input:\n2 and 3\n\n### Response:\n" in ex[1].prompt
        assert load_train_examples(str(p), limit=2) == ex[:2]
    with pytest.raises(InvalidArgument, match="Alpaca-style records have no options"):
        load_eval_items(str(as_json))


def test_malformed_files_name_the_place(tmp_path):
    bad_line = tmp_path / "bad.jsonl"
    bad_line.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n')
    with pytest.raises(InvalidArgument, match=r"bad\.jsonl, line 2: invalid JSON"):
        load_train_examples(str(bad_line))
    not_obj = tmp_path / "notobj.jsonl"
    not_obj.write_text('{"instruction": "a", "output": "b"}\n[1, 2]\n')
    with pytest.raises(InvalidArgument, match=r"line 2: expected an object, found list"):
        load_train_examples(str(not_obj))
    broken = tmp_path / "broken.json"
    broken.write_text('[{"instruction": "a",\n "output": }]')
    with pytest.raises(InvalidArgument, match=r"broken\.json: invalid JSON at line 2"):
        load_train_examples(str(broken))
    scalar = _write(tmp_path, 42, "scalar.json")
    with pytest.raises(InvalidArgument, match="expected a JSON list of records"):
        load_train_examples(str(scalar))
    empty_out = _write(tmp_path, [{"instruction": "a", "output": "b"}, {"instruction": "a", "output": " "}], "e.json")
    with pytest.raises(InvalidArgument, match=r"record #1 \(0-based\): field 'output' is empty"):
        load_train_examples(str(empty_out))
    with pytest.raises(InvalidArgument, match="holds no records"):
        load_train_examples(str(_write(tmp_path, [], "none.json")))
    with pytest.raises(InvalidArgument, match="does not exist"):
        load_train_examples(str(tmp_path / "missing.json"))
    # A hub dataset id is not a malformed ref: offline it fails as a precondition (tests/worker/test_hub_data.py).
    with pytest.raises(InvalidArgument, match="nor a hub dataset id"):
        load_train_examples("not a ref at all")
    with pytest.raises(InvalidArgument, match="unknown style"):
        load_train_examples(str(empty_out) + "#fancy")


def test_data_allowed_roots_and_identity(tmp_path):
    inside = tmp_path / "data"
    inside.mkdir()
    p = _write(inside, [SIQA])
    assert len(load_eval_items(str(p), allowed_roots=[str(inside)])) == 1
    with pytest.raises(InvalidArgument, match="outside the worker's allowed roots"):
        load_eval_items(str(p), allowed_roots=[str(tmp_path / "other")])
    with pytest.raises(InvalidArgument, match="outside"):
        load_train_examples(str(p), allowed_roots=[str(tmp_path / "other")])
    assert identity_of(str(p)) == hashlib.sha256(p.read_bytes()).hexdigest()
    before = identity_of(str(p))
    p.write_text(json.dumps([SIQA, SIQA]))
    assert identity_of(str(p)) != before

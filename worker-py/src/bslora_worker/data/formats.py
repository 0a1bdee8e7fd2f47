"""Local data files: Alpaca JSON/JSONL and the LLM-Adapters commonsense format.

Alpaca records: ``{"instruction", "input", "output"}`` (``input`` optional).

LLM-Adapters commonsense records add ``answer`` and write the options inside ``instruction``, e.g.::

    Please choose the correct answer to the question: Which factor ...?

    Answer1: a leg muscle ... Answer2: a bacterial population ... Answer3: ... Answer4: ...

    Answer format: answer1/answer2/answer3/answer4

Answer styles: ``answer1..N`` (ARC, OpenBookQA, SIQA), ``option1/2`` (WinoGrande), ``solution1/2`` (PIQA),
``ending1..4`` (HellaSwag), ``true``/``false`` (BoolQ).

A file is read in one of two *styles*, chosen by a ``#style`` suffix on the ref:

``#mc`` (default) — lm-evaluation-harness style. Context ``Question: <question>\\nAnswer:`` (HellaSwag-style
endings: the sentence itself), options the option texts (BoolQ: ``no``/``yes``). A train example is that context
followed by `` <gold option text>``, so fine-tuning on a train file trains exactly what evaluation scores.

``#llm-adapters`` — the paper's format. The prompt is the Alpaca template around the whole instruction (options
listed), the completion the record's ``output`` ("the correct answer is answer2"); evaluation scores the labels
(`` answer1`` ... `` answerN``, `` true``/`` false``) after ``<prompt>the correct answer is``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from .types import ChoiceItem, ClassItem, TrainExample

STYLES = ("mc", "llm-adapters")
DEFAULT_STYLE = "mc"

ALPACA_PROMPT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)
ALPACA_PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
ANSWER_LEAD = "the correct answer is"

# Prompt templates of instruction records (Alpaca files, and commonsense files read #llm-adapters), as
# (template without input, template with input). "alpaca" is the Stanford Alpaca template that alpaca-lora,
# LLM-Adapters and the BSLoRA reference train with; "alpaca_short" is alpaca-lora's template without the preamble;
# "none" is the bare instruction (and input), a blank line, then the response.
PROMPT_TEMPLATES = {
    "alpaca": (ALPACA_PROMPT, ALPACA_PROMPT_WITH_INPUT),
    "alpaca_short": (
        "### Instruction:\n{instruction}\n\n### Response:\n",
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
    ),
    "none": ("{instruction}\n\n", "{instruction}\n\n{input}\n\n"),
}
DEFAULT_PROMPT_TEMPLATE = "alpaca"


def check_prompt_template(name: str) -> str:
    """``name`` ("" = the default) if it is a known template; InvalidArgument listing them otherwise."""
    name = name or DEFAULT_PROMPT_TEMPLATE
    if name not in PROMPT_TEMPLATES:
        raise InvalidArgument(
            f"training.prompt_template {name!r} is not one of {', '.join(PROMPT_TEMPLATES)}"
        )
    return name


def alpaca_prompt(instruction: str, input_text: str = "", template: str = DEFAULT_PROMPT_TEMPLATE) -> str:
    plain, with_input = PROMPT_TEMPLATES[check_prompt_template(template)]
    if input_text:
        return with_input.format(instruction=instruction, input=input_text)
    return plain.format(instruction=instruction)


# ----------------------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Record:
    data: dict
    where: str  # "record #12" (JSON, 0-based) or "line 13" (JSONL, 1-based)


def read_records(path: Path) -> list[Record]:
    """Records of a JSON file (a list of objects) or JSONL file (one object per line), each with its location."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"data file {path}: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise InvalidArgument(f"data file {path}: cannot be read ({exc})") from exc
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return _read_jsonl(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several JSON values one after the other: JSONL under a .json name
            return _read_jsonl(path, text)
        raise InvalidArgument(
            f"data file {path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if isinstance(data, dict):
        # A single object holding the list, as some exports do ({"data": [...]}).
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise InvalidArgument(f"data file {path}: expected a JSON list of records, found an object")
        data = lists[0]
    if not isinstance(data, list):
        raise InvalidArgument(f"data file {path}: expected a JSON list of records, found {type(data).__name__}")
    records = []
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise InvalidArgument(
                f"data file {path}, record #{i} (0-based): expected an object, found {type(rec).__name__}"
            )
        records.append(Record(rec, f"record #{i} (0-based)"))
    return records


def _read_jsonl(path: Path, text: str) -> list[Record]:
    records = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(
                f"data file {path}, line {n}: invalid JSON at column {exc.colno}: {exc.msg}"
            ) from exc
        if not isinstance(rec, dict):
            raise InvalidArgument(f"data file {path}, line {n}: expected an object, found {type(rec).__name__}")
        records.append(Record(rec, f"line {n}"))
    return records


def _field(path: Path, rec: Record, name: str, *, required: bool = True) -> str:
    value: Any = rec.data.get(name)
    if value is None:
        if required:
            # The record's other field names are its content: never quoted back (they reach the submitter).
            raise InvalidArgument(f"data file {path}, {rec.where}: missing field {name!r}")
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(
            f"data file {path}, {rec.where}: field {name!r} must be a string, found {type(value).__name__}"
        )
    return value


def is_commonsense(records: list[Record]) -> bool:
    return bool(records) and "answer" in records[0].data


# ----------------------------------------------------------------------------------------------------------- Alpaca


def alpaca_examples(path: Path, records: list[Record], template: str = DEFAULT_PROMPT_TEMPLATE) -> list[TrainExample]:
    out = []
    for rec in records:
        instruction = _field(path, rec, "instruction")
        output = _field(path, rec, "output")
        if not instruction.strip():
            raise InvalidArgument(f"data file {path}, {rec.where}: field 'instruction' is empty")
        if not output.strip():
            raise InvalidArgument(f"data file {path}, {rec.where}: field 'output' is empty")
        out.append(
            TrainExample(
                prompt=alpaca_prompt(instruction, _field(path, rec, "input", required=False), template),
                completion=output,
            )
        )
    return out


# ------------------------------------------------------------------------------------------------------- commonsense

_KINDS = ("answer", "option", "solution", "ending")
_ANSWER_RE = re.compile(r"^(answer|option|solution|ending)(\d+)$")
_PREFIX_RE = re.compile(r"^\s*please\s+(?:choose|answer|select|pick)\b[^:]*:\s*", re.IGNORECASE)
_FORMAT_RE = re.compile(r"\s*Answer format\s*:\s*(?P<fmt>[^\n]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    question: str
    options: list[str]  # option texts (BoolQ: ["false", "true"] is not used; see below)
    labels: list[str]  # the answer labels: answer1.. / option1.. / true,false
    gold: int
    kind: str  # answer | option | solution | ending | boolean


def parse_commonsense(path: Path, rec: Record) -> Parsed:
    """Parse one LLM-Adapters record into question, options and gold index; InvalidArgument naming the file and
    record for anything it cannot parse."""
    instruction = _field(path, rec, "instruction")
    answer = _field(path, rec, "answer").strip().lower()
    where = f"data file {path}, {rec.where}"

    body = instruction
    fmt = _FORMAT_RE.search(body)
    fmt_labels = None
    if fmt:
        fmt_labels = re.findall(r"[a-z]+\s*\d+|true|false", fmt.group("fmt").lower())
        fmt_labels = [t.replace(" ", "") for t in fmt_labels]
        body = body[: fmt.start()]
    question_full = body

    if answer in ("true", "false"):
        question = _PREFIX_RE.sub("", body).strip()
        if not question:
            raise InvalidArgument(f"{where}: no question text before the answer format")
        if fmt_labels is not None and sorted(fmt_labels) != ["false", "true"]:
            raise InvalidArgument(f"{where}: a true/false answer, but the answer format names other labels")
        # Harness BoolQ order: ["no", "yes"]; labels in the same order.
        return Parsed(question, ["no", "yes"], ["false", "true"], int(answer == "true"), "boolean")

    m = _ANSWER_RE.match(answer)
    if not m:
        raise InvalidArgument(
            f"{where}: the answer is not one of true/false or answerN/optionN/solutionN/endingN"
        )
    kind, gold = m.group(1), int(m.group(2)) - 1
    markers = list(re.finditer(rf"(?<![A-Za-z0-9]){kind}(\d+)\s*:", question_full, re.IGNORECASE))
    # Keep the run 1, 2, ..., N that ends the text; a stray "Answer1:" inside the question then cannot split it.
    run: list[re.Match] = []
    for mk in markers:
        if int(mk.group(1)) == 1:
            run = [mk]
        elif run and int(mk.group(1)) == len(run) + 1:
            run.append(mk)
    if len(run) < 2:
        raise InvalidArgument(
            f"{where}: answer {kind}{gold + 1} but the instruction does not list options "
            f"'{kind.capitalize()}1: ... {kind.capitalize()}2: ...'"
        )
    options = []
    for i, mk in enumerate(run):
        end = run[i + 1].start() if i + 1 < len(run) else len(question_full)
        text = " ".join(question_full[mk.end() : end].split())
        if not text:
            raise InvalidArgument(f"{where}: option {kind}{i + 1} is empty")
        options.append(text)
    if fmt_labels is not None:
        expected = [f"{kind}{i + 1}" for i in range(len(options))]
        if fmt_labels != expected:
            raise InvalidArgument(
                f"{where}: the instruction lists {len(options)} options but the answer format names "
                f"{len(fmt_labels)}"
            )
    if not 0 <= gold < len(options):
        raise InvalidArgument(
            f"{where}: answer {kind}{gold + 1} names an option that is not listed ({len(options)} options)"
        )
    question = " ".join(_PREFIX_RE.sub("", question_full[: run[0].start()]).split())
    if not question:
        raise InvalidArgument(f"{where}: no question text before the options")
    labels = [f"{kind}{i + 1}" for i in range(len(options))]
    return Parsed(question, options, labels, gold, kind)


def _mc_context(p: Parsed) -> str:
    if p.kind == "ending":  # HellaSwag: the sentence to complete is the context, as in the harness
        return p.question
    q = p.question
    if p.kind == "boolean" and q[-1:] not in "?.!":
        q += "?"
    return f"Question: {q}\nAnswer:"


def commonsense_items(
    path: Path, records: list[Record], style: str, template: str = DEFAULT_PROMPT_TEMPLATE
) -> list[ChoiceItem]:
    items = []
    for rec in records:
        p = parse_commonsense(path, rec)
        if style == "llm-adapters":
            prompt = alpaca_prompt(
                _field(path, rec, "instruction"), _field(path, rec, "input", required=False), template
            )
            items.append(ChoiceItem(context=prompt + ANSWER_LEAD, options=p.labels, gold=p.gold))
        else:
            items.append(ChoiceItem(context=_mc_context(p), options=p.options, gold=p.gold))
    return items


def commonsense_examples(
    path: Path, records: list[Record], style: str, template: str = DEFAULT_PROMPT_TEMPLATE
) -> list[TrainExample]:
    if style == "llm-adapters":
        return alpaca_examples(path, records, template)
    out = []
    for rec in records:
        p = parse_commonsense(path, rec)
        out.append(TrainExample(prompt=_mc_context(p), completion=" " + p.options[p.gold]))
    return out


def commonsense_class_items(path: Path, records: list[Record]) -> list[ClassItem]:
    out = []
    for rec in records:
        p = parse_commonsense(path, rec)
        if p.kind != "boolean":
            raise InvalidArgument(
                f"data file {path}, {rec.where}: sequence classification needs true/false records (BoolQ style); "
                f"this one is multiple choice ({p.labels[p.gold]})"
            )
        out.append(ClassItem(text=p.question, label=p.gold))
    return out

"""Built-in offline tasks, generated deterministically from nothing but Python: no files, no network.

``builtin:arith`` — two-digit addition and subtraction, e.g. ``Question: What is 47 + 38?`` / ``Answer: 85``.
Every problem ``a op b`` with 10 <= a, b <= 99 (and a >= b for subtraction) is ordered by the sha256 of its text;
the first 500 form the test split, the next 4,000 the train split, so the split is fixed on every machine and
version of Python. The three wrong options are the classic slips — off by one, off by ten (a missed or spurious
carry), off by eleven — chosen and placed by the same hash, so a model must actually compute the answer: the
option set gives no length or format cue, and the gold option's position is uniform.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from ..errors import InvalidArgument
from .types import ChoiceItem, ClassItem, TrainExample

ARITH_VERSION = "v1"
ARITH_TEST_SIZE = 500
ARITH_TRAIN_SIZE = 4000


@dataclass(frozen=True)
class _Problem:
    a: int
    op: str
    b: int

    @property
    def text(self) -> str:
        return f"{self.a} {self.op} {self.b}"

    @property
    def answer(self) -> int:
        return self.a + self.b if self.op == "+" else self.a - self.b


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in ("arith", ARITH_VERSION, *parts)).encode()).digest()


def _problems() -> Iterator[_Problem]:
    for a in range(10, 100):
        for b in range(10, 100):
            yield _Problem(a, "+", b)
            if a >= b:
                yield _Problem(a, "-", b)


@lru_cache(maxsize=1)
def _splits() -> tuple[tuple[_Problem, ...], tuple[_Problem, ...]]:
    ordered = sorted(_problems(), key=lambda p: _digest(p.text))
    return tuple(ordered[:ARITH_TEST_SIZE]), tuple(ordered[ARITH_TEST_SIZE : ARITH_TEST_SIZE + ARITH_TRAIN_SIZE])


def _context(p: _Problem) -> str:
    return f"Question: What is {p.a} {p.op} {p.b}?\nAnswer:"


def _options(p: _Problem) -> tuple[list[str], int]:
    ans = p.answer
    h = _digest("options", p.text)
    slips = [d for d in (1, -1, 10, -10, 11, -11, 9, -9) if ans + d >= 0]
    # Hash-ordered slips; take three distinct wrong answers.
    slips.sort(key=lambda d: _digest("slip", p.text, d))
    wrong = [ans + d for d in slips[:3]]
    gold = h[0] % 4
    values = wrong[:gold] + [ans] + wrong[gold:]
    return [str(v) for v in values], gold


def arith_items(split: str) -> list[ChoiceItem]:
    problems = _split(split)
    items = []
    for p in problems:
        options, gold = _options(p)
        items.append(ChoiceItem(context=_context(p), options=options, gold=gold))
    return items


def arith_examples(split: str) -> list[TrainExample]:
    return [TrainExample(prompt=_context(p), completion=f" {p.answer}") for p in _split(split)]


def arith_class_items(split: str) -> list[ClassItem]:
    """``builtin:arith`` as binary classification: "47 + 38 = 85" is right (1) or wrong (0); half are wrong."""
    items = []
    for p in _split(split):
        options, gold = _options(p)
        right = _digest("class", p.text)[0] % 2 == 1
        shown = options[gold] if right else options[(gold + 1) % len(options)]
        items.append(ClassItem(text=f"{p.text} = {shown}", label=int(right)))
    return items


def _split(split: str) -> tuple[_Problem, ...]:
    test, train = _splits()
    if split == "test":
        return test
    if split == "train":
        return train
    raise InvalidArgument(f"builtin:arith has the splits train and test, not {split!r}")


BUILTIN_TASKS = {"arith": ARITH_VERSION}


def parse_builtin(ref: str) -> tuple[str, str | None]:
    """``builtin:arith`` or ``builtin:arith/train`` -> (name, split or None)."""
    body = ref.split(":", 1)[1]
    name, _, split = body.partition("/")
    if name not in BUILTIN_TASKS:
        raise InvalidArgument(
            f"unknown builtin task {ref!r}; builtin tasks are: {', '.join('builtin:' + n for n in BUILTIN_TASKS)}"
        )
    if split and split not in ("train", "test"):
        raise InvalidArgument(f"{ref!r}: a builtin task has the splits train and test, not {split!r}")
    return name, split or None

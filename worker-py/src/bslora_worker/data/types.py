"""Records that training and evaluation consume."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainExample:
    """One supervised example for a causal LM: the loss is taken on ``completion`` given ``prompt``.

    ``prompt + completion`` is the full text; ``completion`` carries its own leading space or newline."""

    prompt: str
    completion: str


@dataclass(frozen=True)
class ChoiceItem:
    """One multiple-choice question, scored by the log-likelihood of ``delimiter + options[i]`` after ``context``.

    ``options`` hold the bare choice strings (as lm-evaluation-harness's ``doc_to_choice``); ``acc_norm`` divides
    by their length in characters, the delimiter excluded, exactly as the harness does."""

    context: str
    options: list[str]
    gold: int
    delimiter: str = " "

    def continuation(self, i: int) -> str:
        return self.delimiter + self.options[i]


@dataclass(frozen=True)
class ClassItem:
    """One sequence-classification example: ``label`` indexes ``ClassTask.labels``."""

    text: str
    label: int

"""Evaluation: zero-shot multiple choice by log-likelihood, and sequence-classification accuracy."""

from .multiple_choice import option_loglikelihoods, score_multiple_choice
from .classification import score_classification

__all__ = ["option_loglikelihoods", "score_classification", "score_multiple_choice"]

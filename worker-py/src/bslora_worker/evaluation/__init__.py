"""Evaluation: zero-shot multiple choice by log-likelihood, and sequence-classification accuracy."""

from .classification import score_classification
from .multiple_choice import option_loglikelihoods, score_multiple_choice

__all__ = ["option_loglikelihoods", "score_classification", "score_multiple_choice"]

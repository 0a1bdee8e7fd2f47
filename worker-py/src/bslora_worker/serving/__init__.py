"""Serving many adapters on one resident base model (mixed-adapter batches)."""

from .adapter_pool import AdapterPool

__all__ = ["AdapterPool"]

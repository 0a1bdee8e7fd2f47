"""Deliberate failures for fault-tolerance tests, switched on only by an environment variable.

``BSLORA_WORKER_FAULTS`` holds comma-separated rules ``<kind>:<substring>``; a rule applies to trials whose name
contains the substring:

- ``unavailable:<s>``: ``Train`` fails with UNAVAILABLE (transient: the control plane retries it).
- ``slow:<s>``: every training step sleeps 0.5 s (so a test can act mid-training).
- ``oom:<s>``: ``Train`` raises torch's OutOfMemoryError (mapped to RESOURCE_EXHAUSTED).

Unset in production; the worker logs the rules it loaded so an accidental setting is visible.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultRules:
    unavailable: tuple[str, ...] = ()
    slow: tuple[str, ...] = ()
    oom: tuple[str, ...] = ()

    def is_oom(self, trial_name: str) -> bool:
        return any(s in trial_name for s in self.oom)

    def is_unavailable(self, trial_name: str) -> bool:
        return any(s in trial_name for s in self.unavailable)

    def is_slow(self, trial_name: str) -> bool:
        return any(s in trial_name for s in self.slow)


def load_fault_rules() -> FaultRules:
    raw = os.environ.get("BSLORA_WORKER_FAULTS", "").strip()
    if not raw:
        return FaultRules()
    unavailable, slow, oom = [], [], []
    for rule in raw.split(","):
        kind, _, needle = rule.strip().partition(":")
        if kind == "unavailable":
            unavailable.append(needle)
        elif kind == "slow":
            slow.append(needle)
        elif kind == "oom":
            oom.append(needle)
        else:
            raise SystemExit(f"BSLORA_WORKER_FAULTS rule {rule!r}: kind must be 'unavailable', 'slow' or 'oom'")
    print(f"fault injection active: {raw}", file=sys.stderr, flush=True)
    return FaultRules(tuple(unavailable), tuple(slow), tuple(oom))

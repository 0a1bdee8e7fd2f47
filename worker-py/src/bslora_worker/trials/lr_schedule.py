"""The learning rate of each optimizer step, from transformers' scheduler factory (``get_scheduler``).

``linear`` is the transformers Trainer's default (and the BSLoRA reference's): linear warm-up from 0, then linear decay
to 0 at the last step. ``cosine`` decays along a half cosine to 0; ``constant_with_warmup`` stays at the peak after
the warm-up. As in the Trainer, the scheduler is stepped after each optimizer step, so step k (0-based) runs at
``peak · λ(k)``: with a warm-up the first step's rate is 0.

The rate is a pure function of the step, so a run resumed from a checkpoint at step k continues on exactly the rates
an uninterrupted run would use.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import InvalidArgument

LR_SCHEDULERS = ("linear", "cosine", "constant_with_warmup")
DEFAULT_LR_SCHEDULER = "linear"


def lr_schedule(name: str, *, peak: float, warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """``step -> learning rate`` of scheduler ``name`` ("" = linear) over ``total_steps`` steps."""
    from transformers import get_scheduler

    name = name or DEFAULT_LR_SCHEDULER
    if name not in LR_SCHEDULERS:
        raise InvalidArgument(f"training.lr_scheduler {name!r} is not one of {', '.join(LR_SCHEDULERS)}")
    if total_steps <= 0:
        raise InvalidArgument(f"the schedule needs a positive number of steps, got {total_steps}")
    # The factory wants an optimizer; the multiplier it installs depends only on the step, so read that out.
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    scheduler = get_scheduler(name, probe, num_warmup_steps=warmup_steps, num_training_steps=total_steps)
    (factor,) = scheduler.lr_lambdas
    return lambda step: peak * factor(step)

"""The training settings taken from the reference's protocol: the learning-rate schedule from transformers' factory,
gradient accumulation over micro-batches, prompt masking and the prompt template."""

from __future__ import annotations

import math
import threading

import pytest
import torch
from transformers import get_scheduler

from bslora_worker.data import formats, load_eval_items, load_train_examples
from bslora_worker.data.types import TrainExample
from bslora_worker.errors import InvalidArgument
from bslora_worker.models import load_base_model
from bslora_worker.models.tokenizers import ByteTokenizer
from bslora_worker.trials.batches import IGNORE_INDEX, StepBatches, tokenize_examples
from bslora_worker.trials.lr_schedule import LR_SCHEDULERS, lr_schedule
from bslora_worker.trials.micro_batches import loss_targets, split_micro_batches
from bslora_worker.trials.train_trial import _accumulate_gradients, train_trial
from trial_messages import trial_view


# ------------------------------------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("name", LR_SCHEDULERS)
def test_schedule_is_the_rate_a_stepped_transformers_scheduler_gives(name):
    """Step k runs at the rate the Trainer's scheduler holds after k scheduler steps."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.AdamW([param], lr=1e-4)
    scheduler = get_scheduler(name, optimizer, num_warmup_steps=100, num_training_steps=800)
    lr_at = lr_schedule(name, peak=1e-4, warmup_steps=100, total_steps=800)
    for step in range(800):
        assert lr_at(step) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12, abs=1e-18), step
        optimizer.step()
        scheduler.step()


def test_linear_goes_to_zero_and_the_others_do_not_stay_linear():
    linear = lr_schedule("linear", peak=1.0, warmup_steps=100, total_steps=800)
    cosine = lr_schedule("cosine", peak=1.0, warmup_steps=100, total_steps=800)
    constant = lr_schedule("constant_with_warmup", peak=1.0, warmup_steps=100, total_steps=800)
    assert linear(0) == 0.0 and linear(50) == 0.5 and linear(100) == 1.0
    assert linear(450) == pytest.approx(0.5) and linear(799) == pytest.approx(1 / 700) and linear(800) == 0.0
    assert cosine(450) == pytest.approx(0.5) and cosine(275) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)
    assert constant(50) == 0.5 and constant(100) == constant(799) == 1.0


def test_unknown_scheduler_is_refused_with_the_valid_names():
    with pytest.raises(InvalidArgument, match="'step'.*linear, cosine, constant_with_warmup"):
        lr_schedule("step", peak=1.0, warmup_steps=0, total_steps=10)


# ------------------------------------------------------------------------------------------ gradient accumulation


def _batch():
    items = tokenize_examples(
        [TrainExample(f"Q{i}: " + "x" * (3 * i), " answer " * (1 + 5 * (i % 2))) for i in range(8)], ByteTokenizer(), 64
    )
    return StepBatches(items, 8, seed=0, pad_id=258).batch(0)


def test_micro_batches_keep_every_row_and_cut_their_own_padding():
    batch = _batch()
    micro = split_micro_batches(batch, 2)
    assert len(micro) == 4
    assert sum(mb["input_ids"].shape[0] for mb in micro) == 8
    assert max(mb["input_ids"].shape[1] for mb in micro) == batch["input_ids"].shape[1]
    assert min(mb["input_ids"].shape[1] for mb in micro) < batch["input_ids"].shape[1]
    for mb in micro:
        assert mb["attention_mask"][:, -1].any()  # no all-padding column left
    assert sum(loss_targets(mb) for mb in micro) == loss_targets(batch)
    assert split_micro_batches(batch, 0)[0]["input_ids"].equal(batch["input_ids"])
    assert len(split_micro_batches(batch, 3)) == 3  # 3 + 3 + 2 rows


def test_accumulated_gradient_equals_the_whole_batch_gradient():
    """8 rows as 4 micro-batches of 2 give the gradient of one pass over all 8 (the mean over all label tokens),
    which a plain mean of the 4 micro-batch means would not."""
    from peft import LoraConfig, get_peft_model

    base = load_base_model("builtin:tiny-llama")
    torch.manual_seed(0)
    model = get_peft_model(base.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj", "lm_head"],
                                                  init_lora_weights=False))
    with torch.no_grad():  # a large adapter makes the rows' losses differ, so the weighting shows in the numbers
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.mul_(200.0)
    try:
        model.train()
        batch = _batch()
        grads = {}
        losses = {}
        for mbs in (0, 2):
            model.zero_grad(set_to_none=True)
            losses[mbs] = _accumulate_gradients(model, batch, mbs, torch.device("cpu"))
            grads[mbs] = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        assert losses[2] == pytest.approx(losses[0], rel=1e-5)
        for name, g in grads[0].items():  # float rounding only: far below the percent-level error of a wrong weighting
            torch.testing.assert_close(grads[2][name], g, rtol=1e-3, atol=1e-5 * float(g.abs().max()))
        # the naive average of micro-batch means differs (the rows have different numbers of label tokens)
        model.zero_grad(set_to_none=True)
        means = [float(model(**mb).loss.detach()) for mb in split_micro_batches(batch, 2)]
        assert max(means) - min(means) > 0.1  # the micro-batches' losses really differ
        naive = sum(means) / 4
        assert abs(naive - losses[0]) > 1e-3
    finally:
        model.unload()


def test_a_micro_batched_trial_trains_like_the_whole_batch(tmp_path):
    base = load_base_model("builtin:tiny-llama")

    def run(mbs):
        trial = trial_view(trial_key=f"mbs{mbs}", name="t", method="lora", base_model="builtin:tiny-llama",
                      task_type="causal_lm", train_data="builtin:arith", eval_tasks=("builtin:arith",),
                      target_modules=("q_proj", "v_proj"), steps=4, learning_rate=3e-3, batch_size=8, seq_len=48,
                      seed=0, rank=4, micro_batch_size=mbs)
        losses = []
        train_trial(trial, base, tmp_path / str(mbs), lambda p: losses.append(p.loss), threading.Event())
        return losses

    whole, micro = run(0), run(2)
    assert micro[0] == pytest.approx(whole[0], rel=1e-6)  # the same loss before any update
    # Later steps agree to float rounding amplified by Adam, whose first updates are nearly sign(gradient): an entry
    # near 0 whose rounding differs moves by a whole step. A wrongly weighted accumulation is off by 1e-3 at step 0.
    assert micro == pytest.approx(whole, rel=1e-3)


# -------------------------------------------------------------------------------------- prompt masking, templates


def test_train_on_inputs_false_masks_the_prompt_and_true_keeps_it():
    tok = ByteTokenizer()
    ex = [TrainExample("Question: 1+1?\nAnswer:", " 2")]
    [masked] = tokenize_examples(ex, tok, 64)
    [whole] = tokenize_examples(ex, tok, 64, train_on_inputs=True)
    n_prompt = len(tok.encode(ex[0].prompt))
    assert masked.input_ids == whole.input_ids
    assert masked.labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert masked.labels[n_prompt:] == whole.labels[n_prompt:] == tok.encode(" 2") + [tok.eos_token_id]
    assert whole.labels == whole.input_ids


def test_prompt_templates_frame_instruction_records(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text('[{"instruction": "Add.", "input": "1 and 2", "output": "3"}, {"instruction": "Hi", "output": "Hello"}]')
    reference = load_train_examples(str(path))
    assert reference == load_train_examples(str(path), prompt_template="alpaca")
    assert reference[0].prompt == (
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nAdd.\n\n### Input:\n1 and 2\n\n### Response:\n"
    )
    assert load_train_examples(str(path), prompt_template="alpaca_short")[1].prompt == (
        "### Instruction:\nHi\n\n### Response:\n"
    )
    assert load_train_examples(str(path), prompt_template="none")[0] == TrainExample("Add.\n\n1 and 2\n\n", "3")
    with pytest.raises(InvalidArgument, match="'vicuna'.*alpaca, alpaca_short, none"):
        load_train_examples(str(path), prompt_template="vicuna")


def test_prompt_template_reaches_llm_adapters_items_but_not_mc(tmp_path):
    record = ('[{"instruction": "Please answer: Is it? Answer format: true/false", "input": "", '
              '"output": "the correct answer is true", "answer": "true"}]')
    path = tmp_path / "boolq.json"
    path.write_text(record)
    short = load_eval_items(str(path) + "#llm-adapters", prompt_template="alpaca_short")[0]
    assert short.context.startswith("### Instruction:\n") and short.context.endswith(formats.ANSWER_LEAD)
    assert load_eval_items(str(path), prompt_template="none") == load_eval_items(str(path))

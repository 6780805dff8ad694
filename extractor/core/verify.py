"""The verifier: claims in, a Record out. Nothing unverified becomes a value.

For each claim: (1) the quote must be found in the letter (exact, or after the
normalization in normalize.py), (2) the value must agree with its quote (a date
is the date written there, a number its digits, a decision its word, a text
value the letter's own words inside the quote). A claim that fails goes to
`rejected` with the reason; its field stays empty.

Derived values (category, medically_necessary, outcome) are computed here from
verified values and carry the evidence of what they were derived from.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from extractor.core import derive, lexicon
from extractor.core.dates import dates_in, find_dates, is_iso
from extractor.core.fields import DATE, INT, TEXT, WORD, Claim
from extractor.core.ingest import Document
from extractor.core.normalize import canonical
from extractor.core.table import FIELDS, record_data

if TYPE_CHECKING:
    from extractor.core.schema import ExtractorInfo, Record, Usage

# All read from the field table (schema.FIELDS): field path (indices stripped) -> ...
KINDS: dict[str, str] = {p: f.kind for p, f in FIELDS.items() if not f.derived}
DERIVED = {p for p, f in FIELDS.items() if f.derived}
WORDS = {p: f.words for p, f in FIELDS.items() if f.kind == WORD and not f.derived}
# Text fields with a known shape: letter text of the wrong kind is still wrong.
SHAPES = {p: f.shape for p, f in FIELDS.items() if f.shape}
LIST_FIELDS = {p for p, f in FIELDS.items() if f.is_list}

_PATH = re.compile(r"^(?P<base>[a-z_]+(?:\.[a-z_]+)?)(?:\[(?P<i>\d+)\])?(?P<rest>(?:\.[a-z_]+)*)$")


@dataclass
class Checked:
    """A claim that passed: its value (normalized) and its evidence (Evidence's fields)."""
    field: str
    value: Any
    evidence: dict


@functools.lru_cache(maxsize=4096)
def kind_key(field: str) -> tuple[str, int | None] | None:
    """'items[2].medication.name' -> ('items.medication.name', 2); None if malformed."""
    m = _PATH.match(field)
    if not m:
        return None
    key = m.group("base") + m.group("rest")
    i = m.group("i")
    return key, (int(i) if i is not None else None)


def check(doc: Document, claim: Claim) -> Checked | str:
    """Verify one claim. Returns the Checked value or the reason it failed."""
    parsed = kind_key(claim.field)
    if parsed is None:
        return f"unknown field {claim.field!r}"
    key, _ = parsed
    if key in DERIVED:
        return f"{key.split('.')[-1]} is derived by the verifier, not taken from an extractor"
    kind = KINDS.get(key)
    if kind is None:
        return f"unknown field {claim.field!r}"
    if claim.value is None or claim.value == "":
        return "no value"
    if not claim.quote or not str(claim.quote).strip():
        return "no quote"
    span = doc.index.find(claim.quote, claim.near)
    if span is None:
        return "quote not found in the letter"
    agree = _AGREE[kind]
    return agree(doc, claim, key, span)


def _evidence(doc: Document, field: str, quote: str, span: tuple[int, int]) -> dict:
    """An Evidence entry as plain data: the Record is validated once, when it is built."""
    s, e = span
    level = "exact" if doc.text[s:e] == quote else "normalized"
    return {"field": field, "quote": quote, "start": s, "end": e, "match": level}


def _agree_text(doc, claim, key, span) -> Checked | str:
    if not isinstance(claim.value, str):
        return f"expected text, got {type(claim.value).__name__}"
    value = canonical(claim.value)
    if not value:
        return "no value"
    shape = SHAPES.get(key)
    if shape and not shape.fullmatch(value):
        return f"not shaped like a {key.replace('_', ' ')} ({shape.pattern})"
    inner = _find_within(doc, value, span)
    if inner is None:
        return "value is not the letter's words in its quote"
    return Checked(claim.field, value, _evidence(doc, claim.field, claim.value.strip(), inner))


def is_letter_text(doc: Document, text: str) -> bool:
    """Would `text` verify as a text value quoting itself (whole words of the letter)?"""
    value = canonical(text)
    span = doc.index.find(text) if value else None
    return span is not None and _find_within(doc, value, span) is not None


def _find_within(doc: Document, value: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """Raw span of `value` as whole words inside raw span `span`, or None."""
    norm = doc.index.norm
    lo, hi = doc.index.norm_pos(span[0]), doc.index.norm_pos(span[1])
    n = norm.find(value, lo, hi)
    if n >= 0 and _whole_words(norm, value, n):  # the usual case, found at once
        return doc.index.span(n, n + len(value))
    for n in _occurrences(norm, value, lo, hi):
        if _whole_words(norm, value, n):
            return doc.index.span(n, n + len(value))
    return None


def _whole_words(norm: str, value: str, n: int) -> bool:
    before = norm[n - 1] if n > 0 else " "
    after = norm[n + len(value)] if n + len(value) < len(norm) else " "
    return not (_word_edge(before, value[0]) or _word_edge(after, value[-1]))


FIND_TRIES = 8


def _occurrences(text: str, value: str, lo: int, hi: int):
    """Start of every occurrence of value inside text[lo:hi], overlapping ones too.
    str.find for the first few; then one linear pass (Knuth-Morris-Pratt), because
    finding again from the next character costs len(value) each time on a periodic
    value ('aaaa' inside a long word of a's): quadratic."""
    n = text.find(value, lo, hi)
    for _ in range(FIND_TRIES):
        if n < 0:
            return
        yield n
        n = text.find(value, n + 1, hi)
    if n >= 0:
        yield from _kmp(text, value, n, hi)


def _kmp(text: str, value: str, lo: int, hi: int):
    fail, k = [0] * len(value), 0
    for i in range(1, len(value)):
        while k and value[i] != value[k]:
            k = fail[k - 1]
        k += value[i] == value[k]
        fail[i] = k
    k = 0
    for i in range(lo, hi):
        while k and text[i] != value[k]:
            k = fail[k - 1]
        k += text[i] == value[k]
        if k == len(value):
            yield i - k + 1
            k = fail[k - 1]


def _word_edge(outside: str, inside: str) -> bool:
    """True when the value would cut a word in two at this edge."""
    return outside.isalnum() and inside.isalnum()


def _agree_date(doc, claim, key, span) -> Checked | str:
    if not is_iso(claim.value):
        return f"date must be YYYY-MM-DD, got {claim.value!r}"
    found = dates_in(_quote_text(doc, span))
    if not found:
        return "quote contains no date"
    if found != {claim.value}:
        return f"quote says {', '.join(sorted(found))}, not {claim.value}"
    return Checked(claim.field, claim.value, _evidence(doc, claim.field, claim.quote, span))


def _agree_int(doc, claim, key, span) -> Checked | str:
    try:
        value = _as_int(claim.value)
    except ValueError:
        return f"expected a whole number, got {claim.value!r}"
    number = _NUMBER.search(_without_dates(_quote_text(doc, span)))
    if not number:
        return "quote contains no number"
    if lexicon.count_value(number.group()) != value:
        return f"quote says {number.group()}, not {value}"
    return Checked(claim.field, value, _evidence(doc, claim.field, claim.quote, span))


def _without_dates(text: str) -> str:
    """Each date replaced by a space: digits inside dates are not counts. One
    join, not a copy of the text per date."""
    parts, pos = [], 0
    for _, m in find_dates(text):
        parts += [text[pos:m.start()], " "]
        pos = m.end()
    parts.append(text[pos:])
    return "".join(parts)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError


def _agree_word(doc, claim, key, span) -> Checked | str:
    allowed = WORDS[key]
    value = str(claim.value).strip().lower()
    if value not in allowed:
        return f"must be one of {', '.join(allowed)}, got {claim.value!r}"
    said = {lexicon.word_of(m) for m in _WORD_PATTERNS[key].finditer(_quote_text(doc, span))}
    if not said:
        return f"quote has none of the words {', '.join(allowed)}"
    if said != {value}:
        return f"quote says {', '.join(sorted(said))}, not {value}"
    return Checked(claim.field, value, _evidence(doc, claim.field, claim.quote, span))


# A number as digits, or as a word ("Twelve physical therapy visits").
_NUMBER = re.compile(r"(?<![\d.])\d+(?![\d.]\d)|\b(?:" + "|".join(lexicon.NUMBER_WORDS)
                     + r")\b", re.IGNORECASE)
# A word as letters write it: "UPHOLD", "partially overturns", "a 52 year old woman".
_WORD_PATTERNS = {key: lexicon.words_pattern(words) for key, words in WORDS.items()}


def _quote_text(doc: Document, span: tuple[int, int]) -> str:
    """The quote as normalized text: the letter's own normalized view of its span."""
    index = doc.index
    return index.norm[index.norm_pos(span[0]):index.norm_pos(span[1])]


_AGREE = {TEXT: _agree_text, DATE: _agree_date, INT: _agree_int, WORD: _agree_word}


# -- assembly ---------------------------------------------------------------
# The record is built as plain data: pydantic stays at the edge. `verify` validates it
# once into a Record; the rules path takes `verify_data`, the JSON form without pydantic.
def verify(doc: Document, claims: list[Claim], extractor: ExtractorInfo,
           usage: Usage | None = None, warnings: list[str] | None = None) -> Record:
    """Check every claim and build the Record from those that pass."""
    from extractor.core.schema import Record  # pydantic, for the callers that want a model

    return Record.model_validate(_tree(
        doc, claims, extractor.model_dump(mode="json"),
        usage.model_dump(mode="json") if usage else None, warnings))


def verify_data(doc: Document, claims: list[Claim], extractor: dict,
                usage: dict | None = None, warnings: list[str] | None = None) -> dict:
    """`verify`, returning the record's JSON form (`model_dump(mode="json")`) directly."""
    return record_data(_tree(doc, claims, extractor, usage, warnings))


def _tree(doc: Document, claims: list[Claim], extractor: dict,
          usage: dict | None, warnings: list[str] | None) -> dict:
    """The record as plain JSON values, with only the fields that were found."""
    tree: dict = {
        "source": {"path": doc.path, "sha256": doc.sha256, "format": doc.format,
                   "chars": doc.chars},
        "extractor": extractor, "usage": usage, "warnings": [*doc.warnings, *(warnings or [])],
        "evidence": [], "rejected": [], "items": [],
    }
    scalars: dict[str, Checked] = {}
    lists: dict[str, list[Checked]] = {}
    items: dict[int, dict[str, Checked]] = {}
    item_claims: dict[int, list[Claim]] = {}
    for claim in claims:
        result = check(doc, claim)
        if isinstance(result, str):
            tree["rejected"].append(_rejected(claim, result))
            continue
        key, index = kind_key(claim.field)
        if key.startswith("items."):
            item_claims.setdefault(index, []).append(claim)
            _keep_first(items.setdefault(index, {}), key, result, tree)
        elif key in LIST_FIELDS:
            bucket = lists.setdefault(key, [])
            if all(c.value != result.value for c in bucket):
                bucket.append(result)
        else:
            _keep_first(scalars, key, result, tree)
    _fill_scalars(tree, scalars)
    _fill_lists(tree, lists)
    _fill_items(tree, items, item_claims)
    derive.letter_values(tree)
    return tree


def _rejected(claim: Claim, reason: str) -> dict:
    value = claim.value
    if not isinstance(value, (str, int, float, bool, type(None))):
        value = str(value)
    return {"field": claim.field, "value": value, "quote": claim.quote, "reason": reason}


def _keep_first(bucket: dict, key: str, result: Checked, tree: dict) -> None:
    """First verified value wins (rules before model in hybrid); warn on disagreement."""
    held = bucket.get(key)
    if held is None:
        bucket[key] = result
    elif held.value != result.value:
        tree["warnings"].append(
            f"{result.field}: kept {held.value!r}, also found {result.value!r}")


def _fill_scalars(tree: dict, scalars: dict[str, Checked]) -> None:
    for key, c in scalars.items():
        _put(tree, key.split("."), c.value)
        tree["evidence"].append(c.evidence)


def _fill_lists(tree: dict, lists: dict[str, list[Checked]]) -> None:
    for key, checked in lists.items():
        target = []
        _put(tree, key.split("."), target)
        for c in checked:
            c.evidence["field"] = f"{key}[{len(target)}]"
            target.append(c.value)
            tree["evidence"].append(c.evidence)


# An item (or a nested object such as its medication) exists only when every
# required field of it verified; claims for the rest of it are then rejected.
ITEM_REQUIRED = [p for p, f in FIELDS.items() if f.item and f.required and p.count(".") == 1]


def _fill_items(tree: dict, items: dict[int, dict[str, Checked]],
                item_claims: dict[int, list[Claim]]) -> None:
    for index in sorted(set(items) | set(item_claims)):
        fields = items.get(index, {})
        missing = [p for p in ITEM_REQUIRED if p not in fields]
        if missing:
            need = missing[0].removeprefix("items.")
            for claim in item_claims.get(index, []):
                if kind_key(claim.field)[0] not in ITEM_REQUIRED:
                    tree["rejected"].append(_rejected(claim, f"item has no verified {need}"))
            continue
        tree["items"].append(_build_item(len(tree["items"]), fields, tree))


def _build_item(j: int, fields: dict[str, Checked], tree: dict) -> dict:
    values: dict = {}
    for key, c in fields.items():
        local = FIELDS[key].local
        lacking = _lacking(key, fields)
        if lacking:
            *parent, leaf = local.split(".")
            tree["rejected"].append({
                "field": c.field, "value": c.value, "quote": c.evidence["quote"],
                "reason": f"{' '.join(parent)} {leaf} without a verified {lacking}"})
            continue
        _put(values, local.split("."), c.value)
        c.evidence["field"] = f"items[{j}].{local}"
        tree["evidence"].append(c.evidence)
    derive.item_values(j, values, fields, tree)
    return values


def _lacking(key: str, fields: dict[str, Checked]) -> str | None:
    """The required sibling a nested value lacks ('name' for a strength with no name)."""
    parent = key.rpartition(".")[0]
    if parent == "items":
        return None
    for path, f in FIELDS.items():
        if f.required and path.rpartition(".")[0] == parent and path not in fields:
            return path.rpartition(".")[2]
    return None


def _put(values: dict, parts: list[str], value) -> None:
    for part in parts[:-1]:
        values = values.setdefault(part, {})
    values[parts[-1]] = value

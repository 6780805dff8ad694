"""A medication request's active ingredients, drug class and DrugBank identifiers.

Names are resolved by our own table first (drugs.toml: the workers'-comp brands and
compounds the vocabulary lacks, such as Norco or Lidopro, and the products it keeps as
entries of their own, such as "fentanyl patch"), then by the maintained vocabulary of
`drug-named-entity-recognition` (DrugBank/MeSH-derived names and synonyms, offline);
drugs.toml also gives each ingredient its class. Only exact whole-word names count: a
fuzzy match would be a silent guess.

The vocabulary is opened on the first medication, never on start-up, from an index
of it that vocabulary.py builds once per library version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import islice

from extractor.core.vocab.vocabulary import Vocabulary

_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")  # linear: no nested repetition
# Words of a treatment looked at: drug names come first, and a compound of ten
# ingredients with strengths is ~40 words; the rest of a long treatment is not read.
MAX_WORDS = 80
_FORM = re.compile(r"\b(?:cream|gel|ointment|lotion|patch(?:es)?|pads?|topical|compound(?:ed)?|"
                   r"spray|liniment|rub)\b", re.I)


@dataclass
class Drug:
    ingredients: list[str] = field(default_factory=list)   # generic names, lower case
    drug_class: str | None = None
    ids: list[str] = field(default_factory=list)           # DrugBank ids of the ingredients
    names: list[str] = field(default_factory=list)         # the names as matched


@cache
def table() -> dict:
    """Our table (drugs.toml): names, topical names, classes."""
    import tomllib  # here, not at start-up
    from importlib.resources import files

    return tomllib.loads(files(__package__).joinpath("drugs.toml").read_text("utf-8"))


def vocabulary() -> Vocabulary:
    """The library's vocabulary, indexed (vocabulary.py): opened on first use."""
    return Vocabulary.open()


def resolve(text: str, own: bool = True, library: bool = True) -> Drug:
    """The drug(s) named in `text` (a treatment as written). `own`/`library` switch
    the two sources, for measuring what each resolves."""
    words = [m.group() for m in islice(_WORD.finditer(text.lower()), MAX_WORDS)]
    drug = Drug()
    i = 0
    while i < len(words):
        for size in (2, 1):
            name = " ".join(words[i:i + size])
            found = _lookup(name, own, library) if len(words) - i >= size else None
            if found:
                drug.names.append(name)
                drug.ingredients += [x for x in found if x not in drug.ingredients]
                i += size
                break
        else:
            i += 1
    drug.ids = [x for x in map(_drugbank_id, drug.ingredients) if x] if library else []
    drug.drug_class = _class_of(drug, text)
    return drug


@lru_cache(maxsize=8192)  # letters name a few drugs many times
def _lookup(name: str, own: bool, library: bool) -> list[str] | None:
    if own and name in table()["names"]:
        return table()["names"][name]
    if not library:
        return None
    canonicals = vocabulary().canonicals(name)
    if not canonicals:
        return None
    out: list[str] = []
    for canonical in canonicals:
        for x in _ingredients_of(canonical, own):
            if x not in out:
                out.append(x)
    return out


def _ingredients_of(canonical: str, own: bool) -> list[str]:
    """A vocabulary entry as ingredients: some entries are products ('fentanyl patch')."""
    if own and canonical in table()["names"]:
        return table()["names"][canonical]
    name, _ = vocabulary().entry(canonical)
    return [(name or canonical).lower()]


def _drugbank_id(ingredient: str) -> str | None:
    for canonical in vocabulary().canonicals(ingredient):
        found = vocabulary().entry(canonical)[1]
        if found:
            return found
    return None


def _class_of(drug: Drug, text: str) -> str | None:
    """A compounded topical is one class whatever is in it; a combination with an
    opioid is an opioid (Norco); otherwise the class of the first ingredient."""
    classes = [table()["classes"].get(x) for x in drug.ingredients]
    topical = _FORM.search(text) or any(n in table()["topical"]["names"] for n in drug.names)
    if len(drug.ingredients) > 1 and topical:
        return "topical_compound"
    if "opioid" in classes:
        return "opioid"
    return next((c for c in classes if c), None)

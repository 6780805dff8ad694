"""What the model is asked to fill: every value with the quote that supports it.

The answer is flat (small models cope better with shallow JSON); `claims()`
turns it into the verifier's Claims. When instructor validates an answer with
the letter in its validation context, every claim is checked with
`verify.check`, and the exact failures are raised so instructor re-asks.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)

from extractor.core.fields import DATE, INT, TEXT, WORD
from extractor.core.schema import FIELDS, Claim
from extractor.core.verify import check

MAX_ERRORS = 12  # errors listed in a re-ask; more only make the prompt longer
_SCHEMAS: dict[tuple, str] = {}  # (name, fields) of an answer model -> its JSON schema, as JSON


class _Fact(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def quote_or_value(self) -> str | None:
        return self.quote if self.quote else (self.value if isinstance(self.value, str) else None)


class Fact(_Fact):
    """A text value copied from the letter; the value is its own quote unless one is given."""
    value: str | None = None
    quote: str | None = Field(None, description="Optional: the letter's words around the value")


class DateFact(_Fact):
    value: str | None = Field(None, description="YYYY-MM-DD")
    quote: str | None = Field(None, description="The date as the letter writes it")


class CountFact(_Fact):
    value: int | None = None
    quote: str | None = None


# -- the answer shape, derived from the field table ----------------------------
_BY_KIND = {TEXT: Fact, DATE: DateFact, INT: CountFact}


def _fact_type(f) -> type[_Fact]:
    """Fact model for one field: by kind; a word field gets a Literal of its words."""
    if f.kind != WORD:
        return _BY_KIND[f.kind]
    name = f.path.rpartition(".")[2].capitalize() + "Fact"  # items.decision -> DecisionFact
    return create_model(name, __base__=_Fact, value=(Literal[f.words] | None, None),
                        quote=(str | None, None))


def _slot(f) -> tuple[Any, Any]:
    fact = _fact_type(f)
    return (list[fact], []) if f.is_list else (fact | None, None)


_ASKED = [f for f in FIELDS.values() if f.answer]
ItemAnswer = create_model("ItemAnswer", __config__=ConfigDict(extra="ignore"),
                          **{f.answer: _slot(f) for f in _ASKED if f.item})
# Answer key -> record field path (items: path inside the item).
PATHS = {f.answer: f.path for f in _ASKED if not f.item} | {"items": "items"}
ITEM_PATHS = {f.answer: f.local for f in _ASKED if f.item}
_FIELDS: dict[str, tuple[Any, Any]] = {
    **{f.answer: _slot(f) for f in _ASKED if not f.item}, "items": (list[ItemAnswer], [])}
FIELD_NAMES = tuple(_FIELDS)


class AnswerBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        """Built once per answer model: pydantic builds it anew on every call (~20 ms
        here, twice a letter: ours and instructor's), which a batch of 10,000 letters
        feels. A copy each time (from its JSON): callers may change it."""
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        # instructor wraps the model in a subclass of its own per call, same name and fields
        key = (cls.__name__, tuple(cls.model_fields))
        if key not in _SCHEMAS:
            _SCHEMAS[key] = json.dumps(super().model_json_schema())
        return json.loads(_SCHEMAS[key])  # a fresh copy, ~5x faster than deepcopy

    def claims(self) -> list[Claim]:
        out: list[Claim] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            path = PATHS[name]
            if name == "items":
                for i, item in enumerate(value):
                    out += _item_claims(i, item)
            elif isinstance(value, list):
                out += [_claim(f"{path}[{i}]", fact) for i, fact in enumerate(value) if fact]
            elif value is not None:
                out.append(_claim(path, value))
        return [c for c in out if c.value is not None]

    @model_validator(mode="after")
    def _verified(self, info: ValidationInfo):
        # `is not None`, not truthiness: the context client.ask hands instructor is falsy
        doc = info.context.get("doc") if info.context is not None else None
        if doc is None:
            return self
        errors = [f"{c.field}: {reason} (value {c.value!r}, quote {c.quote!r})"
                  for c in self.claims() if isinstance(reason := check(doc, c), str)]
        if errors:
            more = f"\n... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
            raise ValueError("values not supported by the letter (fix the quote to be the "
                             "letter's exact words, or leave the field out):\n"
                             + "\n".join(errors[:MAX_ERRORS]) + more)
        return self


def _claim(path: str, fact: _Fact) -> Claim:
    return Claim(field=path, value=fact.value, quote=fact.quote_or_value())


def _item_claims(i: int, item: ItemAnswer) -> list[Claim]:
    return [_claim(f"items[{i}].{ITEM_PATHS[name]}", fact)
            for name in ItemAnswer.model_fields if (fact := getattr(item, name)) is not None]


@lru_cache(maxsize=256)  # one class per set of fields: its schema is built once
def answer_model(fields: tuple[str, ...] = FIELD_NAMES) -> type[AnswerBase]:
    """The response model asking for `fields` (all of them for the llm backend)."""
    return create_model("Answer", __base__=AnswerBase, **{f: _FIELDS[f] for f in fields})


# -- reading a reply that may be malformed -----------------------------------
# (?<!\s): the closing fence is tried only where a whitespace run starts; else every
# space of a long blank reply would rescan the rest of it (quadratic).
_FENCE = re.compile(r"^\s*```(?:json)?\s*|(?<!\s)\s*```\s*$")


def parse_reply(text: str, model: type[AnswerBase]) -> tuple[AnswerBase | None, list[str]]:
    """Best-effort parse of a raw reply (no letter context): the answer and problems.

    A truncated reply is read as far as it goes; a field that does not fit the
    schema is dropped (and named) instead of losing the whole answer.
    """
    problems: list[str] = []
    data = _load_json(_FENCE.sub("", text or ""), problems)
    if not isinstance(data, dict):
        problems.append("reply is not a JSON object")
        return None, problems
    for _ in range(20):  # each round drops the fields named by the errors
        try:
            return model.model_validate(data), problems
        except ValidationError as e:
            if not _drop_bad(data, e, problems):
                problems.append(f"reply does not fit the schema: {e.errors()[0]['msg']}")
                return None, problems
    return None, problems


def _load_json(text: str, problems: list[str]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        problems.append(f"invalid JSON ({e.msg} at char {e.pos}); read the complete part")
    # jiter ships with openai; it keeps the complete part of a cut-off document (a cut
    # string is dropped, not trusted)
    import jiter

    try:
        return jiter.from_json(text.encode(), partial_mode="on")
    except ValueError:
        return None


def _drop_bad(data: dict, error: ValidationError, problems: list[str]) -> bool:
    """Remove what each error points at: an item's field, a list element, or a key."""
    dropped = False
    for err in error.errors():
        loc = err["loc"]
        parent, key = data, loc[0]
        if isinstance(data.get(loc[0]), list) and len(loc) >= 2 and isinstance(loc[1], int):
            parent, key = data[loc[0]], loc[1]
            if loc[0] == "items" and len(loc) >= 3 and isinstance(_item(data, loc[1]), dict):
                parent, key = data["items"][loc[1]], loc[2]
        if isinstance(parent, dict) and key in parent:
            del parent[key]
        elif isinstance(parent, list) and key < len(parent) and parent[key] != {}:
            parent[key] = {}
        else:
            continue
        problems.append(f"dropped {'.'.join(map(str, loc[:3]))}: {err['msg']}")
        dropped = True
    return dropped


def _item(data: dict, i: Any) -> Any:
    items = data.get("items")
    return items[i] if isinstance(items, list) and isinstance(i, int) and i < len(items) else None

"""The field table: every field of the record, declared once, in the schema.

A field of `schema.Record` carries a `Spec` in its annotation
(`Annotated[str | None, Spec(verify=TEXT, ...)]`). `build_table` walks the
record and returns one `Field` per value path; the verifier, the model's answer
shape, the hybrid's gaps, the grounded pools, the eval's kinds and the store's
columns are all read from that table. Adding a field to the schema is the whole
change; the stages pick it up (tests/test_fields.py adds one and follows it).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the table is derived from pydantic models; this module needs no pydantic
    from pydantic import BaseModel

# How a value is checked against its quote (and compared in the eval).
TEXT, DATE, INT, WORD, BOOL = "text", "date", "int", "word", "bool"


@dataclass(frozen=True)
class Spec:
    """What the schema says about one field. Unset parts follow the defaults below."""

    verify: str | None = None         # TEXT | DATE | INT | WORD; None: derived by the verifier
    score: str | None = None          # eval comparison kind [default: the verify kind]
    description: str = ""             # what the value is (JSON Schema, docs, prompts)
    answer: str | None = None         # key in the model's flat answer [default: path, '_'-joined]
    column: str | None = None         # store column [default: path, '_'-joined]
    shape: str | None = None          # a text value must match this pattern in full
    gap: bool = False                 # hybrid: an item without it is asked of the model
    long: bool = False                # grounded decoding: a long piece (guideline, rationale)
    rows: str | None = None           # store: also one row per value in `specialties`, this kind
    labels: tuple[str, ...] = ()      # how letters label it (lexicon.py makes the rules' patterns)
    ask: bool = True                  # asked of the model (False: rules claim it, else derived)
    filter: bool = False              # service: GET /v1/letters filters on it (a date: a range)
    vocab: str | None = None          # derived by core/vocab/<vocab>.py from a verified value;
    #                                   a normalised form the eval does not score


@dataclass(frozen=True)
class Field:
    """One row of the table: a value path of the record and everything derived from it."""

    path: str                          # 'patient.age', 'items.medication.name'
    spec: Spec
    is_list: bool                      # a list of values (each element is one claim)
    words: tuple[str, ...]             # allowed words of a WORD field (from its Literal)
    required: bool                     # the containing object cannot exist without it

    @property
    def item(self) -> bool:
        return self.path.startswith("items.")

    @property
    def derived(self) -> bool:
        return self.spec.verify is None

    @property
    def kind(self) -> str:
        return self.spec.verify or self.spec.score or WORD

    @property
    def score(self) -> str:
        return self.spec.score or self.kind

    @property
    def local(self) -> str:
        """Path inside its item ('medication.name'), or the whole path for letter fields."""
        return self.path.removeprefix("items.")

    @property
    def answer(self) -> str | None:
        if self.derived or not self.spec.ask:
            return None
        return self.spec.answer or self.local.replace(".", "_")

    @property
    def column(self) -> str:
        return self.spec.column or self.local.replace(".", "_")

    @property
    def flat(self) -> str:
        """The path '_'-joined: the CSV column name."""
        return self.local.replace(".", "_")

    @property
    def shape(self) -> re.Pattern | None:
        return re.compile(self.spec.shape) if self.spec.shape else None


@dataclass(slots=True)
class Claim:
    """One value an extractor asserts for a field, with the quote that should support it.

    `near` is an optional raw offset: when a quote occurs several times (an item
    heading repeated in its rationale), the occurrence at or after `near` wins.
    A plain dataclass: extractors make dozens per letter and the verifier checks
    every part of it, so validating it on the way in would only cost time.
    """

    field: str
    value: Any
    quote: str | None
    near: int | None = None


def build_table(model: type[BaseModel], prefix: str = "") -> dict[str, Field]:
    """Every annotated field of `model` and its nested models, in declaration order."""
    from pydantic import BaseModel

    table: dict[str, Field] = {}
    for name, info in model.model_fields.items():
        path = prefix + name
        inner, is_list = _unwrap(info.annotation)
        spec = next((m for m in info.metadata if isinstance(m, Spec)), None)
        if spec is not None:
            table[path] = Field(path, spec, is_list, _words(inner), info.is_required())
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            table.update(build_table(inner, path + "."))
    return table


def record_shapes(model: type[BaseModel]) -> dict[str, dict[str, tuple]]:
    """Model name -> field name -> (default, submodel name, is a list), for `model` and
    the models inside it: what `table.record_data` needs to give the record's JSON form
    without pydantic. A default is ("required",), ("list",), ("model",) or ("value", v)."""
    from pydantic import BaseModel

    shapes: dict[str, dict[str, tuple]] = {}
    todo = [model]
    while todo:
        current = todo.pop()
        if current.__name__ in shapes:
            continue
        shape = shapes[current.__name__] = {}
        for name, info in current.model_fields.items():
            inner, is_list = _unwrap(info.annotation)
            sub = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
            todo += [sub] if sub else []
            shape[name] = (_default(info), sub.__name__ if sub else None, is_list)
    return shapes


def _default(info) -> tuple:
    if info.is_required():
        return ("required",)
    if info.default_factory is list:
        return ("list",)
    if info.default_factory is not None:
        return ("model",)
    if not isinstance(info.default, (str, int, float, bool, type(None))):
        raise TypeError(f"default {info.default!r} is not a JSON scalar")
    return ("value", info.default)


def _unwrap(annotation) -> tuple[object, bool]:
    """(the type inside Optional/list, whether it was a list)."""
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, is_list
        elif origin is list:
            annotation, is_list = typing.get_args(annotation)[0], True
        else:
            return annotation, is_list


def _words(inner) -> tuple[str, ...]:
    if typing.get_origin(inner) is typing.Literal:
        return tuple(typing.get_args(inner))
    return ()

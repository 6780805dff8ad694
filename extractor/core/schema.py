"""The record: single source of truth for the JSON output and its JSON Schema.

Every extractor (rules, llm) produces `Claim`s: a field path, a value and the
verbatim quote that supports it. Only `verify.verify` turns claims into a
`Record`, so a value can reach a Record only with evidence.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from extractor.core.fields import BOOL, DATE, INT, TEXT, WORD, Spec, build_table

SCHEMA_VERSION = "1"

Decision = Literal["upheld", "overturned"]
Outcome = Literal["upheld", "overturned", "partially_overturned"]
Category = Literal[
    "medication",
    "injection",
    "imaging",
    "physical_therapy",
    "acupuncture",
    "chiropractic",
    "surgery",
    "durable_medical_equipment",
    "diagnostic_test",
    "consultation",
    "program",
    "other",
]
Format = Literal["text", "markdown", "html", "pdf"]
Backend = Literal["rules", "llm", "hybrid"]
MatchLevel = Literal["exact", "normalized"]

# The field table: each value field below carries a `Spec` (fields.py) saying how it is
# verified, scored, stored and asked of the model. Everything else derives from it.


class _Strict(BaseModel):
    # defer_build: the validators are built on first use, so the rules path, which
    # never validates a record (see record_data), does not pay for building them.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Source(_Strict):
    path: str | None = Field(description="The file as given; for the service, the upload's "
                             "file name, or null for a raw request body")
    sha256: str = Field(description="SHA-256 of the file bytes")
    format: Format
    chars: int = Field(description="Length of the decoded text that offsets refer to")


class ExtractorInfo(_Strict):
    backend: Backend
    model: str | None = None
    prompt_version: str | None = None


class Reviewer(_Strict):
    specialties: Annotated[list[str], Spec(
        TEXT, answer="specialties", rows="specialty",
        description="Board certifications of the reviewer")] = Field(default_factory=list)
    subspecialties: Annotated[list[str], Spec(
        TEXT, answer="subspecialties", rows="subspecialty",
        description="Subspecialties of the reviewer")] = Field(default_factory=list)
    licensed_states: Annotated[list[str], Spec(
        TEXT, answer="licensed_states", column="licensed_states",
        description="States the reviewer is licensed in")] = Field(default_factory=list)


class Patient(_Strict):
    age: Annotated[int | None, Spec(INT, description="Age of the injured worker")] = None
    sex: Annotated[Literal["male", "female"] | None, Spec(
        WORD, description="Sex of the injured worker")] = None
    date_of_injury: Annotated[str | None, Spec(
        DATE, answer="date_of_injury", column="date_of_injury",
        labels=("Date of Injury", "Injury Date", "DOI"),
        description="Date of the work injury")] = Field(None, description="YYYY-MM-DD")


class Medication(_Strict):
    name: Annotated[str, Spec(TEXT, description="Drug name of a medication request")]
    strength: Annotated[str | None, Spec(
        TEXT, description="Strength with its unit (10/325mg, 25mcg/hr, 1.3%)")] = None


class Item(_Strict):
    treatment: Annotated[str, Spec(TEXT, description="The treatment in dispute, as written")]
    decision: Annotated[Decision | None, Spec(
        WORD, gap=True, filter=True, labels=("Decision", "IMR Decision", "Determination"),
        description="upheld or overturned")] = None
    medically_necessary: Annotated[bool | None, Spec(
        score=BOOL, description="Derived: true when overturned")] = None
    category: Annotated[Category, Spec(
        score=WORD, filter=True,
        description="Derived from the treatment by a keyword table")] = "other"
    quantity: Annotated[int | None, Spec(INT, description="Count of units requested")] = None
    medication: Medication | None = None
    claims_administrator_guideline: Annotated[str | None, Spec(
        TEXT, gap=True, long=True, labels=(
            "Claims Administrator guideline", "Claims Administrator guidelines",
            "Claims Administrator guideline(s)", "Claims Administrator's guideline",
            "Guideline used by the Claims Administrator",
            "Guidelines used by the Claims Administrator", "Claims Administrator"),
        description="Guideline the claims administrator based its decision on")] = None
    maximus_guideline: Annotated[str | None, Spec(
        TEXT, gap=True, long=True, labels=(
            "MAXIMUS guideline", "MAXIMUS guidelines", "MAXIMUS guideline(s)",
            "Expert Reviewer guideline", "Expert Reviewer's guideline",
            "Guideline relied on by the Expert Reviewer",
            "Guideline relied upon by the Expert Reviewer",
            "Guideline relied on by MAXIMUS", "Guidelines relied on by MAXIMUS",
            "The Expert Reviewer based his/her decision on",
            "The Expert Reviewer based the decision on", "MAXIMUS"),
        description="Guideline the IMR reviewer based the decision on")] = None
    rationale: Annotated[str | None, Spec(
        TEXT, gap=True, long=True, labels=(
            "Decision rationale", "Rationale for the decision", "Rationale for decision",
            "Expert Reviewer's decision rationale", "Rationale"),
        description="The reviewer's decision rationale")] = None


class Evidence(_Strict):
    field: str = Field(description="Path of the value, e.g. items[0].treatment")
    quote: str
    start: int = Field(description="Offset into the decoded text; text[start:end] is the quote")
    end: int
    match: MatchLevel


class Rejected(_Strict):
    field: str
    value: Any = None
    quote: str | None = None
    reason: str


class Usage(_Strict):
    """Model usage summed over every attempt for this letter (absent for rules)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    cached: bool = False


class Record(_Strict):
    schema_version: Literal["1"] = SCHEMA_VERSION
    source: Source
    extractor: ExtractorInfo
    case_number: Annotated[str | None, Spec(
        TEXT, shape=r"[A-Z]{2}\d{2}-\d{4,8}", filter=True, labels=(
            "Case Number", "Case No.", "Case No", "Case #", "IMR Case Number", "IMR Case No.",
            "IMR Case #"),
        description="IMR case number (CM14-0037910)")] = None
    date_assigned: Annotated[str | None, Spec(
        DATE, labels=("Date Assigned", "Assigned Date", "Date of Assignment"),
        description="Date assigned")] = None
    decision_date: Annotated[str | None, Spec(
        DATE, filter=True, labels=("Decision Date", "Date of Decision", "Determination Date"),
        description="Date of the decision")] = None
    ur_denial_date: Annotated[str | None, Spec(
        DATE, labels=("UR Denial Date", "Date of UR Denial", "UR Determination Date",
                      "Utilization Review Denial Date"),
        description="Date of the utilization review denial")] = None
    application_received: Annotated[str | None, Spec(
        DATE, labels=("Application Received", "IMR Application Received",
                      "Date Application Received", "Application Received Date"),
        description="Date the IMR application was received")] = None
    priority: Annotated[Literal["standard", "expedited"] | None, Spec(
        WORD, labels=("Priority", "Review Priority"), description="Review priority")] = None
    reviewer: Reviewer = Field(default_factory=Reviewer)
    patient: Patient = Field(default_factory=Patient)
    diagnoses: Annotated[list[str], Spec(
        TEXT, description="Diagnoses named in the case summary")] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    outcome: Annotated[Outcome | None, Spec(
        WORD, ask=False, filter=True, labels=("Final Determination", "IMR Final Determination"),
        description="The letter's Final Determination sentence where it has one (UPHOLD, "
        "OVERTURN, PARTIAL OVERTURN); otherwise derived from the item decisions")] = None
    evidence: list[Evidence] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    usage: Usage | None = None


@dataclass(slots=True)
class Claim:
    """One value an extractor asserts, with the quote that should support it.

    `near` is an optional raw offset: when a quote occurs several times (an item
    heading repeated in its rationale), the occurrence at or after `near` wins.
    A plain dataclass: extractors make dozens per letter and the verifier checks
    every part of it, so validating it on the way in would only cost time.
    """

    field: str
    value: Any
    quote: str | None
    near: int | None = None


# A record's dump is a tree: no cycles to guard against, which saves a quarter
# of the encoding time. Same bytes as json.dumps(..., ensure_ascii=False).
_ONE_LINE = json.JSONEncoder(ensure_ascii=False, check_circular=False)


def record_json(record: Record, pretty: bool = False) -> str:
    """The record as the CLI prints it: one line, or indented for one file."""
    return dump_json(record.model_dump(mode="json"), pretty)


def dump_json(data: dict, pretty: bool = False) -> str:
    """record_json of a record already dumped (`model_dump(mode="json")`)."""
    return json.dumps(data, ensure_ascii=False, indent=2) if pretty else _ONE_LINE.encode(data)


def record_data(tree: dict) -> dict:
    """The record's JSON form, exactly as `Record.model_validate(tree).model_dump(mode="json")`
    gives it, for a tree of JSON values that the verifier built: defaults filled in, keys in
    schema order, without pydantic. Only for trees we built ourselves (the rules path);
    tests/test_record_data.py holds it equal to pydantic's on every corpus we have."""
    return _complete(Record, tree)


def _complete(model: type[BaseModel], data: dict) -> dict:
    plan = _plan(model)
    if len(data) > len(plan) or not data.keys() <= plan.keys():
        raise ValueError(f"{model.__name__}: unexpected {sorted(data.keys() - plan.keys())}")
    out = {}
    for name, (default, sub, many) in plan.items():
        if name not in data:
            out[name] = default()
        elif sub is None or data[name] is None:
            out[name] = data[name]
        elif many:
            out[name] = [_complete(sub, x) for x in data[name]]
        else:
            out[name] = _complete(sub, data[name])
    return out


@functools.cache
def _plan(model: type[BaseModel]) -> dict[str, tuple[Callable[[], Any], type | None, bool]]:
    """Per field: its default in JSON form (a function, so each record gets its own
    list), the model class of its value or elements if any, and whether it is a list."""
    plan = {}
    for name, info in model.model_fields.items():
        sub, many = _submodel(info.annotation)
        if info.is_required():
            default = functools.partial(_missing, model, name)
        elif info.default_factory is list:
            default = list
        elif info.default_factory is not None:
            default = functools.partial(_complete, info.default_factory, {})
        else:
            default = functools.partial(lambda v: v, info.default)
        plan[name] = (default, sub, many)
    return plan


def _missing(model: type[BaseModel], name: str):
    raise ValueError(f"{model.__name__}: {name} is required")


def _submodel(annotation) -> tuple[type | None, bool]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list:
        return _submodel(args[0])[0], True
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    return (models[0], False) if models else (None, False)


def json_schema() -> dict:
    return Record.model_json_schema()


FIELDS = build_table(Record)  # path -> fields.Field: the one field table

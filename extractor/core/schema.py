"""The record: single source of truth for the JSON output and its JSON Schema.

Every extractor (rules, llm) produces `Claim`s: a field path, a value and the
verbatim quote that supports it. Only `verify.verify` turns claims into a
`Record`, so a value can reach a Record only with evidence.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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

# Field kinds drive how the verifier checks that a value agrees with its quote
# and how the eval harness compares values. One table, used by both.
DATE_FIELDS = ("date_assigned", "decision_date", "ur_denial_date", "application_received")
TOP_LEVEL_FIELDS = ("case_number", *DATE_FIELDS, "priority")
ITEM_TEXT_FIELDS = ("treatment", "claims_administrator_guideline", "maximus_guideline", "rationale")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    path: str
    sha256: str = Field(description="SHA-256 of the file bytes")
    format: Format
    chars: int = Field(description="Length of the decoded text that offsets refer to")


class ExtractorInfo(_Strict):
    backend: Backend
    model: str | None = None
    prompt_version: str | None = None


class Reviewer(_Strict):
    specialties: list[str] = Field(default_factory=list)
    subspecialties: list[str] = Field(default_factory=list)
    licensed_states: list[str] = Field(default_factory=list)


class Patient(_Strict):
    age: int | None = None
    sex: Literal["male", "female"] | None = None
    date_of_injury: str | None = Field(None, description="YYYY-MM-DD")


class Medication(_Strict):
    name: str
    strength: str | None = None


class Item(_Strict):
    treatment: str
    decision: Decision | None = None
    medically_necessary: bool | None = None
    category: Category = "other"
    quantity: int | None = None
    medication: Medication | None = None
    claims_administrator_guideline: str | None = None
    maximus_guideline: str | None = None
    rationale: str | None = None


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
    case_number: str | None = None
    date_assigned: str | None = None
    decision_date: str | None = None
    ur_denial_date: str | None = None
    application_received: str | None = None
    priority: Literal["standard", "expedited"] | None = None
    reviewer: Reviewer = Field(default_factory=Reviewer)
    patient: Patient = Field(default_factory=Patient)
    diagnoses: list[str] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    outcome: Outcome | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    usage: Usage | None = None


class Claim(BaseModel):
    """One value an extractor asserts, with the quote that should support it.

    `near` is an optional raw offset: when a quote occurs several times (an item
    heading repeated in its rationale), the occurrence at or after `near` wins.
    """

    field: str
    value: Any
    quote: str | None
    near: int | None = None


def json_schema() -> dict:
    return Record.model_json_schema()

"""The record: single source of truth for the JSON output and its JSON Schema.

Every extractor (rules, llm) produces `Claim`s: a field path, a value and the
verbatim quote that supports it. Only `verify.verify` turns claims into a
`Record`, so a value can reach a Record only with evidence.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from extractor.core.fields import BOOL, DATE, INT, TEXT, WORD, Claim, Spec, build_table
from extractor.core.jsonline import dump_json
from extractor.core.vocab.guidelines import SOURCES
from extractor.core.vocab.regions import REGIONS

__all__ = ["Claim", "dump_json"]  # re-exported: the record's parts, in one place

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
DrugClass = Literal[
    "opioid", "muscle_relaxant", "nsaid", "benzodiazepine", "sleep_aid", "anticonvulsant",
    "antidepressant", "proton_pump_inhibitor", "h2_blocker", "analgesic", "local_anesthetic",
    "topical_analgesic", "topical_compound", "corticosteroid", "laxative", "gi_protectant",
    "antiemetic",
]
Region = Literal[REGIONS]          # core/vocab/regions.py
GuidelineSource = Literal[tuple(SOURCES)]  # core/vocab/guidelines.py
Format = Literal["text", "markdown", "html", "pdf"]
Backend = Literal["rules", "llm", "hybrid"]
MatchLevel = Literal["exact", "normalized"]

# The field table: each value field below carries a `Spec` (fields.py) saying how it is
# verified, scored, stored and asked of the model. Everything else derives from it.


class _Strict(BaseModel):
    # defer_build: the validators are built on first use, so a command that imports
    # the schema but validates nothing does not pay for building them.
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
    treatment: Annotated[str, Spec(TEXT, description="The treatment in dispute, as written: "
                                   "for a request utilization review modified, the part "
                                   "that went to IMR")]
    # The rules read these from the item heading (lexicon.AUTHORIZED); the model is not
    # asked for them yet (ask=False), so its answer schema and recorded answers stand.
    original_request: Annotated[str | None, Spec(
        TEXT, ask=False,
        description="A modified request: the original request, as written")] = None
    authorized: Annotated[str | None, Spec(
        TEXT, ask=False,
        description="A modified request: what the claims administrator authorized")] = None
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
            "The Expert Reviewer based the decision on",
            "Medical Treatment Guideline(s) Relied Upon by the Expert Reviewer", "MAXIMUS"),
        description="Guideline the IMR reviewer based the decision on")] = None
    rationale: Annotated[str | None, Spec(
        TEXT, gap=True, long=True, labels=(
            "Decision rationale", "Rationale for the decision", "Rationale for decision",
            "Expert Reviewer's decision rationale", "Rationale"),
        description="The reviewer's decision rationale")] = None
    # Normalised forms of the verified values above, beside them (core/vocab/).
    body_region: Annotated[Region | None, Spec(
        score=WORD, vocab="regions", filter=True,
        description="Normalised: the body region the treatment names first")] = None
    ingredients: Annotated[list[str], Spec(
        score=TEXT, vocab="drugs",
        description="Normalised: a medication's active ingredients (generic names)")] = \
        Field(default_factory=list)
    drug_class: Annotated[DrugClass | None, Spec(
        score=WORD, vocab="drugs", filter=True,
        description="Normalised: the medication's drug class")] = None
    drug_ids: Annotated[list[str], Spec(
        score=TEXT, vocab="drugs",
        description="Normalised: DrugBank ids of the ingredients that have one")] = \
        Field(default_factory=list)
    guideline_source: Annotated[GuidelineSource | None, Spec(
        score=WORD, vocab="guidelines", filter=True,
        description="Normalised: the source of the first guideline the reviewer cites")] = None
    guideline_part: Annotated[str | None, Spec(
        score=TEXT, vocab="guidelines",
        description="Normalised: its chapter or part (Low Back, Pain, Shoulder...)")] = None
    guideline_edition: Annotated[str | None, Spec(
        score=TEXT, vocab="guidelines",
        description="Normalised: its edition or year, where written")] = None
    guideline_topic: Annotated[str | None, Spec(
        score=TEXT, vocab="guidelines",
        description="Normalised: its section or topic, as written")] = None


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
        DATE, filter=True, labels=("Decision Date", "Date of Decision", "Determination Date",
                                   "Dated"),
        description="Date of the decision")] = None
    ur_denial_date: Annotated[str | None, Spec(
        DATE, labels=("UR Denial Date", "Date of UR Denial", "UR Determination Date",
                      "Utilization Review Denial Date", "Date of UR Decision"),
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


def record_json(record: Record, pretty: bool = False) -> str:
    """The record as the CLI prints it: one line, or indented for one file."""
    return dump_json(record.model_dump(mode="json"), pretty)


def json_schema() -> dict:
    return Record.model_json_schema()


FIELDS = build_table(Record)  # path -> fields.Field: the one field table

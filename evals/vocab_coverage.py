"""How much of the letters' drugs and guidelines the normalisers resolve, and by what.

    python evals/vocab_coverage.py ../shared/real-letters    # the 64 published PDFs
    python evals/vocab_coverage.py 'evals/fixtures/letters/p-*.pdf'

For each medication item (rules extraction): resolved by the drug vocabulary alone
(drug-named-entity-recognition), by our table alone (core/vocab/drugs.toml), by both
together (what the record carries), and with a drug class; for each item with a MAXIMUS
guideline: with a source. Prints counts only, never a letter's text.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout first

from extractor.batch.run import discover
from extractor.config import Config
from extractor.core import ingest
from extractor.core.vocab import drugs
from extractor.pipeline import extract_document


def main(paths: list[str]) -> None:
    medications, guideline_items = [], []
    files = [p for p in discover(paths) if Path(p).suffix.lower() in (".pdf", ".txt", ".html")]
    for path in files:
        record = extract_document(ingest.load(path), Config())
        medications += [it for it in record.items if it.category == "medication"]
        guideline_items += [it for it in record.items if it.maximus_guideline]
    n = len(medications)
    library = sum(bool(drugs.resolve(it.treatment, own=False).ingredients) for it in medications)
    own = sum(bool(drugs.resolve(it.treatment, library=False).ingredients) for it in medications)
    both = sum(bool(it.ingredients) for it in medications)
    classed = sum(it.drug_class is not None for it in medications)
    sourced = sum(it.guideline_source is not None for it in guideline_items)
    print(f"letters: {len(files)}; medication items: {n}")
    for name, k in (("resolved by the vocabulary alone", library),
                    ("resolved by our table alone", own),
                    ("resolved by both (the record)", both), ("with a drug class", classed)):
        print(f"  {name:34} {k:4} of {n}  ({100 * k / max(n, 1):.0f}%)")
    print(f"items with a MAXIMUS guideline: {len(guideline_items)}; with a source: {sourced} "
          f"({100 * sourced / max(len(guideline_items), 1):.0f}%)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["evals/fixtures/letters/p-*.pdf"])

"""`python -m extractor.cli` (`python -m extractor` works too)."""

from extractor.cli import main

main()

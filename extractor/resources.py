"""Files the package ships: prompts, eval fixtures and baselines.

In the repository they live at the top (`prompts/`, `evals/fixtures/`,
`evals/baselines/`); `extractor/data/*` are symlinks to them, which a wheel
build copies in, so an installed package finds the same files through
`importlib.resources` from any directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_DATA = Path(str(files("extractor"))) / "data"


def data_path(name: str) -> Path:
    """The shipped folder `name` (prompts, fixtures, baselines), symlinks resolved."""
    return (_DATA / name).resolve()


def in_checkout() -> bool:
    """True when running from a source checkout (the data folders are symlinks into it)."""
    return (_DATA / "baselines").is_symlink()

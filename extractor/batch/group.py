"""Finished letters wait in a group and are written together, in one transaction.

A transaction per letter costs more than the letter's rows (the commit writes every
page it touched to the WAL again). A group is written when it holds `letters` letters
or its oldest letter has waited `seconds`, whichever comes first, and when the batch
stops. A batch killed outright loses at most the group not yet written: those letters
are not in the database, so the next run does them again, once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

COMMIT_LETTERS = 100
COMMIT_SECONDS = 0.5


@dataclass(frozen=True)
class Limits:
    letters: int = COMMIT_LETTERS
    seconds: float = COMMIT_SECONDS


@dataclass
class Group:
    limits: Limits = field(default_factory=Limits)
    waiting: list = field(default_factory=list)
    since: float = 0.0  # when the oldest waiting letter came in

    def add(self, outcome) -> None:
        if not self.waiting:
            self.since = time.monotonic()
        self.waiting.append(outcome)

    def due(self) -> bool:
        return bool(self.waiting) and (len(self.waiting) >= self.limits.letters
                                       or time.monotonic() - self.since >= self.limits.seconds)

    def take(self) -> list:
        taken, self.waiting = self.waiting, []
        return taken

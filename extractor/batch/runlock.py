"""Which batch runs are still alive, so that a killed run can be told from a running one.

A running batch holds a POSIX lock on one byte of `<database>-lock`, at the offset of its
run id. The kernel drops the lock when the process ends, however it ends (SIGKILL
included), so a run marked `running` whose byte nobody holds was killed. No pid that
could be reused, no clock, no schema change. (POSIX locks belong to the process: a
process never sees its own locks as held, which is why a run never tests its own id.)
"""

from __future__ import annotations

import fcntl
import os

from extractor.privacy import private_file


class RunLock:
    def __init__(self, db_path: str):
        path = f"{db_path}-lock"
        private_file(path)
        self.fd = os.open(path, os.O_RDWR)

    def hold(self, run_id: int) -> None:
        fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, run_id)

    def alive(self, run_id: int) -> bool:
        """True if another process holds the byte of `run_id`."""
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, run_id)
        except OSError:
            return True
        fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, run_id)
        return False

    def close(self) -> None:
        os.close(self.fd)

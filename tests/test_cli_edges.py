"""Rough edges a new user meets first (issue 14), each through the real CLI."""

import json
import os
import signal
import sqlite3
import time

import pytest
from corpus import make_letters
from terminal import run_on_terminal, screen


def test_cache_stats_on_a_fresh_machine_says_the_cache_is_empty(cli, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "fresh"), "HOME": str(tmp_path)}
    env.pop("IMR_EXTRACT_CACHE", None)
    result = cli("cache", "stats", env=env)
    assert result.returncode == 0, result.stderr
    assert "the cache is empty" in result.stdout and result.stderr == ""
    as_json = cli("cache", "stats", "--json", env=env)
    assert json.loads(as_json.stdout)["calls"] == 0
    assert not (tmp_path / "fresh").exists()  # looking does not create the cache


def test_a_glob_that_matches_nothing_is_a_usage_error_and_creates_no_database(cli, tmp_path):
    db = tmp_path / "r.db"
    result = cli("batch", f"{tmp_path}/nothing-*.txt", "--db", db)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "matches no letter file" in result.stderr
    assert not db.exists()


def test_an_empty_folder_is_a_usage_error_without_a_summary(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.json").write_text("{}")  # not a letter type
    db = tmp_path / "r.db"
    result = cli("batch", tmp_path / "empty", "--db", db)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no letter files" in result.stderr
    assert "batch:" not in result.stderr and not db.exists()


def _done(db) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as c:
            return c.execute("select count(*) from letters where status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.fixture(scope="module")
def letters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many") / "letters"
    make_letters(folder, 3000)
    return folder


def test_ctrl_c_leaves_no_stale_progress_bar(letters, tmp_path):
    folder = letters
    db = tmp_path / "r.db"

    def ctrl_c_mid_batch(proc):
        if not pressed and _done(db) >= 100:  # well under way, workers long started
            os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
            pressed.append(True)

    pressed = []
    code, seen = run_on_terminal(["batch", folder, "--db", db], ctrl_c_mid_batch)
    assert code == 130, seen
    lines = screen(seen)
    assert lines and lines[0].startswith("imr-extract: error: interrupted: "), lines
    assert not any("letters/s" in line or "ETA" in line for line in lines), lines


@pytest.mark.parametrize("after", [0.2, 0.5, 1.0])
def test_ctrl_c_at_any_moment_of_the_start_is_one_line_and_exit_130(letters, tmp_path, after):
    """Imports, opening the database, the fork server importing the extractor: a Ctrl-C
    in any of them is the same one line, not a traceback or click's 'Aborted!'."""
    started = []

    def ctrl_c_soon(proc):
        started.append(time.monotonic()) if not started else None
        if len(started) == 1 and time.monotonic() - started[0] >= after:
            os.killpg(proc.pid, signal.SIGINT)
            started.append(True)

    code, seen = run_on_terminal(["batch", letters, "--db", tmp_path / "r.db"], ctrl_c_soon)
    text = " ".join(screen(seen))
    assert code == 130, text
    assert text.startswith("imr-extract: error: interrupted") and text.count("imr-extract") == 1
    assert "Traceback" not in text and "Aborted" not in text

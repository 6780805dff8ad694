"""Batch bookkeeping and limits (issue 11, defects 10, 13, 14 and the batch limits): the
real CLI as a subprocess on real SQLite files, a real FIFO, real signals."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import LETTERS, ROOT
from corpus import make_letters

L004 = LETTERS / "004_fc97f7610c159615.txt"
GOOD = sorted(LETTERS.glob("00*.txt"))


def query(db: Path, sql: str, *args) -> list[tuple]:
    """Read-only: never creates the database (that is the batch's job, with its mode)."""
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30) as c:
        return c.execute(sql, args).fetchall()


def start(*args, cwd=ROOT, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "extractor", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)


def wait_done(db: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if query(db, "select count(*) from letters where status = 'done'")[0][0] >= n:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} letters after {timeout}s")


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many") / "letters"
    return folder, make_letters(folder, 600)


# -- limits --------------------------------------------------------------------------
def big_letter(path: Path) -> Path:
    """A real letter followed by ~9 MB of its own prose: seconds of honest work."""
    text = L004.read_text()
    path.write_text(text + "\n" + "\n".join([text] * 3300))
    return path


def test_a_letter_past_the_time_limit_is_failed_and_the_batch_goes_on(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in GOOD:
        shutil.copy(p, folder)
    slow = big_letter(folder / "zz-slow.txt")
    db = tmp_path / "r.db"
    started = time.monotonic()
    out = cli("batch", folder, "--db", db, "--letter-timeout", "0.5")
    assert out.returncode == 1, out.stderr
    assert time.monotonic() - started < 60
    assert query(db, "select path, error from letters where status = 'failed'") == [
        (str(slow), f"{slow}: timed out after 0.5s (--letter-timeout)")]
    assert query(db, "select count(*) from letters where status = 'done'") == [(len(GOOD),)]


def test_model_threads_fail_a_late_letter_and_go_on(tmp_path):
    from extractor.batch import pool

    threads = pool.Threads(2, time.sleep, (), limit=0.3)
    threads.submit([5.0, 0.01, 0.02])  # one letter sleeps past the limit
    results, deadline = [], time.monotonic() + 10
    while threads.pending() and time.monotonic() < deadline:
        results += threads.collect(timeout=0.1)
    threads.close(now=True)
    assert sorted((t, r if r is None else r.reason) for t, r in results) == [
        (0.01, None), (0.02, None), (5.0, "timed out after 0.3s (--letter-timeout)")]


def test_a_fifo_among_the_letters_is_a_failed_row_not_a_hang(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in GOOD:
        shutil.copy(p, folder)
    os.mkfifo(folder / "pipe.txt")
    db = tmp_path / "r.db"
    out = cli("batch", folder, "--db", db)
    assert out.returncode == 1, out.stderr
    assert query(db, "select path, error from letters where status = 'failed'") == [
        (str(folder / "pipe.txt"),
         f"{folder / 'pipe.txt'}: is a FIFO (named pipe), not a letter file")]
    assert query(db, "select count(*) from letters where status = 'done'") == [(len(GOOD),)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_batch_with_a_fifo_in_it_and_keeps_what_is_done(sig, many, tmp_path):
    folder, letters = many
    inputs = tmp_path / "in"
    inputs.mkdir()
    os.mkfifo(inputs / "a-pipe.txt")
    db = tmp_path / "r.db"
    proc = start("batch", inputs, folder, "--db", db)
    wait_done(db, 50, proc)
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "interrupted" in err.splitlines()[-1]
    done = query(db, "select count(*) from letters where status = 'done'")[0][0]
    assert 50 <= done < len(letters)
    assert query(db, "select status from runs") == [("interrupted",)]


# -- run bookkeeping -------------------------------------------------------------------
def test_a_killed_run_is_marked_interrupted_by_the_next_start_but_a_live_one_is_not(
        many, tmp_path, cli):
    folder, _ = many
    slow = tmp_path / "slow"
    slow.mkdir()
    for i in range(3):  # seconds of work each: the live run is surely still running
        big_letter(slow / f"big-{i}.txt")
    db = tmp_path / "r.db"
    killed = start("batch", folder, "--db", db, "--concurrency", "1")
    wait_done(db, 20, killed)
    killed.kill()
    killed.wait()
    live = start("batch", slow, folder, "--db", db, "--concurrency", "1")
    try:
        deadline = time.monotonic() + 60
        while query(db, "select count(*) from runs")[0][0] < 2:  # the live run has its row
            assert time.monotonic() < deadline and live.poll() is None
            time.sleep(0.05)
        assert cli("batch", L004, "--db", db).returncode == 0  # a third run starts meanwhile
        assert query(db, "select id, status from runs order by id") == [
            (1, "interrupted"), (2, "running"), (3, "finished")]
    finally:
        live.kill()
        live.wait()


def test_a_run_that_fails_on_a_full_disk_says_failed(many, tmp_path):
    folder, _ = many
    db = tmp_path / "r.db"
    subprocess.run([sys.executable, "-m", "extractor", "batch", L004, "--db", db], cwd=ROOT,
                   check=True, capture_output=True)
    limit = db.stat().st_size + 300_000  # room for a few letters, then "disk full"

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = subprocess.run([sys.executable, "-m", "extractor", "batch", folder, "--db", db],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         preexec_fn=small_disk)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert query(db, "select status from runs order by id") == [("finished",), ("failed",)]
    assert query(db, "pragma integrity_check") == [("ok",)]


def test_paths_are_stored_resolved_and_a_success_replaces_old_failures(tmp_path, cli):
    db = tmp_path / "r.db"
    letter = tmp_path / "x.txt"
    assert cli("batch", "./x.txt", "--db", db, cwd=tmp_path).returncode == 1  # missing
    assert cli("batch", "x.txt", "--db", db, cwd=tmp_path).returncode == 1
    assert query(db, "select path, status from letters") == [(str(letter), "failed")]
    letter.write_text("a recipe for bread, not an IMR letter\n" * 20)
    assert cli("batch", "x.txt", "--db", db, cwd=tmp_path).returncode == 1  # not a letter
    assert [s for _, s in query(db, "select path, status from letters")] == ["failed"]
    shutil.copy(L004, letter)
    assert cli("batch", "./x.txt", "--db", db, cwd=tmp_path).returncode == 0
    assert query(db, "select path, status, error from letters") == [
        (str(letter), "done", None)]


# -- files we create -------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_databases_and_the_cache_are_readable_by_the_user_only(tmp_path, cli):
    import json

    from fakeserver import FakeServer

    from extractor.backends.model import prompts

    db, cache = tmp_path / "r.db", tmp_path / "cache" / "calls.db"
    proc = start("batch", LETTERS, "--db", db, "--concurrency", "1")
    wait_done(db, 1, proc)
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    assert wal.exists() and shm.exists()  # looked at while the batch has them open
    modes = [mode(p) for p in (db, wal, shm, Path(f"{db}-lock"))]
    proc.communicate(timeout=120)
    assert modes == [0o600] * 4
    with FakeServer([json.dumps(prompts.load().example_answer)]) as server:
        out = cli("extract", "--backend", "llm", "--model", "m", "--base-url", server.base_url,
                  "--cache", cache, "--mode", "json_schema", L004)
    assert out.returncode == 0, out.stderr
    assert mode(cache) == 0o600 and mode(cache.parent) == 0o700


def test_exports_and_eval_reports_are_readable_by_the_user_only(tmp_path, cli):
    """They hold the letters' contents too. A file that already exists with a wider mode
    (0644, as a umask of 022 leaves it) is narrowed, and the content is the same as on
    stdout."""
    db = tmp_path / "r.db"
    assert cli("batch", LETTERS / "004_fc97f7610c159615.txt", "--db", db).returncode == 0
    outputs = [tmp_path / n for n in ("out.jsonl", "out.csv", "eval.json", "eval.html")]
    outputs[1].write_text("old")
    outputs[1].chmod(0o644)
    for fmt, out in (("jsonl", outputs[0]), ("csv", outputs[1])):
        result = cli("export", "--db", db, "--format", fmt, "-o", out)
        assert result.returncode == 0, result.stderr
        assert out.read_text() == cli("export", "--db", db, "--format", fmt).stdout != ""
    result = cli("eval", "--json", outputs[2], "--html", outputs[3])
    assert result.returncode == 0, result.stderr
    assert [mode(p) for p in outputs] == [0o600] * 4
    bad = cli("export", "--db", db, "-o", tmp_path / "no" / "such" / "dir.jsonl")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "cannot write" in bad.stderr


# -- export from a database we cannot write ----------------------------------------------
@pytest.fixture
def read_only_folder(tmp_path):
    """A folder and database nobody can write: chmod, and for root (whom chmod does not
    stop) a read-only bind mount of the folder."""
    src = tmp_path / "src"
    src.mkdir()
    out = subprocess.run([sys.executable, "-m", "extractor", "batch", *GOOD, "--db",
                          src / "r.db"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not Path(f"{src / 'r.db'}-wal").exists()  # a clean end leaves no -wal
    (src / "r.db").chmod(0o444)
    src.chmod(0o555)
    folder = src
    if os.geteuid() == 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        mounted = subprocess.run(["mount", "--bind", src, folder], capture_output=True)
        if mounted.returncode:
            pytest.skip(f"root, and cannot bind-mount read-only: {mounted.stderr!r}")
        subprocess.run(["mount", "-o", "remount,ro,bind", folder], check=True)
    yield folder
    if folder != src:
        subprocess.run(["umount", folder], check=True)
    src.chmod(0o755)


def test_export_works_on_a_read_only_database(read_only_folder, cli):
    db = read_only_folder / "r.db"
    before = sorted(p.name for p in read_only_folder.iterdir())
    with pytest.raises(OSError):
        (read_only_folder / "probe").write_text("x")  # really read-only
    jsonl, csv = (cli("export", "--db", db, "--format", fmt) for fmt in ("jsonl", "csv"))
    assert (jsonl.returncode, csv.returncode) == (0, 0), jsonl.stderr + csv.stderr
    assert jsonl.stdout.splitlines() == cli("extract", "--compact", *GOOD).stdout.splitlines()
    assert csv.stdout.startswith("sha256,path,") and len(csv.stdout.splitlines()) > len(GOOD)
    assert sorted(p.name for p in read_only_folder.iterdir()) == before  # no -wal, no -shm


def test_export_upgrades_a_database_from_an_older_version_first(tmp_path, cli):
    from test_store import ONE, _save_before_v3

    from extractor.batch import migrations, store
    from extractor.core.schema import record_json
    from extractor.pipeline import extract_path

    db, record = tmp_path / "old.db", extract_path(ONE)
    with store.Store(db, version=1) as old:  # what imr-extract with schema v1 wrote
        _save_before_v3(old, record)
    out = cli("export", "--db", db)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [record_json(record)]
    with store.Store(db) as upgraded:
        assert migrations.schema_version(upgraded.db) == migrations.SCHEMA_VERSION

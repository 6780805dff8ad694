"""`imr-extract serve` as a real server (uvicorn in a subprocess) answered over HTTP.

Every status of the API, the same record as the CLI for every fixture, the token rule,
the non-loopback refusal, the size limit while streaming and an access log that never
carries letter text, upload names or tokens."""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import ALL_LETTERS, BAD, LETTERS, ORIGINALS, ROOT
from service import Service

pytest.importorskip("fastapi")

LETTER = LETTERS / "004_fc97f7610c159615.txt"


@pytest.fixture(scope="module")
def server():
    with Service(workers=2) as s:
        yield s


def post_file(url: str, path, name: str | None = None, **kw) -> httpx.Response:
    files = {"file": (name or path.name, path.read_bytes())}
    return httpx.post(url + "/v1/extract", files=files, timeout=120, **kw)


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "code"} and body["code"] == code
    assert body["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body


def cli_records(cli, names, *options) -> list[dict]:
    out = cli("extract", "--compact", *options, *names, cwd=LETTERS)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


# -- the record ------------------------------------------------------------------------
def test_every_fixture_gives_the_same_record_as_the_cli(server, cli):
    names = [p.name for p in ALL_LETTERS]
    want = cli_records(cli, names)
    got = []
    for path in ALL_LETTERS:
        r = post_file(server.url, path)
        assert r.status_code == 200, (path.name, r.text)
        got.append(r.json())
    assert len(got) == len(want) == len(ALL_LETTERS) > 30
    for g, w in zip(got, want, strict=True):
        assert g == w, w["source"]["path"]


@pytest.mark.parametrize("suffix,content_type", [
    (".txt", "text/plain"), (".md", "text/markdown"), (".html", "text/html"),
    (".pdf", "application/pdf")])
def test_a_raw_body_is_the_same_record_with_a_null_path(server, cli, tmp_path, suffix,
                                                         content_type):
    """The Content-Type says what the file name's suffix says to the CLI."""
    source = next(p for p in ALL_LETTERS if p.suffix == ".pdf") if suffix == ".pdf" else LETTER
    path = tmp_path / f"letter{suffix}"
    path.write_bytes(source.read_bytes())
    out = cli("extract", "--compact", path.name, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    want = json.loads(out.stdout)
    r = httpx.post(server.url + "/v1/extract", content=path.read_bytes(), timeout=120,
                   headers={"Content-Type": f"{content_type}; charset=utf-8"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["source"]["path"] is None
    want["source"]["path"] = None
    assert got == want


def test_model_backend_replays_the_same_record_as_the_cli(cli, tmp_path):
    """llm through the thread pool: the recorded SmolLM2 replies, offline, as the CLI."""
    cache = tmp_path / "calls.db"
    shutil.copy(ROOT / "cache" / "calls.db", cache)
    options = ["--backend", "llm", "--model", "smollm2-135m", "--offline", "--cache", cache]
    want = cli_records(cli, [p.name for p in ORIGINALS], *options)
    with Service(*options) as s:
        got = [post_file(s.url, p).json() for p in ORIGINALS]
    assert got == want
    assert all(r["extractor"]["backend"] == "llm" for r in got)


def test_schema_is_the_cli_schema_and_openapi_documents_the_api(server, cli):
    want = json.loads(cli("schema").stdout)
    assert httpx.get(server.url + "/v1/schema").json() == want
    spec = httpx.get(server.url + "/openapi.json").json()
    assert {"/v1/extract", "/v1/review", "/v1/schema", "/v1/letters", "/v1/letters/{sha256}",
            "/healthz"} <= set(spec["paths"])
    body = spec["paths"]["/v1/extract"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "text/plain", "application/pdf"} <= set(body)
    assert "Record" in spec["components"]["schemas"]
    docs = httpx.get(server.url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# -- every status -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["empty.txt", "whitespace_only.txt", "binary.txt",
                                  "recipe.txt", "corrupt.pdf", "not_a_pdf.pdf"])
def test_bad_letters_are_422(server, name):
    body = assert_error(post_file(server.url, BAD / name), 422, "bad_letter")
    assert body["error"].startswith(name + ":")


def test_unsupported_or_missing_content_type_is_415(server):
    for headers in ({"Content-Type": "application/zip"}, {"Content-Type": ""}, {}):
        r = httpx.post(server.url + "/v1/extract", content=b"x", headers=headers)
        assert_error(r, 415, "unsupported_type")


@pytest.mark.parametrize("query", ["backend=llm", "backend=hybrid", "backend=nonsense",
                                   "model=gpt-4o"])
def test_bad_options_are_400(server, query):
    assert_error(post_file(server.url, LETTER, params=query), 400, "bad_option")


def test_a_multipart_upload_without_a_file_is_400(server):
    r = httpx.post(server.url + "/v1/extract", data={"letter": "text"},
                   files={"other": ("a.txt", b"x")})
    assert_error(r, 400, "no_file")


def test_unknown_routes_and_methods_are_json_4xx(server):
    assert_error(httpx.get(server.url + "/v1/nothing"), 404, "not_found")
    assert_error(httpx.get(server.url + "/v1/extract"), 405, "method_not_allowed")
    assert_error(httpx.get(server.url + "/v1/letters"), 404, "no_database")


def test_random_bytes_never_get_a_500(server):
    rng = random.Random(13)
    seeds = [b"", b"\x00" * 10, b"%PDF-1.4 garbage", b"<b>Case Number:</b>", b"\xff\xfe\x00"]
    for n in range(40):
        data = seeds[n] if n < len(seeds) else rng.randbytes(rng.randrange(1, 5000))
        for kind in ("text/plain", "application/pdf", "multipart"):
            if kind == "multipart":
                r = httpx.post(server.url + "/v1/extract", files={"file": ("x.bin", data)})
            else:
                r = httpx.post(server.url + "/v1/extract", content=data,
                               headers={"Content-Type": kind})
            assert 400 <= r.status_code < 500, (n, kind, r.text)
            assert set(r.json()) == {"error", "code"}


# -- the size limit, while streaming ------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    with Service("--max-bytes", 2000) as s:
        yield s


def test_over_max_bytes_is_413_raw_multipart_and_chunked(small):
    big = LETTER.read_bytes()
    assert len(big) > 2000
    assert_error(post_file(small.url, LETTER), 413, "too_large")
    assert_error(httpx.post(small.url + "/v1/extract", content=big,
                            headers={"Content-Type": "text/plain"}), 413, "too_large")

    def chunks():  # no Content-Length: cut off while streaming
        for i in range(0, len(big), 1000):
            yield big[i:i + 1000]
    assert_error(httpx.post(small.url + "/v1/extract", content=chunks(),
                            headers={"Content-Type": "text/plain"}), 413, "too_large")
    ok = httpx.post(small.url + "/v1/extract", content=big[:1990],
                    headers={"Content-Type": "text/plain"})
    assert ok.status_code in (200, 422)  # under the limit: read (a cut letter may not pass)


def _reply(head: bytes, body: bytes, port: int) -> str:
    """Send a request that never finishes its body; read the answer that comes anyway."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        reply = b""
        while b'"}' not in reply:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply.decode()


def test_413_comes_before_the_body_is_read(small):
    """Announce 100 MB, send 1 kB of it: the answer comes at once, from the headers."""
    reply = _reply(b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                   b"Content-Length: 100000000\r\n\r\n", b"x" * 1000, small.port)
    assert reply.startswith("HTTP/1.1 413 ") and '"code":"too_large"' in reply


def test_a_chunked_body_is_cut_off_once_over_the_limit(small):
    """No length given: 3 kB arrive (limit 2 kB), the body never ends, the 413 comes."""
    reply = _reply(b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n", b"bb8\r\n" + b"x" * 3000 + b"\r\n",
                   small.port)
    assert reply.startswith("HTTP/1.1 413 ") and '"code":"too_large"' in reply


def test_request_time_limit_is_504():
    with Service("--request-timeout", "0.000001") as s:
        assert_error(post_file(s.url, LETTER), 504, "timeout")
        assert httpx.get(s.url + "/healthz").status_code == 200  # still serving


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc: children by parent id, then theirs)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, todo = set(), [pid]
    while todo:
        pid = todo.pop()
        kids = [child for child, parent in parents.items() if parent == pid]
        found.update(kids)
        todo += kids
    return found


def _gone(pids: set[int], within: float) -> set[int]:
    """Those of `pids` still running (not zombies) after `within` seconds at most."""
    deadline = time.monotonic() + within
    while True:
        left = set()
        for pid in pids:
            try:
                if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
                    left.add(pid)
            except OSError:
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_stopped_server_leaves_no_worker_behind(stop):
    """The rules workers, their forkserver and resource tracker end with the server, even
    when it is killed: a worker used to wait forever on its task queue, and kept the
    other two alive with it (~95 MB each time)."""
    with Service(workers=2) as s:
        assert post_file(s.url, LETTER).status_code == 200  # the workers are running
        below = _descendants(s.proc.pid)
        assert len(below) >= 3, below  # forkserver, resource tracker, a worker at least
        s.proc.send_signal(stop)
        s.proc.wait(20)
    assert not _gone(below, within=10), "left running after the server stopped"


def test_an_upload_that_never_ends_is_408():
    with Service("--upload-timeout", "1") as s:
        reply = _reply(b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                       b"Content-Length: 5000\r\n\r\n", b"x" * 100, s.port)
    assert reply.startswith("HTTP/1.1 408 ") and '"code":"slow_upload"' in reply


def test_model_failure_is_502_for_llm_and_strict_hybrid_else_the_rules_record_with_a_warning():
    """As in `extract`: hybrid falls back to the rules record and says why; llm has no
    record to fall back to, and `strict` makes any model failure a 502. The server's
    address carries a password, which no answer may repeat."""
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"http://user:s3cret@127.0.0.1:{closed.getsockname()[1]}/v1"
    with Service("--model", "fake", "--base-url", dead, "--no-cache") as s:
        for params in ({"backend": "llm"}, {"backend": "hybrid", "strict": "true"}):
            r = post_file(s.url, LETTER, params=params)
            body = assert_error(r, 502, "model_failed")
            assert "cannot reach the model server" in body["error"]
            assert "s3cret" not in r.text
        r = post_file(s.url, LETTER, params={"backend": "hybrid"})
        assert r.status_code == 200 and "s3cret" not in r.text
        record = r.json()
        assert record["extractor"]["backend"] == "hybrid"
        assert [w for w in record["warnings"] if w.startswith("model failed, rules only: ")]
        rules = post_file(s.url, LETTER, params={"backend": "rules"})
        assert rules.status_code == 200
        assert record["items"] == rules.json()["items"] and record["items"]
        assert post_file(s.url, LETTER, params={"strict": "maybe"}).status_code == 400


def test_model_calls_are_bounded_by_concurrency():
    """Six letters at once, --concurrency 2: the model server never sees more than two."""
    from concurrent.futures import ThreadPoolExecutor

    from fakeserver import FakeServer

    with FakeServer(["{}"] * 6) as fake:
        fake.delay = 0.5
        with Service("--backend", "llm", "--model", "fake-model", "--base-url", fake.base_url,
                     "--no-cache", "--max-attempts", 1, "--concurrency", 2) as s:
            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(lambda _: post_file(s.url, LETTER), range(6)))
    assert [r.status_code for r in answers] == [200] * 6
    assert all(r.json()["extractor"]["backend"] == "llm" for r in answers)
    assert len(fake.requests) == 6 and fake.max_in_flight == 2


# -- the token rule -----------------------------------------------------------------------
def test_with_a_token_every_v1_call_needs_it():
    token = "s3cret-token-value"
    with Service("--token", token) as s:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token},
                        {"Authorization": "Basic " + token}):
            assert_error(post_file(s.url, LETTER, headers=headers), 401, "unauthorized")
            assert_error(httpx.get(s.url + "/v1/schema", headers=headers), 401,
                         "unauthorized")
        good = {"Authorization": f"Bearer {token}"}
        assert post_file(s.url, LETTER, headers=good).status_code == 200
        assert httpx.get(s.url + "/v1/schema", headers=good).status_code == 200
        for open_path in ("/healthz", "/"):  # the page asks for the token itself
            assert httpx.get(s.url + open_path).status_code == 200


def test_without_a_token_no_header_is_needed(server):
    assert post_file(server.url, LETTER).status_code == 200


def test_a_non_loopback_host_without_token_is_refused(cli):
    out = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--token" in lines[0] and "Traceback" not in out.stderr


def test_a_db_that_is_no_results_database_is_refused_at_start(cli, tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("not sqlite")
    out = cli("serve", "--port", "0", "--db", bad)
    assert out.returncode == 2 and "not a results database" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_an_older_results_database_is_refused_not_upgraded(cli, tmp_path):
    """Upgrading writes; the service only reads, so it says how to upgrade."""
    from extractor.batch.store import Store

    old = tmp_path / "old.db"
    Store(old, version=2).close()
    before = old.read_bytes()
    out = cli("serve", "--port", "0", "--db", old)
    assert out.returncode == 2 and "older schema" in out.stderr and "summary --db" in out.stderr
    assert old.read_bytes() == before


def test_a_non_loopback_host_with_a_token_starts():
    with Service("--token", "t", host="0.0.0.0") as s:
        assert httpx.get(s.url + "/healthz").status_code == 200


# -- the access log -----------------------------------------------------------------------
def test_access_log_has_method_path_status_size_time_and_nothing_private():
    token, name = "tok-8e1f0c", "Private-Patient-Name-Upload.txt"
    text = LETTER.read_text()
    with Service("--token", token) as s:
        auth = {"Authorization": f"Bearer {token}"}
        assert post_file(s.url, LETTER, name=name, headers=auth,
                         params={"backend": "rules"}).status_code == 200
        httpx.post(s.url + "/v1/extract", content=b"no letter", headers={
            **auth, "Content-Type": "text/plain"})
        httpx.get(s.url + "/v1/letters?case_number=CM14-0037910", headers=auth)
        log = s.log()
    assert "POST /v1/extract 200 " in log and "POST /v1/extract 422 " in log
    line = next(ln for ln in log.splitlines() if "POST /v1/extract 200" in ln)
    assert line.rstrip().endswith("ms") and "B " in line
    for secret in (token, name, "Private-Patient", "CM14-0037910", "backend=rules",
                   "no letter", *[ln for ln in text.splitlines() if len(ln) > 20][:20]):
        assert secret not in log, secret


# -- the results database, read-only -------------------------------------------------------
@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "results.db"
    out = subprocess.run([sys.executable, "-m", "extractor", "batch", str(LETTERS), "--db",
                          str(path)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=False)
    assert out.returncode in (0, 1), out.stderr
    export = subprocess.run([sys.executable, "-m", "extractor", "export", "--db", str(path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    records = [json.loads(line) for line in export.stdout.splitlines()]
    assert len(records) > 30
    return path, records


@pytest.fixture(scope="module")
def db_server(db):
    with Service("--db", db[0]) as s:
        yield s


def _all(url: str, **params) -> list[dict]:
    out, offset = [], 0
    while True:
        page = httpx.get(url + "/v1/letters", params={**params, "limit": 7,
                                                      "offset": offset}).json()
        out += page["letters"]
        offset += 7
        if offset >= page["total"]:
            assert len(out) == page["total"]
            return out


def _shas(records, keep) -> set[str]:
    return {r["source"]["sha256"] for r in records if keep(r)}


def test_letters_lists_every_record_and_pages_through_them(db, db_server):
    _, records = db
    first = httpx.get(db_server.url + "/v1/letters").json()
    assert first["total"] == len({r["source"]["sha256"] for r in records})
    assert first["limit"] == 50 and first["offset"] == 0
    listed = _all(db_server.url)  # pages of 7
    assert len(first["letters"]) == min(50, first["total"])
    assert [x["sha256"] for x in listed[:50]] == [x["sha256"] for x in first["letters"]]
    assert {x["sha256"] for x in listed} == _shas(records, lambda r: True)
    row = listed[0]
    rec = next(r for r in records if r["source"]["sha256"] == row["sha256"])
    assert row["path"] == rec["source"]["path"] and row["items"] == len(rec["items"])


@pytest.mark.parametrize("params,keep", [
    ({"outcome": "overturned"}, lambda r: r["outcome"] == "overturned"),
    ({"outcome": "upheld"}, lambda r: r["outcome"] == "upheld"),
    ({"decision": "overturned"}, lambda r: any(i["decision"] == "overturned" for i in r["items"])),
    ({"category": "medication"}, lambda r: any(i["category"] == "medication" for i in r["items"])),
    ({"decision_date_from": "2014-08-01", "decision_date_to": "2014-12-31"},
     lambda r: r["decision_date"] and "2014-08-01" <= r["decision_date"] <= "2014-12-31"),
    ({"case_number": "CM14-0037910"}, lambda r: r["case_number"] == "CM14-0037910"),
    ({"category": "medication", "decision": "upheld", "outcome": "upheld"},
     lambda r: r["outcome"] == "upheld"
     and any(i["category"] == "medication" for i in r["items"])
     and any(i["decision"] == "upheld" for i in r["items"])),
])
def test_letters_filters_match_the_records(db, db_server, params, keep):
    want = _shas(db[1], keep)
    assert want, "the fixtures should have letters for this filter"
    assert {x["sha256"] for x in _all(db_server.url, **params)} == want


def test_letters_bad_filters_are_400(db_server):
    for params in ({"outcome": "maybe"}, {"decision_date_from": "last year"}, {"limit": 0},
                   {"limit": 100000}, {"offset": -1}):
        assert_error(httpx.get(db_server.url + "/v1/letters", params=params), 400, "bad_option")


def test_one_stored_record_and_404_for_an_unknown_one(db, db_server):
    rec = db[1][3]
    r = httpx.get(db_server.url + f"/v1/letters/{rec['source']['sha256']}")
    assert r.status_code == 200 and r.json() == rec
    assert_error(httpx.get(db_server.url + "/v1/letters/" + "0" * 64), 404, "not_found")
    assert_error(httpx.get(db_server.url + "/v1/letters/xyz"), 400, "bad_option")


def test_the_database_is_only_read(db, db_server):
    path = db[0]
    before = path.read_bytes()
    for _ in range(3):
        httpx.get(db_server.url + "/v1/letters", params={"outcome": "upheld"})
    assert path.read_bytes() == before


def test_a_bug_is_a_500_json_and_its_message_is_never_logged(caplog):
    """The one status input never causes: a route that raises, behind the real middleware."""
    import asyncio
    import logging

    from extractor.serve.access import AccessLog
    from extractor.serve.errors import InternalErrors

    async def broken(scope, receive, send):
        raise ValueError("Patient Jane Roe, 45-year-old, lumbar MRI")

    async def call():
        transport = httpx.ASGITransport(app=AccessLog(InternalErrors(broken)))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return await client.get("/v1/anything")

    with caplog.at_level(logging.INFO):
        r = asyncio.run(call())
    assert_error(r, 500, "internal_error")
    assert "internal error: ValueError" in caplog.text and "GET /v1/anything 500" in caplog.text
    assert "Jane Roe" not in caplog.text and "lumbar" not in caplog.text

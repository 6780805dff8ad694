"""The service's page and the eval review page in a real Chromium (tests/browser.py).

Service: upload fixture letters through the page's file input, wait for the records,
check that the highlighted spans' text is each value's evidence quote, that rejected
quotes are marked and warnings come first, that the downloaded JSON is the API's
record, that a token is asked for once, and the layout at 1280 px and at phone width.
Eval review page (`eval --html`): letter and record side by side at 1280 px, no nested
scroll boxes, the status column on one line. Screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

import json
import shutil

import httpx
import pytest
from conftest import LETTERS, ORIGINALS, ROOT
from service import Service

pytest.importorskip("fastapi")

LETTER = LETTERS / "001_86ba345343cd3771.txt"  # LF line ends: the DOM keeps the text as is
REPLAY = ["--backend", "llm", "--model", "smollm2-135m", "--offline"]

# The letter's text as shown, and for each field the offsets of the text highlighted for it.
SPANS_BY_FIELD = """
const pre=arguments[0].querySelector('pre.letter');const out={};let pos=0;
const walk=document.createTreeWalker(pre,NodeFilter.SHOW_TEXT);
while(walk.nextNode()){const t=walk.currentNode;const ev=t.parentElement.closest('.ev');
 if(ev)for(const f of ev.dataset.f.split(' '))if(f)(out[f]=out[f]||[]).push([pos,pos+t.length]);
 pos+=t.length;}
return {text:pre.textContent,spans:out};"""
REJECTED_SPANS = """
const out={};arguments[0].querySelectorAll('.ev.rej').forEach(s=>{
 for(const k of s.dataset.r.split(' '))if(k)(out[k]=out[k]||[]).push(s.textContent);});
return out;"""
DOWNLOAD = """
const done=arguments[arguments.length-1];
fetch(arguments[0].querySelector('a[download]').href).then(r=>r.text()).then(done);"""
BOXES = """
const r=e=>e.getBoundingClientRect();const sec=arguments[0];
const a=r(sec.querySelector('pre.letter')),b=r(sec.querySelector('.side'));
return {letter:[a.left,a.top,a.right,a.bottom],side:[b.left,b.top,b.right,b.bottom],
 width:innerWidth,scrollWidth:document.documentElement.scrollWidth};"""
SCROLL_BOXES = """
return Array.from(document.querySelectorAll('body *')).filter(e=>{const s=getComputedStyle(e);
 return ['auto','scroll'].includes(s.overflowY)||['auto','scroll'].includes(s.overflowX);})
 .map(e=>e.tagName+'.'+e.className);"""
WRAPPED_STATUS = """
return Array.from(document.querySelectorAll('table.rec td:last-child'))
 .filter(td=>td.textContent.trim()).filter(td=>{const g=document.createRange();
 g.selectNodeContents(td);return g.getClientRects().length!==1;}).map(td=>td.textContent);"""


def squash(s: str) -> str:
    return " ".join(s.split())


def upload(browser, url: str, *paths) -> list:
    browser.driver.get(url + "/")
    browser.wait("document.body.dataset.ready==='1'")
    files = browser.driver.find_element("id", "files")
    files.send_keys("\n".join(str(p) for p in paths))
    browser.wait(f"document.querySelectorAll('section[data-done]').length==={len(paths)}")
    return browser.driver.find_elements("css selector", "#results section")


def assert_side_by_side(boxes: dict) -> None:
    letter, side = boxes["letter"], boxes["side"]
    assert side[0] >= letter[2] - 1 and abs(side[1] - letter[1]) < 2, boxes
    assert letter[2] - letter[0] > 400 and side[2] - side[0] > 300, boxes


@pytest.fixture(scope="module")
def replay_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache") / "calls.db"
    shutil.copy(ROOT / "cache" / "calls.db", path)
    return path


def test_page_highlights_every_evidence_quote_and_downloads_the_record(browser):
    with Service() as s:
        sections = upload(browser, s.url, LETTER)
        api = httpx.post(s.url + "/v1/extract", files={"file": (LETTER.name,
                                                                 LETTER.read_bytes())}).json()
        sec = sections[0]
        assert sec.get_attribute("data-done") == "ok"
        browser.width(1280)
        assert_side_by_side(browser.js(BOXES, sec))
        browser.shot("serve-page-1280.png")
        browser.width(390, 844)
        boxes = browser.js(BOXES, sec)
        assert boxes["side"][1] >= boxes["letter"][3] - 1, boxes  # stacked
        assert boxes["scrollWidth"] <= boxes["width"], boxes      # nothing wider than a phone
        browser.shot("serve-page-390.png")
        browser.width(1280)
        shown = browser.js(SPANS_BY_FIELD, sec)
        downloaded = json.loads(browser.driver.execute_async_script(DOWNLOAD, sec))
    assert downloaded == api
    text, spans = shown["text"], shown["spans"]
    assert text == LETTER.read_bytes().decode("utf-8-sig")  # the whole letter, as it is
    assert set(spans) == {ev["field"] for ev in api["evidence"]} and len(spans) > 20
    for field, pieces in spans.items():
        lit = {i for a, b in pieces for i in range(a, b)}
        evidence = [ev for ev in api["evidence"] if ev["field"] == field]
        assert lit == {i for ev in evidence for i in range(ev["start"], ev["end"])}, field
        for ev in evidence:  # the highlighted text of each value is its quote
            quote = text[ev["start"]:ev["end"]]
            assert (quote if ev["match"] == "exact" else squash(quote)) == (
                ev["quote"] if ev["match"] == "exact" else squash(ev["quote"])), field


def test_page_marks_rejected_quotes(browser, replay_cache):
    """The recorded SmolLM2 replies: a record with many rejected values."""
    with Service(*REPLAY, "--cache", replay_cache) as s:
        sec = upload(browser, s.url, ORIGINALS[0])[0]
        record = httpx.post(s.url + "/v1/extract", timeout=120, files={
            "file": (ORIGINALS[0].name, ORIGINALS[0].read_bytes())}).json()
        marked = browser.js(REJECTED_SPANS, sec)
        struck = browser.js("return Array.from(arguments[0].querySelectorAll("
                            "'ul.rejected li s')).map(s=>s.textContent)", sec)
        browser.shot("serve-page-rejected-1280.png")
    assert record["rejected"] and len(struck) == len(record["rejected"])
    assert [t.split(" = ")[0] for t in struck] == [x["field"] for x in record["rejected"]]
    assert marked, "some rejected quote is letter text, so it is marked"
    for k, pieces in marked.items():
        assert squash("".join(pieces)) in squash(record["rejected"][int(k)]["quote"])


WARNED = [LETTERS / "v-garbled--003_a451431fba358ec9.txt",   # truncated mid-sentence
          LETTERS / "v-cp1252--000_5af06fd8d99aadee.txt"]    # not UTF-8


def test_page_puts_each_letters_warnings_above_it(browser):
    with Service() as s:
        sections = upload(browser, s.url, *WARNED)
        records = [httpx.post(s.url + "/v1/extract", files={"file": (p.name, p.read_bytes())}
                              ).json() for p in WARNED]
        shown = [browser.js("return Array.from(arguments[0].querySelectorAll("
                            "'.warnings .warn')).map(p=>p.textContent)", sec) for sec in sections]
        above = [browser.js("const s=arguments[0];return s.querySelector('.warnings')"
                            ".getBoundingClientRect().bottom<=s.querySelector('.pair')"
                            ".getBoundingClientRect().top+1", sec) for sec in sections]
    assert all(r["warnings"] for r in records)
    assert shown == [[f"warning: {w}" for w in r["warnings"]] for r in records]
    assert above == [True, True]


def test_page_asks_for_the_token_once(browser):
    token = "page-token-42"
    with Service("--token", token) as s:
        browser.driver.get(s.url + "/")
        browser.js("sessionStorage.clear()")
        browser.driver.refresh()
        browser.wait("document.body.dataset.ready==='1'")
        files = browser.driver.find_element("id", "files")
        files.send_keys("\n".join(str(p) for p in ORIGINALS[:2]))
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        alert = WebDriverWait(browser.driver, 60).until(expected_conditions.alert_is_present())
        alert.send_keys(token)
        alert.accept()
        browser.wait("document.querySelectorAll('section[data-done]').length===2")
        done = browser.js("return Array.from(document.querySelectorAll('section'))"
                          ".map(s=>s.dataset.done)")
    assert done == ["ok", "ok"]  # the second letter went with the same token, no prompt


def test_eval_review_page_at_1280_px(browser, cli, tmp_path, replay_cache):
    """Records with misses (the replayed SmolLM2 run) give the status column its longest
    words; the letter and the record sit side by side and only the page scrolls."""
    out = tmp_path / "review.html"
    run = cli("eval", *REPLAY, "--cache", replay_cache, "--letters", "00*", "--html", out,
              "--baseline", tmp_path / "b.json", "--save-baseline")
    assert run.returncode == 0, run.stderr
    browser.width(1280)
    browser.driver.get(out.as_uri())
    browser.wait("document.body.dataset.ready==='1'")
    sections = browser.driver.find_elements("css selector", "section")
    assert len(sections) == len(ORIGINALS)
    for sec in sections:
        boxes = browser.js(BOXES, sec)
        assert_side_by_side(boxes)
        assert boxes["scrollWidth"] <= boxes["width"], boxes
    assert browser.js(SCROLL_BOXES) == []
    statuses = browser.js("return Array.from(document.querySelectorAll("
                          "'table.rec td:last-child')).map(td=>td.textContent)")
    assert any("FN" in s for s in statuses)
    assert browser.js(WRAPPED_STATUS) == []
    browser.driver.execute_script("document.querySelector('section').scrollIntoView()")
    browser.shot("eval-review-1280.png")

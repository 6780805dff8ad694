"""The HTML review report: spans, rejected quotes, escaping, self-containment.

Records come from the real rules extractor and the real verifier; two wrong claims are
added so the page has rejected values to show (one quote in the letter, one not)."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from conftest import GOLD, LETTERS

from extractor.backends import rules
from extractor.config import Config
from extractor.core import ingest
from extractor.core.schema import Claim, ExtractorInfo
from extractor.core.verify import verify
from extractor.present import highlight
from extractor.scoring import evaluate as E, report

NAME = "001_86ba345343cd3771.txt"
FOUND = "Acupuncture 2 times a week for 4 weeks:  Upheld"
MARKUP = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)> &amp;'


def result_for(path, name=NAME):
    """LetterResult for `path`: rules claims plus two that the verifier rejects."""
    doc = ingest.load(path)
    claims, warnings = rules.extract(doc)
    claims += [Claim(field="items[1].decision", value="overturned", quote=FOUND),
               Claim(field="patient.age", value=45, quote="45-year-old man")]
    record = verify(doc, claims, ExtractorInfo(backend="rules"), warnings=warnings)
    gold = json.loads((GOLD / f"{name}.json").read_text())
    r = E.LetterResult(name=path.name, gold=gold, record=record, doc=doc,
                       checks=E.compare(record.model_dump(mode="json"), gold))
    r.grounded, r.emitted, r.grounding_problems = E.grounding(doc, record)
    return r


def page(*results):
    e = E.Evaluation(config=Config(), fixtures=LETTERS.parent, letters=list(results))
    return report.html_page(e, E.report(e))


class Letter(HTMLParser):
    """Text of the <pre class=letter>, with each character's covering span attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.tags, self.stack, self.inside = [], [], [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "pre" and a.get("class") == "letter":
            self.inside = True
        elif self.inside and tag == "span":
            self.stack.append(a)

    def handle_endtag(self, tag):
        if tag == "pre":
            self.inside = False
        elif self.inside and tag == "span":
            self.stack.pop()

    def handle_data(self, data):
        if self.inside and not any(a.get("class") == "ff" for a in self.stack):
            self.text.append(data)
            self.tags += [dict(self.stack[0]) if self.stack else {}] * len(data)


def parse(html):
    p = Letter()
    p.feed(html)
    return "".join(p.text), p.tags


def test_every_evidence_span_is_highlighted_exactly():
    r = result_for(LETTERS / NAME)
    text, tags = parse(page(r))
    assert text == r.doc.text  # the whole letter, unaltered
    for path in {ev.field for ev in r.record.evidence}:
        want = {i for ev in r.record.evidence if ev.field == path for i in range(ev.start, ev.end)}
        got = {i for i, a in enumerate(tags) if path in a.get("data-f", "").split()}
        assert got == want, path
    tagged = [i for i, a in enumerate(tags) if a.get("data-f")]
    assert tagged and all(tags[i].get("title") for i in tagged)


def test_spans_show_field_and_value_on_hover_and_colour_by_field():
    r = result_for(LETTERS / NAME)
    _, tags = parse(page(r))
    ev = next(e for e in r.record.evidence if e.field == "items[2].treatment")
    a = tags[ev.end - 1]  # the treatment's last word; its first is the narrower category span
    assert f'items[2].treatment = "{r.record.items[2].treatment}"' in a["title"]
    assert highlight.colour("items.treatment") in a["style"]
    assert highlight.colour("items.treatment") != highlight.colour("items.decision")


def test_rejected_values_are_struck_through_with_their_location_or_not_found():
    r = result_for(LETTERS / NAME)
    html = page(r)
    assert [x.reason[:10] for x in r.record.rejected] == ["quote says", "quote not "]
    assert "<s>items[1].decision = overturned</s>" in html
    assert "<s>patient.age = 45</s>" in html
    assert re.search(r"45-year-old man</q> \u2014 <b class=\"nf\">not found</b>", html)
    _, tags = parse(html)
    start, end = r.doc.index.find(FOUND)
    marked = {i for i, a in enumerate(tags) if "0" in a.get("data-r", "").split()}
    assert marked == set(range(start, end))
    assert all("rej" in tags[i]["class"] for i in marked)
    assert f"found at {start}\u2013{end}" in html


def test_letter_text_is_escaped(tmp_path):
    original = (LETTERS / NAME).read_text()
    path = tmp_path / NAME
    path.write_text(original.replace("CLINICAL CASE SUMMARY", f"{MARKUP}\nCLINICAL CASE SUMMARY"))
    r = result_for(path)
    html = page(r)
    assert html.count("<script") == 1 and "<img" not in html and "alert(\"pwned\")" not in html
    text, _ = parse(html)
    assert text == r.doc.text and MARKUP in text


def test_page_is_self_contained():
    html = page(result_for(LETTERS / NAME))
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html and "<link" not in html
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', html))


def test_cli_writes_a_page_for_every_fixture(cli, tmp_path):
    out = tmp_path / "report.html"
    result = cli("eval", "--html", out, "--baseline", tmp_path / "b.json", "--save-baseline")
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    for letter, _ in E.fixture_pairs(LETTERS.parent):
        assert f">{letter.name}</h2>" in html
    assert html.count('<pre class="letter">') == len(E.fixture_pairs(LETTERS.parent))


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium not installed")
def test_headless_chromium_renders_the_page_and_runs_its_script(tmp_path):
    out = tmp_path / "report.html"
    html = page(result_for(LETTERS / NAME))
    out.write_text(html)
    proc = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         out.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    dom = proc.stdout
    assert 'data-ready="1"' in dom, proc.stderr[-2000:]  # the inline script ran to the end
    assert dom.count('class="ev') == html.count('class="ev')


def test_terminal_tables_count_rejected_values_by_field():
    import io

    from rich.console import Console

    r = result_for(LETTERS / NAME)
    e = E.Evaluation(config=Config(), fixtures=LETTERS.parent, letters=[r])
    out = io.StringIO()
    report.print_scores(E.report(e), Console(file=out, width=200))
    text = out.getvalue()
    assert "Rejected values by field" in text
    row = next(ln for ln in text.splitlines() if "items.decision" in ln and "quote says" in ln)
    assert "quote says upheld, not overturned (1)" in row
    assert re.search(r"patient\.age\s+\u2502\s+1\s+\u2502 quote not found in the letter \(1\)",
                     text)

"""Readable eval output: score tables for the terminal and a self-contained HTML review page.

The HTML page shows each letter with every evidence span highlighted in its field's colour
(hover shows field and value), the extracted record beside it compared with the gold, and
the rejected values struck through in red with where their quote was found ("not found"
otherwise). Everything is inline (CSS, JS); the letter text is escaped.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from itertools import pairwise
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractor.scoring import evaluate


# -- terminal ---------------------------------------------------------------------------
def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def print_scores(data: dict, console: Console) -> None:
    """Per-field and per-letter tables, then one summary line, from an eval report dict."""
    fields = Table(title=f"Per-field scores ({data['backend']}, model {data['model'] or 'none'})")
    for name in ("field", "TP", "FP", "FN", "precision", "recall", "F1"):
        fields.add_column(name, justify="left" if name == "field" else "right")
    for name, s in data["fields"].items():
        fields.add_row(name, str(s["tp"]), str(s["fp"]), str(s["fn"]), _num(s["precision"]),
                       _num(s["recall"]), _num(s["f1"]),
                       style="red" if s["f1"] is not None and s["f1"] < 1 else None)
    console.print(fields)
    letters = Table(title="Per letter")
    for name in ("letter", "F1", "grounded", "rejected", "tokens", "attempts", "seconds", "error"):
        letters.add_column(name, justify="left" if name in ("letter", "error") else "right")
    for r in data["letters"]:
        letters.add_row(escape(r["letter"]), _num(r["f1"]), _num(r["grounding_rate"]),
                        str(len(r["rejected"])), str(r["tokens"]), str(r["attempts"]),
                        f"{r['seconds']:.3f}", escape(r["error"] or ""),
                        style="red" if r["error"] else None)
    console.print(letters)
    _print_families(data, console)
    _print_rejected(data, console)
    o = data["overall"]
    console.print(f"overall: P {_num(o['precision'])}  R {_num(o['recall'])}  "
                  f"F1 {_num(o['f1'])}  (macro F1 {_num(o['macro_f1'])})  "
                  f"grounding {_num(o['grounding_rate'])} ({o['grounded']}/{o['emitted']})  "
                  f"rejected {o['rejected']}  tokens {o['tokens']}  attempts {o['attempts']}  "
                  f"{o['seconds']:.2f}s  letters {o['letters']}  errors {o['errors']}")


def _print_families(data: dict, console: Console) -> None:
    """F1 per layout family (from the fixture names; see evaluate.family)."""
    table = Table(title="Per layout family")
    for name in ("group", "family", "letters", "precision", "recall", "F1"):
        table.add_column(name, justify="left" if name in ("group", "family") else "right")
    for row in data.get("families", []):
        table.add_row(row["group"], escape(row["family"]), str(row["letters"]),
                      _num(row["precision"]), _num(row["recall"]), _num(row["f1"]),
                      style="red" if row["f1"] is not None and row["f1"] < 1 else None)
    console.print(table)


def _print_rejected(data: dict, console: Console) -> None:
    """Rejected values counted by field, with the most common reason (details: --json/--html)."""
    reasons: dict[str, Counter] = {}
    for r in data["letters"]:
        for x in r["rejected"]:
            reasons.setdefault(field_kind(x["field"]), Counter())[x["reason"]] += 1
    if not reasons:
        return
    table = Table(title="Rejected values by field")
    for name in ("field", "rejected", "most common reason"):
        table.add_column(name, justify="right" if name == "rejected" else "left")
    for kind, counter in sorted(reasons.items(), key=lambda kv: -sum(kv[1].values())):
        reason, n = counter.most_common(1)[0]
        table.add_row(escape(kind), str(sum(counter.values())), escape(f"{reason} ({n})"))
    console.print(table)


# -- HTML -------------------------------------------------------------------------------
_INDEX = re.compile(r"\[\d+\]")


def field_kind(path: str) -> str:
    """'items[0].medication.name' -> 'items.medication.name'."""
    return _INDEX.sub("", path)


def colour(kind: str) -> str:
    order = list(evaluate.FIELDS)
    i = order.index(kind) if kind in order else len(order)
    # golden-angle hues, three lightness steps: neighbours in the legend stay distinct
    return f"hsl({(i * 137.5) % 360:.0f} 85% {72 + (i % 3) * 6}%)"


def value_at(data: dict, path: str) -> Any:
    """The record value at an evidence path such as 'items[1].decision'."""
    cur: Any = data
    for name, index in re.findall(r"([a-z_]+)(?:\[(\d+)\])?", path):
        cur = cur.get(name) if isinstance(cur, dict) else None
        if index and isinstance(cur, list):
            cur = cur[int(index)] if int(index) < len(cur) else None
    return cur


def _esc(x: Any) -> str:
    return html.escape(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _text(s: str) -> str:
    s = html.escape(s).replace("\f", '<span class="ff">&#9228; page break</span>')
    return _CONTROL.sub("\ufffd", s)


def _marks(r: evaluate.LetterResult) -> list[dict]:
    """Highlight spans: evidence, and the spot where each rejected quote was found."""
    data = r.record.model_dump(mode="json")
    marks = [{"start": ev.start, "end": ev.end, "path": ev.field, "kind": field_kind(ev.field),
              "label": f"{ev.field} = {_short(value_at(data, ev.field))}"}
             for ev in r.record.evidence]
    for k, rej in enumerate(r.record.rejected):
        span = r.doc.index.find(rej.quote) if rej.quote else None
        if span:
            marks.append({"start": span[0], "end": span[1], "path": "", "kind": "rejected",
                          "rej": k,
                          "label": f"REJECTED {rej.field} = {_short(rej.value)}: {rej.reason}"})
    return marks


def _short(v: Any, n: int = 80) -> str:
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def highlight(text: str, marks: list[dict]) -> str:
    """Escaped text cut at every mark boundary; each piece styled by its narrowest mark."""
    cuts = sorted({0, len(text), *(m["start"] for m in marks), *(m["end"] for m in marks)})
    out = []
    for a, b in pairwise(cuts):
        cover = [m for m in marks if m["start"] <= a and b <= m["end"]]
        piece = _text(text[a:b])
        if not cover:
            out.append(piece)
            continue
        top = min(cover, key=lambda m: m["end"] - m["start"])
        rejected = any(m["kind"] == "rejected" for m in cover)
        style = "" if top["kind"] == "rejected" else f' style="background:{colour(top["kind"])}"'
        cls = "ev rej" if rejected else "ev"
        paths = " ".join(sorted({m["path"] for m in cover if m["path"]}))
        rej = " ".join(str(m["rej"]) for m in cover if "rej" in m)
        title = "\n".join(dict.fromkeys(m["label"] for m in cover))
        out.append(f'<span class="{cls}" data-f="{_esc(paths)}" data-r="{rej}" '
                   f'title="{_esc(title)}"{style}>{piece}</span>')
    return "".join(out)


def _verdict(c: dict) -> tuple[str, str]:
    if c["fp"] or c["fn"]:
        return "bad", "\u2717 " + " ".join(f"{k.upper()} {c[k]}" for k in ("fp", "fn") if c[k])
    return ("ok", "\u2713") if c["tp"] else ("", "")


def _record_table(summary: dict) -> str:
    rows = []
    for c in summary["checks"]:
        if c["pred"] in (None, []) and c["gold"] in (None, []):
            continue
        cls, word = _verdict(c)
        path = "" if c["path"].startswith("gold ") else c["path"]
        swatch = f'<i class="sw" style="background:{colour(c["field"])}"></i>'
        rows.append(f'<tr class="{cls}" data-p="{_esc(path)}"><td>{swatch}{_esc(c["path"])}'
                    f'</td><td><div class="v">{_esc(c["pred"])}</div></td>'
                    f'<td><div class="v">{_esc(c["gold"])}</div></td><td>{word}</td></tr>')
    return ('<table class="rec"><tr><th>field</th><th>extracted</th><th>gold</th><th></th></tr>'
            + "".join(rows) + "</table>")


def _rejected_list(r: evaluate.LetterResult) -> str:
    if not r.record.rejected:
        return "<p>No rejected values.</p>"
    items = []
    for k, rej in enumerate(r.record.rejected):
        span = r.doc.index.find(rej.quote) if rej.quote else None
        where = (f'<span class="rej goto" data-k="{k}">found at {span[0]}\u2013{span[1]}</span> '
                 "(marked in the letter; click to show)" if span else '<b class="nf">not found</b>')
        items.append(f"<li><s>{_esc(rej.field)} = {_esc(rej.value)}</s> \u2014 {_esc(rej.reason)}"
                     f"<br>quote: <q>{_esc(rej.quote or '')}</q> \u2014 {where}</li>")
    return f'<ul class="rejected">{"".join(items)}</ul>'


def _letter(r: evaluate.LetterResult, n: int) -> str:
    s = evaluate.letter_summary(r)
    head = (f'<h2 id="l{n}">{_esc(r.name)}</h2><p class="stats">F1 {_num(s["f1"])} \u00b7 '
            f'grounding {_num(s["grounding_rate"])} ({s["grounded"]}/{s["emitted"]}) \u00b7 '
            f'rejected {len(s["rejected"])} \u00b7 tokens {s["tokens"]} \u00b7 attempts '
            f'{s["attempts"]} \u00b7 {s["seconds"]:.3f}s</p>')
    if r.record is None:
        return f'<section>{head}<p class="err">Error: {_esc(r.error)}</p></section>'
    problems = "".join(f"<li>{_esc(p['field'])}: {_esc(p['problem'])}</li>"
                       for p in s["grounding_problems"])
    side = ("<h3>Rejected</h3>" + _rejected_list(r)
            + (f'<h3>Grounding problems</h3><ul class="err">{problems}</ul>' if problems else "")
            + "".join(f'<p class="warn">warning: {_esc(w)}</p>' for w in r.record.warnings)
            + "<h3>Record vs gold</h3>" + _record_table(s))
    letter = highlight(r.doc.text, _marks(r))
    return (f'<section>{head}<div class="pair"><pre class="letter">{letter}</pre>'
            f'<div class="side">{side}</div></div></section>')


def _legend() -> str:
    keys = [f'<span class="key" style="background:{colour(f)}">{_esc(f)}</span>'
            for f in evaluate.FIELDS if f != "items"]
    return ('<div class="legend">' + "".join(keys)
            + '<span class="key rej">rejected quote</span></div>')


def _summary_table(data: dict) -> str:
    rows = "".join(f"<tr><td>{_esc(f)}</td><td>{s['tp']}</td><td>{s['fp']}</td><td>{s['fn']}</td>"
                   f"<td>{_num(s['precision'])}</td><td>{_num(s['recall'])}</td>"
                   f"<td>{_num(s['f1'])}</td></tr>" for f, s in data["fields"].items())
    return ('<details><summary>Per-field scores</summary><table class="scores"><tr><th>field'
            '</th><th>TP</th><th>FP</th><th>FN</th><th>P</th><th>R</th><th>F1</th></tr>'
            + rows + "</table></details>")


def html_page(e: evaluate.Evaluation, data: dict) -> str:
    o = data["overall"]
    index = "".join(f'<li><a href="#l{n}">{_esc(r.name)}</a> {"ERROR" if r.error else ""}</li>'
                    for n, r in enumerate(e.letters))
    title = f"imr-extract eval: {data['backend']} / {data['model'] or 'no model'}"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}'
            f"</title><style>{CSS}</style></head><body><h1>{_esc(title)}</h1>"
            f'<p class="stats">{o["letters"]} letters \u00b7 P {_num(o["precision"])} \u00b7 '
            f'R {_num(o["recall"])} \u00b7 F1 {_num(o["f1"])} \u00b7 grounding '
            f'{_num(o["grounding_rate"])} \u00b7 rejected {o["rejected"]} \u00b7 errors '
            f'{o["errors"]} \u00b7 fixtures {_esc(data["fixtures"])}</p>'
            f"{_legend()}{_summary_table(data)}<details><summary>Letters</summary><ol>{index}"
            f"</ol></details>" + "".join(_letter(r, n) for n, r in enumerate(e.letters))
            + f"<script>{JS}</script></body></html>")


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1em;color:#222}
h2{margin-top:2em;border-top:2px solid #888;padding-top:.5em;font-size:1.1em}
.stats{color:#555}.legend{position:sticky;top:0;background:#fff;padding:.4em 0;z-index:2;
border-bottom:1px solid #ccc}.key{display:inline-block;padding:1px 5px;margin:2px;
border-radius:3px;font-size:12px}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1em}
pre.letter{white-space:pre-wrap;font:12px/1.45 ui-monospace,monospace;background:#fafafa;
border:1px solid #ddd;padding:.6em;margin:0;max-height:80vh;overflow:auto}
.ev{border-radius:2px;cursor:help}.rej{outline:2px dashed #d00;background:#fdd}
.ev.focus{outline:3px solid #000}.goto{cursor:pointer}.ff{color:#999;font-style:italic}
.side{max-height:80vh;overflow:auto;font-size:12px}
table.rec{border-collapse:collapse;width:100%}table.rec td,table.rec th{border:1px solid #ddd;
padding:2px 4px;vertical-align:top;text-align:left}tr.ok td:last-child{color:#080}
tr.bad{background:#fee}tr.bad td:last-child{color:#c00;font-weight:bold}
tr[data-p]:hover{background:#eef;cursor:pointer}
.v{max-height:6em;overflow:auto;white-space:pre-wrap;word-break:break-word}
.sw{display:inline-block;width:.8em;height:.8em;margin-right:4px;border:1px solid #999}
ul.rejected li{color:#c00;margin-bottom:.4em}.nf{color:#c00}.err{color:#c00}.warn{color:#a60}
table.scores td,table.scores th{padding:1px 6px;text-align:right}
"""

# Hovering or clicking a row of the record table outlines that value's evidence spans.
JS = """
function spans(sec,p){if(!p)return[];return Array.from(sec.querySelectorAll('.ev')).filter(
 s=>s.dataset.f.split(' ').some(f=>f===p||f.startsWith(p+'[')||f.startsWith(p+'.')));}
document.querySelectorAll('tr[data-p]').forEach(tr=>{const sec=tr.closest('section');
 const on=v=>spans(sec,tr.dataset.p).forEach(s=>s.classList.toggle('focus',v));
 tr.addEventListener('mouseenter',()=>on(true));tr.addEventListener('mouseleave',()=>on(false));
 tr.addEventListener('click',()=>{const s=spans(sec,tr.dataset.p)[0];
  if(s)s.scrollIntoView({block:'center',behavior:'smooth'});});});
document.querySelectorAll('.goto').forEach(g=>g.addEventListener('click',()=>{
 const s=g.closest('section').querySelector('[data-r~="'+g.dataset.k+'"]');
 if(s)s.scrollIntoView({block:'center',behavior:'smooth'});}));
document.body.dataset.ready='1';
"""

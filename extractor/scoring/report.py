"""Readable eval output: score tables for the terminal and a self-contained HTML review page.

The HTML page shows each letter with every evidence span highlighted in its field's colour
(hover shows field and value), the extracted record beside it compared with the gold, and
the rejected values struck through in red with where their quote was found ("not found"
otherwise). Everything is inline (CSS, JS); the letter text is escaped.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractor.present import highlight
from extractor.present.highlight import field_kind
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
# Spans, colours and the rejected list are shared with the service's page (present/).
_esc = highlight.esc


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
        swatch = highlight.swatch(c["field"])
        rows.append(f'<tr class="{cls}" data-p="{_esc(path)}"><td>{swatch}{_esc(c["path"])}'
                    f'</td><td><div class="v">{_esc(c["pred"])}</div></td>'
                    f'<td><div class="v">{_esc(c["gold"])}</div></td><td>{word}</td></tr>')
    return ('<table class="rec"><tr><th>field</th><th>extracted</th><th>gold</th><th></th></tr>'
            + "".join(rows) + "</table>")


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
    side = ("<h3>Rejected</h3>" + highlight.rejected_list(r.record, r.doc)
            + (f'<h3>Grounding problems</h3><ul class="err">{problems}</ul>' if problems else "")
            + "".join(f'<p class="warn">warning: {_esc(w)}</p>' for w in r.record.warnings)
            + "<h3>Record vs gold</h3>" + _record_table(s))
    letter = highlight.letter_html(r.record, r.doc)
    return (f'<section>{head}<div class="pair">{letter}'
            f'<div class="side">{side}</div></div></section>')


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
            f"</title><style>{highlight.CSS}{CSS}</style></head><body><h1>{_esc(title)}</h1>"
            f'<p class="stats">{o["letters"]} letters \u00b7 P {_num(o["precision"])} \u00b7 '
            f'R {_num(o["recall"])} \u00b7 F1 {_num(o["f1"])} \u00b7 grounding '
            f'{_num(o["grounding_rate"])} \u00b7 rejected {o["rejected"]} \u00b7 errors '
            f'{o["errors"]} \u00b7 fixtures {_esc(data["fixtures"])}</p>'
            f"{highlight.legend()}{_summary_table(data)}<details><summary>Letters</summary><ol>{index}"
            f"</ol></details>" + "".join(_letter(r, n) for n, r in enumerate(e.letters))
            + f"<script>{highlight.JS}{JS}</script></body></html>")


# Letter and record side by side, each as long as it is: the page scrolls, nothing inside
# it does (the review page at 1280 px, issue 14). Narrow windows stack them.
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1em;color:#222}
h2{margin-top:2em;border-top:2px solid #888;padding-top:.5em;font-size:1.1em}
.stats{color:#555}.legend{position:sticky;top:0;z-index:2}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1em;align-items:start}
@media (max-width:800px){.pair{grid-template-columns:minmax(0,1fr)}}
.side{font-size:12px;min-width:0}
table.rec{border-collapse:collapse;width:100%}table.rec td,table.rec th{border:1px solid #ddd;
padding:2px 4px;vertical-align:top;text-align:left}tr.ok td:last-child{color:#080}
table.rec td:last-child{white-space:nowrap}
tr.bad{background:#fee}tr.bad td:last-child{color:#c00;font-weight:bold}
tr[data-p]:hover{background:#eef;cursor:pointer}
.v{white-space:pre-wrap;overflow-wrap:anywhere}
table.scores td,table.scores th{padding:1px 6px;text-align:right}
"""

JS = """
wire(document);
document.body.dataset.ready='1';
"""

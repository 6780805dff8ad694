"""A letter as HTML with every evidence span highlighted by field.

Shared by the eval review page (`scoring/report.py`) and the service's page
(`serve/`): each evidence span is coloured by its field (hover shows field and
value), and the spot where a rejected quote was found is outlined in red.
The letter text is always escaped; control characters become U+FFFD.
"""

from __future__ import annotations

import html
import json
import re
from itertools import pairwise
from typing import Any

from extractor.core.ingest import Document
from extractor.core.schema import FIELDS, Record

_INDEX = re.compile(r"\[\d+\]")
# Legend order: letter values, letter lists, then item values (the field table's order).
KINDS = (*(p for p, f in FIELDS.items() if not f.item and not f.is_list),
         *(p for p, f in FIELDS.items() if not f.item and f.is_list),
         *(p for p, f in FIELDS.items() if f.item))


def field_kind(path: str) -> str:
    """'items[0].medication.name' -> 'items.medication.name'."""
    return _INDEX.sub("", path)


def colour(kind: str) -> str:
    i = KINDS.index(kind) if kind in KINDS else len(KINDS)
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


def esc(x: Any) -> str:
    """HTML-escaped text, or the JSON of a non-string value, escaped."""
    return html.escape(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False))


def short(v: Any, n: int = 80) -> str:
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[: n - 1] + "\u2026"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _text(s: str) -> str:
    s = html.escape(s).replace("\f", '<span class="ff">&#9228; page break</span>')
    return _CONTROL.sub("\ufffd", s)


def rejected_spans(record: Record, doc: Document) -> list[tuple[int, int] | None]:
    """Where each rejected value's quote is in the letter (None: not found)."""
    return [doc.index.find(rej.quote) if rej.quote else None for rej in record.rejected]


def marks(record: Record, doc: Document) -> list[dict]:
    """Highlight spans: evidence, and the spot where each rejected quote was found."""
    data = record.model_dump(mode="json")
    out = [{"start": ev.start, "end": ev.end, "path": ev.field, "kind": field_kind(ev.field),
            "label": f"{ev.field} = {short(value_at(data, ev.field))}"}
           for ev in record.evidence]
    for k, (rej, span) in enumerate(zip(record.rejected, rejected_spans(record, doc), strict=True)):
        if span:
            out.append({"start": span[0], "end": span[1], "path": "", "kind": "rejected",
                        "rej": k,
                        "label": f"REJECTED {rej.field} = {short(rej.value)}: {rej.reason}"})
    return out


def highlight(text: str, spans: list[dict]) -> str:
    """Escaped text cut at every mark boundary; each piece styled by its narrowest mark."""
    cuts = sorted({0, len(text), *(m["start"] for m in spans), *(m["end"] for m in spans)})
    out = []
    for a, b in pairwise(cuts):
        cover = [m for m in spans if m["start"] <= a and b <= m["end"]]
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
        out.append(f'<span class="{cls}" data-f="{esc(paths)}" data-r="{rej}" '
                   f'title="{esc(title)}"{style}>{piece}</span>')
    return "".join(out)


def letter_html(record: Record, doc: Document) -> str:
    """The whole letter, highlighted, as a <pre class="letter">."""
    return f'<pre class="letter">{highlight(doc.text, marks(record, doc))}</pre>'


def rejected_list(record: Record, doc: Document) -> str:
    """Each rejected value struck through, its reason, and where its quote was found."""
    if not record.rejected:
        return "<p>No rejected values.</p>"
    items = []
    for k, (rej, span) in enumerate(zip(record.rejected, rejected_spans(record, doc), strict=True)):
        where = (f'<span class="rej goto" data-k="{k}">found at {span[0]}\u2013{span[1]}</span> '
                 "(marked in the letter; click to show)" if span else '<b class="nf">not found</b>')
        items.append(f"<li><s>{esc(rej.field)} = {esc(rej.value)}</s> \u2014 {esc(rej.reason)}"
                     f"<br>quote: <q>{esc(rej.quote or '')}</q> \u2014 {where}</li>")
    return f'<ul class="rejected">{"".join(items)}</ul>'


def swatch(kind: str) -> str:
    return f'<i class="sw" style="background:{colour(kind)}"></i>'


def legend() -> str:
    keys = [f'<span class="key" style="background:{colour(f)}">{esc(f)}</span>' for f in KINDS]
    return ('<div class="legend">' + "".join(keys)
            + '<span class="key rej">rejected quote</span></div>')


# The styles of the pieces above; pages add their own layout.
CSS = """
.legend{background:#fff;padding:.4em 0;border-bottom:1px solid #ccc}
.key{display:inline-block;padding:1px 5px;margin:2px;border-radius:3px;font-size:12px}
pre.letter{white-space:pre-wrap;overflow-wrap:anywhere;font:12px/1.45 ui-monospace,monospace;
background:#fafafa;border:1px solid #ddd;padding:.6em;margin:0}
.ev{border-radius:2px;cursor:help}.rej{outline:2px dashed #d00;background:#fdd}
.ev.focus{outline:3px solid #000}.goto{cursor:pointer}.ff{color:#999;font-style:italic}
.sw{display:inline-block;width:.8em;height:.8em;margin-right:4px;border:1px solid #999}
ul.rejected{padding-left:1.2em}ul.rejected li{color:#c00;margin-bottom:.4em}.nf{color:#c00}
.err{color:#c00}.warn{color:#a60}
"""

# Hovering or clicking a row with data-p outlines that value's evidence spans in the same
# section; clicking a "found at" link scrolls to the rejected quote. `wire(root)` binds it.
JS = """
function spans(sec,p){if(!p)return[];return Array.from(sec.querySelectorAll('.ev')).filter(
 s=>s.dataset.f.split(' ').some(f=>f===p||f.startsWith(p+'[')||f.startsWith(p+'.')));}
function wire(root){
 root.querySelectorAll('tr[data-p]').forEach(tr=>{const sec=tr.closest('section');
  const on=v=>spans(sec,tr.dataset.p).forEach(s=>s.classList.toggle('focus',v));
  tr.addEventListener('mouseenter',()=>on(true));tr.addEventListener('mouseleave',()=>on(false));
  tr.addEventListener('click',()=>{const s=spans(sec,tr.dataset.p)[0];
   if(s)s.scrollIntoView({block:'center',behavior:'smooth'});});});
 root.querySelectorAll('.goto').forEach(g=>g.addEventListener('click',()=>{
  const s=g.closest('section').querySelector('[data-r~="'+g.dataset.k+'"]');
  if(s)s.scrollIntoView({block:'center',behavior:'smooth'});}));}
"""

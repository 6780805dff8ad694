"""The page at `/`: drop or choose letters, see each one highlighted beside its record.

Self-contained (inline CSS and JS, no CDN, no font download), so it works offline. Each
letter is posted to /v1/review; the server renders the highlighted letter and the panel
with the same code as the eval review page (`present/`), and the page only places them.
With a token, the page asks for it once (the first 401) and keeps it for the tab.
"""

from __future__ import annotations

from extractor import __version__
from extractor.present import highlight
from extractor.serve.settings import Settings

CSS = """
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{padding:.6em 1em;border-bottom:1px solid #ccc;background:#f6f6f6}
header h1{font-size:1.1em;margin:0 0 .4em}
main{padding:0 1em 2em}
#drop{border:2px dashed #999;border-radius:6px;padding:1em;text-align:center;margin:1em 0}
#drop.over{background:#eef;border-color:#336}
section{border-top:2px solid #888;margin-top:1.5em;padding-top:.5em}
section h2{font-size:1.05em;margin:0 0 .4em;overflow-wrap:anywhere}
.pair{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1em;align-items:start}
@media (max-width:800px){.pair{grid-template-columns:minmax(0,1fr)}}
.side{font-size:12px;min-width:0}
table.rec{border-collapse:collapse;width:100%}
table.rec td,table.rec th{border:1px solid #ddd;padding:2px 4px;vertical-align:top;text-align:left}
table.rec td:first-child{white-space:nowrap}
.v{white-space:pre-wrap;overflow-wrap:anywhere}
tr[data-p]:hover{background:#eef;cursor:pointer}
.bar{display:flex;gap:.6em;align-items:center;flex-wrap:wrap}
.busy{color:#555}
"""

JS = """
let token=sessionStorage.getItem('imr-token');
const results=document.getElementById('results');
async function post(file){
 for(;;){const fd=new FormData();fd.append('file',file);
  const headers=token?{'Authorization':'Bearer '+token}:{};
  const r=await fetch('v1/review',{method:'POST',body:fd,headers});
  if(r.status===401){const t=prompt('This server needs its token:');
   if(!t)return {error:'a token is needed',code:'unauthorized'};
   token=t;sessionStorage.setItem('imr-token',t);continue;}
  return await r.json();}}
function el(tag,cls,text){const e=document.createElement(tag);if(cls)e.className=cls;
 if(text!==undefined)e.textContent=text;return e;}
async function show(file){
 const sec=el('section');const h=el('h2',null,file.name);sec.appendChild(h);
 const busy=el('p','busy','extracting\\u2026');sec.appendChild(busy);results.appendChild(sec);
 let out;try{out=await post(file);}catch(e){out={error:String(e),code:'network'};}
 busy.remove();
 if(out.error){sec.appendChild(el('p','err','error: '+out.error+' ('+out.code+')'));
  sec.dataset.done='error';return;}
 const bar=el('div','bar');const a=el('a',null,'download JSON');
 a.href=URL.createObjectURL(new Blob([JSON.stringify(out.record,null,2)+'\\n'],
  {type:'application/json'}));
 a.download=file.name.replace(/\\.[^.]*$/,'')+'.json';bar.appendChild(a);
 const r=out.record;bar.appendChild(el('span','stats',(r.items||[]).length+' items \\u00b7 '+
  r.evidence.length+' values with evidence \\u00b7 '+r.rejected.length+' rejected \\u00b7 '+
  r.warnings.length+' warnings'));
 sec.appendChild(bar);
 const warn=el('div','warnings');warn.innerHTML=out.warnings_html;sec.appendChild(warn);
 const pair=el('div','pair');pair.innerHTML=out.letter_html;
 const side=el('div','side');side.innerHTML=out.panel_html;pair.appendChild(side);
 sec.appendChild(pair);wire(sec);sec.dataset.done='ok';}
async function showAll(files){for(const f of files)await show(f);}
const input=document.getElementById('files');
input.addEventListener('change',()=>{showAll(Array.from(input.files));input.value='';});
const drop=document.getElementById('drop');
['dragenter','dragover'].forEach(n=>drop.addEventListener(n,e=>{e.preventDefault();
 drop.classList.add('over');}));
['dragleave','drop'].forEach(n=>drop.addEventListener(n,e=>{e.preventDefault();
 drop.classList.remove('over');}));
drop.addEventListener('drop',e=>showAll(Array.from(e.dataTransfer.files)));
document.body.dataset.ready='1';
"""


def html(settings: Settings) -> str:
    backends = ", ".join(settings.backends())
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>imr-extract</title><style>{highlight.CSS}{CSS}</style></head><body>"
            f"<header><h1>imr-extract {__version__}: IMR letters to verified records</h1>"
            f"{highlight.legend()}</header><main>"
            '<div id="drop"><p>Drop IMR letters here (.txt .md .html .pdf), or '
            '<input type="file" id="files" multiple accept=".txt,.text,.md,.markdown,.html,'
            '.htm,.pdf"></p>'
            f'<p class="stats">backend: {highlight.esc(settings.config.backend)} '
            f"(offered: {highlight.esc(backends)}) \u00b7 every value is highlighted where the "
            "letter says it; hover a value for its field \u00b7 API: "
            '<a href="docs">/docs</a></p></div>'
            f'<div id="results"></div></main><script>{highlight.JS}{JS}</script></body></html>')

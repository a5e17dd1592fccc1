"""The paper graph as one self-contained HTML page: an SVG force layout in plain JavaScript.

No CDN, no external script or style: the page must work on a closed network, inside the
HTTP service (``GET /graph/view``) and inside Open WebUI's sandboxed embed iframe (the
"Show paper graph" action). Clicking a paper shows its details and, where the face knows
one, a link that opens the paper itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

EDGE_COLOURS = {"cites": "#2563eb", "similar": "#9ca3af", "shares_author": "#16a34a"}
EDGE_LABELS = {"cites": "cites", "similar": "similar", "shares_author": "shares an author"}


def neighbourhood(graph: dict[str, Any], centre: Iterable[str], hops: int = 1) -> dict[str, Any]:
    """The part of ``graph`` within ``hops`` edges of the ``centre`` papers (both directions)."""
    keep = {pid for pid in centre}
    frontier = set(keep)
    for _ in range(max(hops, 0)):
        nxt: set[str] = set()
        for edge in graph.get("edges", []):
            if edge["source"] in frontier and edge["target"] not in keep:
                nxt.add(edge["target"])
            if edge["target"] in frontier and edge["source"] not in keep:
                nxt.add(edge["source"])
        keep |= nxt
        frontier = nxt
    nodes = [n for n in graph.get("nodes", []) if n["id"] in keep]
    present = {n["id"] for n in nodes}
    edges = [e for e in graph.get("edges", []) if e["source"] in present and e["target"] in present]
    return {"nodes": nodes, "edges": edges}


# Characters that could end a <script> element or open an HTML comment or entity inside it,
# written as JSON escapes; outside strings JSON never holds them, so the data reads back the same.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_PLACEHOLDER = re.compile(r"__(TITLE|LEGEND|HEIGHT|DATA)__")


def _script_json(data: Any) -> str:
    """JSON safe to place inside a <script> element: no ``</script>``, ``<!--`` or ``&`` survives."""
    text = json.dumps(data, ensure_ascii=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group()], text)


def render_graph_html(
    graph: dict[str, Any],
    title: str = "Paper graph",
    paper_url: Callable[[dict[str, Any]], str | None] | None = None,
    highlight: Iterable[str] = (),
    height: int = 560,
) -> str:
    """An interactive page for ``{"nodes": [...], "edges": [...]}`` as ``Library.graph_json`` returns.

    ``paper_url(node)`` gives the link that opens a paper (None: no link); ``highlight``
    marks papers to draw emphasised (e.g. the ones an answer cited). Nodes with ``ghost`` set
    (reading-list works, ``library_io.reading_list.with_ghosts``) are drawn hollow and link to
    their own ``url`` (DOI or arXiv page).
    """
    marked = set(highlight)
    nodes = []
    for n in graph.get("nodes", []):
        authors = n.get("authors") or []
        nodes.append({
            "id": n["id"],
            "title": n.get("title") or n["id"],
            "authors": ", ".join(authors[:4]) + (" et al." if len(authors) > 4 else ""),
            "year": n.get("year"),
            "url": n.get("url") if n.get("ghost") else (paper_url(n) if paper_url else None),
            "hl": n["id"] in marked,
            "ghost": bool(n.get("ghost")),  # a work the library's papers cite but it does not hold
        })
    edges = [
        {"s": e["source"], "t": e["target"], "k": e["kind"], "w": round(float(e.get("weight") or 1.0), 3)}
        for e in graph.get("edges", [])
    ]
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{escape(EDGE_LABELS[kind])}</span>'
        for kind, colour in EDGE_COLOURS.items()
    )
    values = {
        "TITLE": escape(title),
        "LEGEND": legend,
        "HEIGHT": str(int(height)),
        "DATA": _script_json({"nodes": nodes, "edges": edges, "colours": EDGE_COLOURS}),
    }
    # One pass: a value that holds a placeholder's name (a kb called "__DATA__") stays text.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _PAGE)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
 body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;background:#fff}
 header{display:flex;gap:16px;align-items:center;padding:8px 12px;border-bottom:1px solid #e5e7eb;flex-wrap:wrap}
 header h1{font-size:14px;margin:0;font-weight:600}
 .legend span{margin-right:12px;white-space:nowrap}.legend i{display:inline-block;width:18px;height:3px;margin:0 4px 3px 0;vertical-align:middle}
 #wrap{position:relative;height:__HEIGHT__px}
 svg{width:100%;height:100%;display:block;cursor:grab;touch-action:none}
 .node circle{stroke:#fff;stroke-width:1.5px;cursor:pointer}
 .node text{font-size:11px;fill:#374151;pointer-events:none}
 .node.hl circle{stroke:#f59e0b;stroke-width:3px}
 .node.ghost circle{fill:#fff;stroke:#9ca3af;stroke-width:1.5px;stroke-dasharray:3 2}.node.ghost text{fill:#9ca3af}
 .node.sel circle{stroke:#111827;stroke-width:3px}
 #panel{position:absolute;right:8px;top:8px;max-width:320px;background:#fffffff0;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px;display:none;box-shadow:0 2px 8px #0001}
 #panel h2{font-size:13px;margin:0 0 4px}#panel p{margin:2px 0;color:#4b5563}
 #panel a{display:inline-block;margin-top:6px;color:#2563eb}
 #empty{padding:24px;color:#6b7280}
 @media (prefers-color-scheme: dark){body{background:#111827;color:#e5e7eb}.node text{fill:#d1d5db}
  header{border-color:#374151}#panel{background:#1f2937f0;border-color:#374151}#panel p{color:#9ca3af}}
</style></head>
<body>
<header><h1>__TITLE__</h1><div class="legend">__LEGEND__</div><span id="count"></span></header>
<div id="wrap"><svg id="g" role="img" aria-label="paper graph"></svg><div id="panel"></div></div>
<script id="data" type="application/json">__DATA__</script>
<script>
(function(){
 var D=JSON.parse(document.getElementById('data').textContent);
 var svg=document.getElementById('g'),panel=document.getElementById('panel'),NS='http://www.w3.org/2000/svg';
 var ghosts=D.nodes.filter(function(n){return n.ghost;}).length;
 document.getElementById('count').textContent=(D.nodes.length-ghosts)+' papers, '+D.edges.length+' links'+(ghosts?', '+ghosts+' cited works not in the library (hollow)':'');
 if(!D.nodes.length){document.getElementById('wrap').innerHTML='<div id="empty">No papers yet.</div>';
  if(window.parent!==window)window.parent.postMessage({type:'iframe:height',height:document.documentElement.scrollHeight},'*');return;}
 var W=svg.clientWidth||800,H=svg.clientHeight||__HEIGHT__,byId={},deg={};
 D.nodes.forEach(function(n,i){var a=2*Math.PI*i/D.nodes.length,r=Math.min(W,H)/3;
  n.x=W/2+r*Math.cos(a);n.y=H/2+r*Math.sin(a);n.vx=0;n.vy=0;byId[n.id]=n;deg[n.id]=0;});
 D.edges=D.edges.filter(function(e){return byId[e.s]&&byId[e.t];});
 D.edges.forEach(function(e){deg[e.s]++;deg[e.t]++;});
 function el(t,a,p){var x=document.createElementNS(NS,t);for(var k in a)x.setAttribute(k,a[k]);if(p)p.appendChild(x);return x;}
 var defs=el('defs',{},svg);
 Object.keys(D.colours).forEach(function(k){var m=el('marker',{id:'arr-'+k,viewBox:'0 0 10 10',refX:'19',refY:'5',markerWidth:'7',markerHeight:'7',orient:'auto'},defs);
  el('path',{d:'M0,0L10,5L0,10z',fill:D.colours[k]},m);});
 var view=el('g',{},svg),le=el('g',{},view),ln=el('g',{},view);
 D.edges.forEach(function(e){e.el=el('line',{stroke:D.colours[e.k]||'#999','stroke-width':e.k==='cites'?1.8:1.1,
  'stroke-dasharray':e.k==='similar'?'4 3':'','marker-end':e.k==='cites'?'url(#arr-cites)':''},le);});
 D.nodes.forEach(function(n){var g=el('g',{'class':'node'+(n.hl?' hl':'')+(n.ghost?' ghost':''),tabindex:'0'},ln);
  el('circle',{r:String(6+Math.min(deg[n.id],8)),fill:n.hl?'#f59e0b':'#6366f1'},g);
  var t=el('text',{x:'12',y:'4'},g);t.textContent=(n.title.length>48?n.title.slice(0,46)+'…':n.title)+(n.year?' ('+n.year+')':'');
  el('title',{},g).textContent=n.title;n.el=g;
  g.addEventListener('click',function(ev){ev.stopPropagation();select(n);});
  g.addEventListener('dblclick',function(ev){ev.stopPropagation();if(n.url)window.open(n.url,'_blank','noopener');});
  g.addEventListener('keydown',function(ev){if(ev.key==='Enter')select(n);});
  g.addEventListener('pointerdown',function(ev){ev.stopPropagation();drag={n:n};g.setPointerCapture&&g.setPointerCapture(ev.pointerId);});
 });
 function txt(s){var d=document.createElement('div');d.textContent=s==null?'':String(s);return d.innerHTML;}
 function select(n){D.nodes.forEach(function(m){m.el.classList.toggle('sel',m===n);});
  var rel=D.edges.filter(function(e){return e.s===n.id||e.t===n.id;}).map(function(e){var o=byId[e.s===n.id?e.t:e.s];
   var verb=e.k==='cites'?(e.s===n.id?'cites':'cited by'):(e.k==='similar'?'similar to':'shares an author with');
   return '<p>'+txt(verb)+': '+txt(o.title)+'</p>';}).join('');
  panel.innerHTML='<h2>'+txt(n.title)+'</h2>'+(n.authors?'<p>'+txt(n.authors)+'</p>':'')+(n.year?'<p>'+txt(n.year)+'</p>':'')+rel+
   (n.ghost?'<p>Not in the library: cited by the papers above.</p>':'')+(n.url?'<a href="'+txt(n.url)+'" target="_blank" rel="noopener">'+(n.ghost?'Find it':'Open paper')+'</a>':'');
  panel.style.display='block';}
 svg.addEventListener('click',function(){panel.style.display='none';D.nodes.forEach(function(m){m.el.classList.remove('sel');});});
 // force layout: repulsion between all papers, springs along links, gravity to the centre
 var alpha=1,k=Math.sqrt(W*H/Math.max(D.nodes.length,1))*0.55;
 function tick(){for(var i=0;i<D.nodes.length;i++){var a=D.nodes[i];for(var j=i+1;j<D.nodes.length;j++){var b=D.nodes[j];
   var dx=a.x-b.x,dy=a.y-b.y,d2=dx*dx+dy*dy+0.01,f=k*k/d2*alpha;a.vx+=dx*f/10;a.vy+=dy*f/10;b.vx-=dx*f/10;b.vy-=dy*f/10;}}
  D.edges.forEach(function(e){var a=byId[e.s],b=byId[e.t],dx=b.x-a.x,dy=b.y-a.y,d=Math.sqrt(dx*dx+dy*dy)+0.01,
   f=(d-k)/d*0.06*alpha*(e.k==='cites'?1:0.6);a.vx+=dx*f;a.vy+=dy*f;b.vx-=dx*f;b.vy-=dy*f;});
  D.nodes.forEach(function(n){if(drag&&drag.n===n)return;n.vx+=(W/2-n.x)*0.004*alpha;n.vy+=(H/2-n.y)*0.004*alpha;
   n.vx*=0.6;n.vy*=0.6;n.x+=Math.max(-20,Math.min(20,n.vx));n.y+=Math.max(-20,Math.min(20,n.vy));});}
 function draw(){D.edges.forEach(function(e){var a=byId[e.s],b=byId[e.t];e.el.setAttribute('x1',a.x);e.el.setAttribute('y1',a.y);
   e.el.setAttribute('x2',b.x);e.el.setAttribute('y2',b.y);});
  D.nodes.forEach(function(n){n.el.setAttribute('transform','translate('+n.x.toFixed(1)+','+n.y.toFixed(1)+')');});}
 for(var s=0;s<200;s++){tick();alpha*=0.985;}
 draw();
 // inside Open WebUI's sandboxed embed iframe: tell the chat how tall the page is
 function tellHeight(){if(window.parent!==window)window.parent.postMessage({type:'iframe:height',height:document.documentElement.scrollHeight},'*');}
 tellHeight();window.addEventListener('load',tellHeight);window.addEventListener('resize',tellHeight);
 setTimeout(tellHeight,300);setTimeout(tellHeight,1500);
 function loop(){if(alpha>0.02){tick();alpha*=0.97;draw();requestAnimationFrame(loop);}}
 // pan, zoom and drag
 var tx=0,ty=0,sc=1,drag=null,pan=null;
 function apply(){view.setAttribute('transform','translate('+tx+','+ty+') scale('+sc+')');}
 function pt(ev){var r=svg.getBoundingClientRect();return {x:(ev.clientX-r.left-tx)/sc,y:(ev.clientY-r.top-ty)/sc};}
 svg.addEventListener('pointerdown',function(ev){pan={x:ev.clientX-tx,y:ev.clientY-ty};});
 window.addEventListener('pointermove',function(ev){if(drag){var p=pt(ev);drag.n.x=p.x;drag.n.y=p.y;if(alpha<0.3){alpha=0.3;loop();}draw();}
  else if(pan){tx=ev.clientX-pan.x;ty=ev.clientY-pan.y;apply();}});
 window.addEventListener('pointerup',function(){drag=null;pan=null;});
 svg.addEventListener('wheel',function(ev){ev.preventDefault();var r=svg.getBoundingClientRect(),mx=ev.clientX-r.left,my=ev.clientY-r.top,
  f=ev.deltaY<0?1.15:1/1.15;tx=mx-(mx-tx)*f;ty=my-(my-ty)*f;sc*=f;apply();},{passive:false});
})();
</script>
</body></html>
"""

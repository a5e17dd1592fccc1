"""The paper graph as one self-contained HTML page: an SVG force layout in plain JavaScript.

No CDN, no external script or style: the page must work on a closed network, inside the
HTTP service (``GET /graph/view``) and inside Open WebUI's sandboxed embed iframe (the
"Show paper graph" action; the part around some papers comes from ``Library.graph_json(around=...)``,
the graph's own walk). Clicking a paper shows its details and, where the face knows
one, a link that opens the paper itself.

The drawing fits its frame: the SVG's viewBox is set to the laid-out papers and their labels,
so it scales with the window or iframe and nothing sits off-canvas. A small library's graph is
dense (5 papers, 18 links), so each relation can be switched off, a search box picks papers out
by title or author, a paper's size says how often the library's papers cite it, its colour
which knowledge base holds it, and a 'similar' link is drawn as strong as its similarity.
The HTML around the data is the same for every graph: data goes in one JSON block and
reaches the page only through ``textContent``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from scholargraph.scope_names import ScopeKind, ScopeName

EDGE_COLOURS = {"cites": "#2563eb", "similar": "#9ca3af", "shares_author": "#16a34a"}
EDGE_LABELS = {"cites": "cites", "similar": "similar", "shares_author": "shares an author"}


def _default_name(scope: str) -> str:
    """A knowledge base's id, any other scope as it is written."""
    name = ScopeName.parse(scope)
    return name.id if name.kind is ScopeKind.KB else scope


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
    scope_names: dict[str, str] | None = None,
) -> str:
    """An interactive page for ``{"nodes": [...], "edges": [...]}`` as ``Library.graph_json`` returns.

    ``paper_url(node)`` gives the link that opens a paper (None: no link); ``highlight``
    marks papers to draw emphasised (e.g. the ones an answer cited). Nodes with ``ghost`` set
    (reading-list works, ``library_io.reading_list.with_ghosts``) are drawn hollow and link to
    their own ``url`` (DOI or arXiv page). ``height``: the least height of the drawing in pixels
    (it grows with the window); ``scope_names`` names knowledge bases in the colour legend
    (default: the scope without its ``kb:`` prefix).
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
            "kb": (n.get("scopes") or [None])[0],  # colour: the first knowledge base that holds it
        })
    edges = [
        {"s": e["source"], "t": e["target"], "k": e["kind"], "w": round(float(e.get("weight") or 1.0), 3)}
        for e in graph.get("edges", [])
    ]
    scopes = {node["kb"] for node in nodes if node["kb"]}
    names = {scope: (scope_names or {}).get(scope) or _default_name(scope) for scope in sorted(scopes)}
    legend = "".join(
        f'<label><input type="checkbox" data-kind="{kind}" checked><i style="background:{colour}"></i>'
        f"{escape(EDGE_LABELS[kind])}</label>"
        for kind, colour in EDGE_COLOURS.items()
    )
    values = {
        "TITLE": escape(title),
        "LEGEND": legend,
        "HEIGHT": str(max(int(height), 200)),
        "DATA": _script_json({"nodes": nodes, "edges": edges, "colours": EDGE_COLOURS, "kbs": names}),
    }
    # One pass: a value that holds a placeholder's name (a kb called "__DATA__") stays text.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _PAGE)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
 html,body{height:100%}
 body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;background:#fff;display:flex;flex-direction:column}
 header{display:flex;gap:6px 14px;align-items:center;padding:6px 10px;border-bottom:1px solid #e5e7eb;flex-wrap:wrap}
 header h1{font-size:14px;margin:0;font-weight:600;flex-basis:100%;overflow-wrap:anywhere}
 .legend label{margin-right:10px;white-space:nowrap;cursor:pointer}.legend input{margin:0 3px 0 0;vertical-align:middle}
 .legend i,#kbs i{display:inline-block;width:16px;height:3px;margin:0 4px 3px 0;vertical-align:middle}
 #kbs i{width:9px;height:9px;border-radius:50%;margin-bottom:1px}#kbs span{margin-right:10px;white-space:nowrap}
 #q{font:inherit;padding:2px 6px;border:1px solid #d1d5db;border-radius:6px;width:12em;max-width:40vw}
 #count,#hits{color:#6b7280}
 #wrap{position:relative;flex:1;min-height:__HEIGHT__px;overflow:hidden}
 svg{position:absolute;inset:0;width:100%;height:100%;display:block;cursor:grab;touch-action:none}
 .node circle{stroke:#fff;stroke-width:1.5px;cursor:pointer}
 .node text{font-size:11px;fill:#374151;pointer-events:none;paint-order:stroke;stroke:#fff;stroke-width:3px}
 .node.hl circle{stroke:#f59e0b;stroke-width:3.5px}
 .node.ghost circle{fill:#fff;stroke:#9ca3af;stroke-width:1.5px;stroke-dasharray:3 2}.node.ghost text{fill:#9ca3af}
 .node.match circle{stroke:#dc2626;stroke-width:3.5px}.node.match text{font-weight:700;fill:#111827}
 .node.dim{opacity:.25}line.dim{opacity:.08}
 .node.sel circle{stroke:#111827;stroke-width:3px}
 #panel{position:absolute;right:8px;top:8px;width:320px;max-width:calc(100% - 16px);max-height:calc(100% - 16px);box-sizing:border-box;overflow:auto;overflow-wrap:anywhere;
  background:#fffffff2;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px;display:none;box-shadow:0 2px 8px #0001}
 #panel h2{font-size:13px;margin:0 0 4px;padding-right:16px}#panel p{margin:2px 0;color:#4b5563}
 #panel a{display:inline-block;margin-top:6px;color:#2563eb}
 #close{position:absolute;right:6px;top:2px;border:0;background:none;font-size:16px;cursor:pointer;color:inherit}
 #fit{font:inherit;padding:1px 8px;border:1px solid #d1d5db;border-radius:6px;background:none;color:inherit;cursor:pointer}
 #empty{padding:24px;color:#6b7280}
 @media (prefers-color-scheme: dark){body{background:#111827;color:#e5e7eb}.node text{fill:#d1d5db;stroke:#111827}
  header{border-color:#374151}#panel{background:#1f2937f2;border-color:#374151}#panel p{color:#9ca3af}
  #q{background:#1f2937;color:#e5e7eb;border-color:#374151}.node.match text{fill:#fff}}
</style></head>
<body>
<header><h1>__TITLE__</h1><div class="legend">__LEGEND__</div><div id="kbs"></div>
<input id="q" type="search" placeholder="Search titles" aria-label="Search titles"><span id="hits"></span>
<button id="fit" type="button" title="Fit the graph to the frame">Fit</button><span id="count"></span></header>
<div id="wrap"><svg id="g" role="img" aria-label="paper graph" preserveAspectRatio="xMidYMid meet"></svg>
<div id="panel" role="dialog"><button id="close" type="button" aria-label="Close">×</button><div id="detail"></div></div></div>
<script id="data" type="application/json">__DATA__</script>
<script>
(function(){
 var D=JSON.parse(document.getElementById('data').textContent);
 var svg=document.getElementById('g'),panel=document.getElementById('panel'),detail=document.getElementById('detail'),NS='http://www.w3.org/2000/svg';
 var PALETTE=['#6366f1','#0891b2','#db2777','#65a30d','#ea580c','#7c3aed','#0d9488','#ca8a04'];
 function plural(n,one,many){return n+' '+(n===1?one:(many||one+'s'));}
 function tellHeight(){if(window.parent!==window)window.parent.postMessage({type:'iframe:height',height:document.documentElement.scrollHeight},'*');}
 if(!D.nodes.length){document.getElementById('wrap').innerHTML='<div id="empty">No papers yet.</div>';
  document.getElementById('count').textContent='0 papers';tellHeight();return;}
 // laid out in the frame's own pixels (labels at their real size), then fitted by the viewBox
 var W=Math.max(svg.clientWidth||800,280),H=Math.max(svg.clientHeight||__HEIGHT__,200),byId={},deg={},cited={},hidden={};
 D.nodes.forEach(function(n,i){var a=2*Math.PI*i/D.nodes.length,r=Math.min(W,H)/3;
  n.x=W/2+r*Math.cos(a);n.y=H/2+r*Math.sin(a);n.vx=0;n.vy=0;byId[n.id]=n;deg[n.id]=0;cited[n.id]=0;
  n.label=(n.title.length>42?n.title.slice(0,40)+'…':n.title)+(n.year?' ('+n.year+')':'');});
 D.edges=D.edges.filter(function(e){return byId[e.s]&&byId[e.t];});
 D.edges.forEach(function(e){deg[e.s]++;deg[e.t]++;if(e.k==='cites'&&!byId[e.s].ghost)cited[e.t]++;});
 // knowledge bases: one colour each, a legend when there are several
 var kbs=Object.keys(D.kbs||{});
 function colour(n){var i=kbs.indexOf(n.kb);return i<0?PALETTE[0]:PALETTE[i%PALETTE.length];}
 if(kbs.length>1)kbs.forEach(function(s){var span=document.createElement('span'),dot=document.createElement('i');
  dot.style.background=colour({kb:s});span.appendChild(dot);span.appendChild(document.createTextNode(D.kbs[s]));
  document.getElementById('kbs').appendChild(span);});
 // 'similar' links as strong as they are: opacity and width by weight, relative to the others drawn
 var sims=D.edges.filter(function(e){return e.k==='similar';}).map(function(e){return e.w;});
 var lo=Math.min.apply(null,sims.concat([1])),hi=Math.max.apply(null,sims.concat([0]));
 function strength(e){if(e.k!=='similar')return 1;return hi>lo?0.2+0.8*(e.w-lo)/(hi-lo):0.6;}
 function el(t,a,p){var x=document.createElementNS(NS,t);for(var k in a)x.setAttribute(k,a[k]);if(p)p.appendChild(x);return x;}
 var defs=el('defs',{},svg);
 Object.keys(D.colours).forEach(function(k){var m=el('marker',{id:'arr-'+k,viewBox:'0 0 10 10',refX:'10',refY:'5',markerWidth:'7',markerHeight:'7',orient:'auto'},defs);
  el('path',{d:'M0,0L10,5L0,10z',fill:D.colours[k]},m);});
 var view=el('g',{},svg),le=el('g',{},view),ln=el('g',{},view);
 D.edges.forEach(function(e){var s=strength(e);e.el=el('line',{stroke:D.colours[e.k]||'#999',
  'stroke-width':e.k==='cites'?1.6:(e.k==='similar'?(0.6+2*s).toFixed(2):1.2),'stroke-opacity':e.k==='similar'?s.toFixed(2):0.85,
  'stroke-dasharray':e.k==='similar'?'4 3':'','marker-end':e.k==='cites'?'url(#arr-cites)':''},le);});
 D.nodes.forEach(function(n){var g=el('g',{'class':'node'+(n.hl?' hl':'')+(n.ghost?' ghost':''),tabindex:'0'},ln);
  n.r=n.ghost?5:5+Math.min(3*Math.sqrt(cited[n.id]),13);
  el('circle',{r:n.r.toFixed(1),fill:colour(n)},g);
  var t=el('text',{x:(n.r+3).toFixed(1),y:'4'},g);t.textContent=n.label;
  el('title',{},g).textContent=n.title+(cited[n.id]?' — cited by '+plural(cited[n.id],'paper')+' in the library':'');n.el=g;
  g.addEventListener('click',function(ev){ev.stopPropagation();select(n);});
  g.addEventListener('dblclick',function(ev){ev.stopPropagation();if(n.url)window.open(n.url,'_blank','noopener');});
  g.addEventListener('keydown',function(ev){if(ev.key==='Enter')select(n);});
  g.addEventListener('pointerdown',function(ev){ev.stopPropagation();drag={n:n};g.setPointerCapture&&g.setPointerCapture(ev.pointerId);});
 });
 function txt(s){var d=document.createElement('div');d.textContent=s==null?'':String(s);return d.innerHTML;}
 function select(n){D.nodes.forEach(function(m){m.el.classList.toggle('sel',m===n);});
  var rel=D.edges.filter(function(e){return !hidden[e.k]&&(e.s===n.id||e.t===n.id);}).map(function(e){var o=byId[e.s===n.id?e.t:e.s];
   var verb=e.k==='cites'?(e.s===n.id?'cites':'cited by'):(e.k==='similar'?'similar to':'shares an author with');
   return '<p>'+txt(verb)+': '+txt(o.title)+'</p>';}).join('');
  var kb=n.kb&&kbs.length>1?'<p>'+txt(D.kbs[n.kb])+'</p>':'';
  var c=cited[n.id]?'<p>Cited by '+txt(plural(cited[n.id],'paper'))+' in the library</p>':'';
  detail.innerHTML='<h2>'+txt(n.title)+'</h2>'+(n.authors?'<p>'+txt(n.authors)+'</p>':'')+(n.year?'<p>'+txt(n.year)+'</p>':'')+kb+c+rel+
   (n.ghost?'<p>Not in the library: cited by the papers above.</p>':'')+(n.url?'<a href="'+txt(n.url)+'" target="_blank" rel="noopener">'+(n.ghost?'Find it':'Open paper')+'</a>':'');
  panel.style.display='block';}
 function unselect(){panel.style.display='none';D.nodes.forEach(function(m){m.el.classList.remove('sel');});}
 document.getElementById('close').addEventListener('click',unselect);
 svg.addEventListener('click',unselect);
 // relation toggles and the count of what is shown
 function counts(){var shown=D.edges.filter(function(e){return !hidden[e.k];}).length,ghosts=D.nodes.filter(function(n){return n.ghost;}).length;
  document.getElementById('count').textContent=plural(D.nodes.length-ghosts,'paper')+', '+plural(shown,'link')+
   (shown<D.edges.length?' (of '+D.edges.length+')':'')+(ghosts?', '+plural(ghosts,'cited work')+' not in the library (hollow)':'');}
 Array.prototype.forEach.call(document.querySelectorAll('.legend input'),function(box){
  var kind=box.getAttribute('data-kind'),n=D.edges.filter(function(e){return e.k===kind;}).length;
  box.parentNode.title=plural(n,'link');
  box.addEventListener('change',function(){hidden[kind]=!box.checked;
   D.edges.forEach(function(e){if(e.k===kind)e.el.style.display=box.checked?'':'none';});counts();});});
 counts();
 // search: matching titles or authors stand out, the rest fade
 var q=document.getElementById('q'),hits=document.getElementById('hits');
 function search(){var s=q.value.trim().toLowerCase(),found=[];
  D.nodes.forEach(function(n){var m=!!s&&(n.title.toLowerCase().indexOf(s)>=0||(n.authors||'').toLowerCase().indexOf(s)>=0);
   if(m)found.push(n);n.el.classList.toggle('match',m);n.el.classList.toggle('dim',!!s&&!m);});
  D.edges.forEach(function(e){e.el.classList.toggle('dim',!!s&&!(byId[e.s].el.classList.contains('match')||byId[e.t].el.classList.contains('match')));});
  hits.textContent=s?plural(found.length,'match','matches'):'';return found;}
 q.addEventListener('input',search);
 q.addEventListener('keydown',function(ev){if(ev.key==='Enter'){var f=search();if(f.length)select(f[0]);}});
 // force layout: repulsion between all papers, springs along links, gravity to the centre
 var alpha=1,k=Math.sqrt(W*H/Math.max(D.nodes.length,1))*0.55,drag=null,pan=null;
 function tick(){for(var i=0;i<D.nodes.length;i++){var a=D.nodes[i];for(var j=i+1;j<D.nodes.length;j++){var b=D.nodes[j];
   var dx=a.x-b.x,dy=a.y-b.y,d2=dx*dx+dy*dy+0.01,f=k*k/d2*alpha;a.vx+=dx*f/10;a.vy+=dy*f/10;b.vx-=dx*f/10;b.vy-=dy*f/10;}}
  D.edges.forEach(function(e){var a=byId[e.s],b=byId[e.t],dx=b.x-a.x,dy=b.y-a.y,d=Math.sqrt(dx*dx+dy*dy)+0.01,
   f=(d-k)/d*0.06*alpha*(e.k==='cites'?1:0.6*strength(e));a.vx+=dx*f;a.vy+=dy*f;b.vx-=dx*f;b.vy-=dy*f;});
  D.nodes.forEach(function(n){if(drag&&drag.n===n)return;n.vx+=(W/2-n.x)*0.01*alpha;n.vy+=(H/2-n.y)*0.01*alpha;
   n.vx*=0.6;n.vy*=0.6;n.x+=Math.max(-20,Math.min(20,n.vx));n.y+=Math.max(-20,Math.min(20,n.vy));
   // a paper and its label stay inside the frame (a loosely linked one is not flung away)
   n.x=Math.max(n.r+4,Math.min(Math.max(n.r+4,W-n.r-8-6*n.label.length),n.x));n.y=Math.max(n.r+10,Math.min(H-n.r-4,n.y));});}
 function draw(){D.edges.forEach(function(e){var a=byId[e.s],b=byId[e.t],dx=b.x-a.x,dy=b.y-a.y,d=Math.sqrt(dx*dx+dy*dy)||1,
   back=e.k==='cites'?b.r+2:0;e.el.setAttribute('x1',a.x);e.el.setAttribute('y1',a.y);
   e.el.setAttribute('x2',(b.x-dx/d*back).toFixed(1));e.el.setAttribute('y2',(b.y-dy/d*back).toFixed(1));});
  D.nodes.forEach(function(n){n.el.setAttribute('transform','translate('+n.x.toFixed(1)+','+n.y.toFixed(1)+')');});}
 for(var s=0;s<200;s++){tick();alpha*=0.985;}
 draw();
 // the viewBox holds every paper and its label: the drawing scales with its frame and window
 var vb={x:0,y:0,w:W,h:H};
 function apply(){svg.setAttribute('viewBox',[vb.x,vb.y,vb.w,vb.h].map(function(v){return v.toFixed(1);}).join(' '));}
 function fit(){var b;try{b=ln.getBBox();}catch(err){b=null;}
  if(!b||!b.width){b={x:0,y:0,width:W,height:H};}
  var pad=16;vb={x:b.x-pad,y:b.y-pad,w:b.width+2*pad,h:b.height+2*pad};apply();}
 fit();
 document.getElementById('fit').addEventListener('click',fit);
 tellHeight();window.addEventListener('load',tellHeight);window.addEventListener('resize',tellHeight);
 setTimeout(tellHeight,300);setTimeout(tellHeight,1500);
 function loop(){if(alpha>0.02){tick();alpha*=0.97;draw();requestAnimationFrame(loop);}}
 // pan, zoom and drag in the drawing's own units
 function pt(ev){var m=svg.getScreenCTM();if(!m)return {x:0,y:0};var p=svg.createSVGPoint();p.x=ev.clientX;p.y=ev.clientY;return p.matrixTransform(m.inverse());}
 svg.addEventListener('pointerdown',function(ev){pan={p:pt(ev)};});
 window.addEventListener('pointermove',function(ev){if(drag){var p=pt(ev);drag.n.x=p.x;drag.n.y=p.y;if(alpha<0.3){alpha=0.3;loop();}draw();}
  else if(pan){var p=pt(ev);vb.x-=p.x-pan.p.x;vb.y-=p.y-pan.p.y;apply();}});
 window.addEventListener('pointerup',function(){drag=null;pan=null;});
 svg.addEventListener('wheel',function(ev){ev.preventDefault();var p=pt(ev),f=ev.deltaY<0?1/1.15:1.15;
  vb.x=p.x-(p.x-vb.x)*f;vb.y=p.y-(p.y-vb.y)*f;vb.w*=f;vb.h*=f;apply();},{passive:false});
})();
</script>
</body></html>
"""

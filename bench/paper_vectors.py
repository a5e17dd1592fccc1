"""Which paper vector ranks a paper's related papers best, for 'similar' edges?

Related = a citation between the two papers (the library's own judgement). For each candidate
vector (mean of the chunk vectors, the whole paper embedded in one pass, title + abstract, and
the vector ingest stored): AUC of cited pairs against the others, and the mean rank of each cited
paper among the citing paper's nearest. Prints JSON.

    .venv/bin/python bench/paper_vectors.py DATA_DIR SCOPE   # a library made by `scholargraph ingest`
"""
import json, itertools, sys
import numpy as np
from scholargraph.library import Library
from scholargraph.settings import Settings
lib = Library(Settings(data_dir=sys.argv[1]))
scope = [sys.argv[2]]
papers = lib.papers(scope)
ids = [p["id"] for p in papers]
key = lib.store.key
mats = lib.graph.chunk_matrices(ids, key)
cites = {(e["source"], e["target"]) for e in lib.graph_json(scope)["edges"] if e["kind"] == "cites"}
def unit(v): return v / np.linalg.norm(v)
texts = {}
for pid in ids:
    got = lib.store.paper_chunks(pid)
    texts[pid] = "\n\n".join(got["documents"])
vecs = {"mean of chunks": {pid: unit(mats[pid].mean(0)) for pid in ids}}
emb = lib.embedder
vecs["whole paper (one pass)"] = dict(zip(ids, [unit(v) for v in emb.embed_documents([texts[p] for p in ids])]))
ta = []
for p in papers:
    full = lib.graph.get_paper(p["id"]) or {}
    ta.append(((full.get("title") or "") + "\n\n" + (full.get("abstract") or "")).strip() or texts[p["id"]][:2000])
vecs["title + abstract"] = dict(zip(ids, [unit(v) for v in emb.embed_documents(ta)]))
kept, m = lib.graph.paper_matrix(ids, key); vecs["stored paper vector"] = {pid: unit(v) for pid, v in zip(kept, m)}
related = {frozenset(c) for c in cites}
out = {}
for name, V in vecs.items():
    pos, neg = [], []
    for a, b in itertools.combinations(ids, 2):
        (pos if frozenset((a, b)) in related else neg).append(float(V[a] @ V[b]))
    auc = np.mean([[1.0 if p > n else 0.5 if p == n else 0.0 for n in neg] for p in pos])
    ranks = []
    for a, b in cites:
        order = sorted((x for x in ids if x != a), key=lambda x: -float(V[a] @ V[x]))
        ranks.append(order.index(b) + 1)
    out[name] = {"auc_cited_vs_not": round(float(auc), 3), "mean_rank_of_cited": round(float(np.mean(ranks)), 2),
                 "cited_pairs": len(pos), "other_pairs": len(neg), "abstracts": sum(bool((lib.graph.get_paper(p) or {}).get("abstract")) for p in ids)}
print(json.dumps(out, indent=1))

#!/usr/bin/env python3
"""Import cycles between the files of each crate (issue 18: "no import cycle between files").

Usage: tools/import_cycles.py crates/*/src src   (exit 1 and one line per cycle if any)

A file-level graph is built from the `crate::` and `super::` paths each file names (outside its
`#[cfg(test)] mod tests`), resolving names the crate root re-exports (`pub use x::{A, B}`) to the
module that defines them. A directory module (foo.rs or foo/mod.rs with foo/*.rs) and its children
count as one node at the level above; inside a directory, cycles between sibling children are
reported separately. Text-based, so deliberately simple: it reads paths, not types."""
import os, re, sys, itertools
def files(src):
    out={}
    for d,_,fs in os.walk(src):
        for f in fs:
            if not f.endswith('.rs'): continue
            p=os.path.join(d,f); rel=os.path.relpath(p,src)[:-3].split(os.sep)
            if rel[-1] in ('mod',): rel=rel[:-1]
            if rel in (['lib'],['main']): rel=[]
            if rel and rel[-1]=='tests': continue
            out[tuple(rel)]=p
    return out
def refs(text, me):
    text=re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*', '', text, flags=re.S)
    text=re.sub(r'//[^\n]*','',text)
    out=set()
    for m in re.finditer(r'\bcrate((?:::\w+)+)', text):
        out.add(tuple(m.group(1).split('::')[1:]))
    for m in re.finditer(r'\bsuper((?:::\w+)+)', text):
        base=me[:-1]; out.add(tuple(base)+tuple(m.group(1).split('::')[1:]))
    # grouped use crate::{a, b::c}
    for m in re.finditer(r'\buse crate::\{([^;]*)\};', text, flags=re.S):
        for part in re.split(r',\s*(?![^{]*\})', m.group(1)):
            part=part.strip()
            if part: out.add(tuple(re.split(r'::',part.split('{')[0].strip(': '))))
    return out
REEXPORT={}
def load_reexports(src, mods):
    REEXPORT.clear()
    for root in ('lib.rs','main.rs'):
        p=os.path.join(src,root)
        if not os.path.exists(p): continue
        t=open(p).read()
        for m in re.finditer(r'pub use (\w+)::(?:\{([^}]*)\}|(\w+))', t, flags=re.S):
            names=(m.group(2) or m.group(3) or '').replace('\n',' ')
            for n in names.split(','):
                n=n.strip().split(' as ')[-1].strip()
                if n: REEXPORT[n]=(m.group(1),)
def resolve(path, mods):
    if path and path[0] in REEXPORT: path=list(REEXPORT[path[0]])+list(path[1:])
    for i in range(len(path),0,-1):
        if tuple(path[:i]) in mods: return tuple(path[:i])
    return ()
def sccs(nodes, edges):
    idx={};low={};st=[];on=set();res=[];c=[0]
    def sc(v):
        idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
        for w in edges.get(v,()):
            if w not in idx: sc(w); low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            comp=[]
            while True:
                w=st.pop();on.discard(w);comp.append(w)
                if w==v:break
            if len(comp)>1: res.append(comp)
    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in idx: sc(v)
    return res
bad=0
for src in sys.argv[1:]:
    mods=files(src)
    load_reexports(src, mods)
    for level_parent in set(k[:-1] for k in mods if k):
        kids=[k for k in mods if len(k)==len(level_parent)+1 and k[:-1]==level_parent]
        edges={}
        for k,p in mods.items():
            if k[:len(level_parent)]!=level_parent or len(k)<=len(level_parent): continue
            src_node=k[:len(level_parent)+1]
            for r in refs(open(p).read(), k):
                t=resolve(list(r),mods)
                if len(t)>len(level_parent) and t[:len(level_parent)]==level_parent:
                    dst=t[:len(level_parent)+1]
                    if dst!=src_node: edges.setdefault(src_node,set()).add(dst)
        for comp in sccs(kids, edges):
            bad+=1; print(src, 'cycle:', ' <-> '.join('/'.join(c) for c in comp))
print('import cycles:', bad)
sys.exit(1 if bad else 0)

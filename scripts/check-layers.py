#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

Each crate's `src/` is read as a graph: a node per file (its module, with any inline
`mod x { .. }` folded in), an edge for every path that names another module of the same
crate: `crate::a::b`, `super::x`, `self::x`, or a child module by its bare name. A `mod`
declaration is not an edge, so a parent may declare its children and re-export them, but a
child that reaches back into its parent (or into the crate root's re-exports) closes a
circle: import from the module that defines the item instead.

    python3 scripts/check-layers.py            # every crate of the workspace
    python3 scripts/check-layers.py dagger-sched --edges   # also print each module's edges
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<lc>//[^\n]*)
      | (?P<bc>/\*)
      | (?P<rstr>b?r(?P<h>\#*)")
      | (?P<str>b?"(?:\\.|[^"\\])*")
      | (?P<chr>b?'(?:\\.|[^'\\])'(?!'))
      | (?P<life>'[A-Za-z_][A-Za-z0-9_]*)
      | (?P<dcolon>::)
      | (?P<ident>\$?[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>.)""",
    re.X | re.S,
)


def tokens(text):
    """Rust tokens without comments, strings and lifetimes (enough to read paths)."""
    i, out = 0, []
    while i < len(text):
        m = TOKEN.match(text, i)
        kind = m.lastgroup if m.lastgroup != "h" else "rstr"
        if m.group("bc"):
            depth, j = 1, m.end()
            while depth and j < len(text):
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
            continue
        if m.group("rstr"):
            end = text.find('"' + m.group("h"), m.end())
            i = len(text) if end < 0 else end + 1 + len(m.group("h"))
            continue
        i = m.end()
        if m.group("ident"):
            out.append(("id", m.group("ident")))
        elif m.group("dcolon"):
            out.append(("::", "::"))
        elif m.group("punct"):
            out.append(("p", m.group("punct")))
    return out


def file_modules(src):
    """Maps each module path (tuple) to the file that holds it."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel in (["lib"], ["main"]):
                mod = ()
            elif rel[-1] == "mod":
                mod = tuple(rel[:-1])
            else:
                mod = tuple(rel)
            if rel[0] == "bin":
                continue
            mods[mod] = path
    return mods


def use_paths(toks, i):
    """Expands the use tree starting at toks[i]; returns (paths, index after `;`)."""
    paths = []

    def tree(i, prefix):
        cur = list(prefix)
        while i < len(toks):
            kind, val = toks[i]
            if kind == "id":
                if val == "as":
                    i += 2
                    continue
                cur.append(val)
                i += 1
            elif kind == "::":
                i += 1
            elif val == "{":
                i += 1
                while toks[i][1] != "}":
                    i = tree(i, cur)
                    if toks[i][1] == ",":
                        i += 1
                i += 1
                return i
            elif val == "*":
                paths.append(cur)
                i += 1
            else:
                break
        if cur and cur != list(prefix):
            paths.append(cur)
        return i

    i = tree(i, [])
    return paths, i


def resolve(path, here, mods):
    """The file-module a path names (longest known prefix), or None."""
    if not path:
        return None
    head = path[0]
    if head == "crate":
        base, rest = (), path[1:]
    elif head in ("super", "self"):
        base, rest = here, path
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    elif here + (head,) in mods:
        base, rest = here, path
    else:
        return None
    full = tuple(base) + tuple(rest)
    for n in range(len(full), -1, -1):
        if full[:n] in mods:
            return full[:n]
    return None


def edges_of(mod, path, mods, inline):
    toks = tokens(open(path, encoding="utf-8").read())
    out = set()
    stack = []  # (module path, brace depth at which it closes)
    depth = 0
    cur = mod
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        if val == "{":
            depth += 1
        elif val == "}":
            depth -= 1
            if stack and stack[-1][1] == depth:
                stack.pop()
                cur = stack[-1][0] if stack else mod
        if kind == "id" and val == "mod" and i + 2 < len(toks) and toks[i + 2][1] == "{":
            cur = cur + (toks[i + 1][1],)
            inline.add(cur)
            stack.append((cur, depth))
            i += 3
            depth += 1
            continue
        if kind == "id" and val == "use" and (i == 0 or toks[i - 1][1] != "$crate"):
            paths, i = use_paths(toks, i + 1)
            for p in paths:
                t = resolve(p, cur, mods)
                if t is not None:
                    out.add(t)
            continue
        if kind == "id" and i + 1 < len(toks) and toks[i + 1][0] == "::" and (
            i == 0 or toks[i - 1][0] != "::"
        ):
            p = [val]
            j = i + 1
            while j + 1 < len(toks) and toks[j][0] == "::" and toks[j + 1][0] == "id":
                p.append(toks[j + 1][1])
                j += 2
            t = resolve(p, cur, mods)
            if t is not None:
                out.add(t)
            i = j
            continue
        i += 1
    out.discard(mod)
    return out


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, on, st, comps, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        st.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def name(mod):
    return "::".join(mod) or "crate"


def crates(args):
    if args:
        return args
    out = []
    for d in sorted(os.listdir(ROOT)):
        if os.path.isfile(os.path.join(ROOT, d, "Cargo.toml")) and os.path.isdir(
            os.path.join(ROOT, d, "src")
        ):
            out.append(d)
    ex = os.path.join(ROOT, "examples")
    for d in sorted(os.listdir(ex)) if os.path.isdir(ex) else []:
        if os.path.isdir(os.path.join(ex, d, "src")):
            out.append(os.path.join("examples", d))
    return out


def main():
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = "--edges" in sys.argv
    bad = 0
    for crate in crates(argv):
        src = os.path.join(ROOT, crate, "src")
        mods = file_modules(src)
        inline = set()
        graph = {m: edges_of(m, p, mods, inline) for m, p in mods.items()}
        if show:
            for m in sorted(graph):
                print(f"{crate}: {name(m)} -> {', '.join(sorted(map(name, graph[m])))}")
        for comp in cycles(graph):
            bad += 1
            print(f"{crate}: import circle among {len(comp)} modules:")
            for m in comp:
                inside = sorted(name(t) for t in graph[m] if t in comp)
                print(f"    {name(m)} ({os.path.relpath(mods[m], ROOT)}) -> {', '.join(inside)}")
    if bad:
        print(f"{bad} import circle(s); a lower module must not import a higher one")
        sys.exit(1)
    print(f"no import circles in {len(crates(argv))} crates")


if __name__ == "__main__":
    main()

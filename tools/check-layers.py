#!/usr/bin/env python3
"""The house's layers point one way: no two source files of src/ import each other, directly or
through others (a `crate::` or `super::` path names the file it reaches; a folder's mod.rs
declaring its children is not an import). Prints each circle found and exits 1; else says so."""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    out = {}
    for d, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(d, f)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                if parts[-1] == "mod":
                    parts = parts[:-1]
                if parts == ["main"]:
                    parts = []
                out["::".join(parts)] = path
    return out


def code(path):
    text = open(path, encoding="utf-8").read()
    # Unit tests may reach anything.
    cut = text.find("#[cfg(test)]\nmod tests")
    return text if cut < 0 else text[:cut]


def graph(mods):
    def file_of(path):
        parts = path.split("::")
        while parts:
            key = "::".join(parts)
            if key in mods:
                return key
            parts = parts[:-1]
        return None

    g = {m: set() for m in mods}
    for m, path in mods.items():
        text = code(path)
        here = m.split("::") if m else []
        parent = here[:-1]
        names = re.findall(r"crate::([a-z_]+(?:::[a-z_]+)*)", text)
        names += ["::".join(parent + [x]) for x in re.findall(r"\bsuper::([a-z_]+(?:::[a-z_]+)*)", text)]
        for n in names:
            f = file_of(n)
            if f is not None and f != m:
                g[m].add(f)
    return g


def circles(g):
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def main():
    found = circles(graph(modules()))
    for c in found:
        print("import circle: " + " <-> ".join(x or "main" for x in c))
    if found:
        print("break each circle so that imports point one way (see docs/ARCHITECTURE.md, Layers)")
        return 1
    print("the layers point one way: no import circle in src/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

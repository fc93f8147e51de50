#!/usr/bin/env python3
"""The house's layers point one way: no two source files of src/ import each other, directly or
through others (a `crate::` or `super::` path names the file it reaches, `super::` counted from
the inline module it is written in; a folder's mod.rs declaring and using its own children is
not an import, as a relative `child::x` path is not read). Prints each circle found and exits 1;
else says so."""
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


def expand(text, i):
    """The paths of a `use` tree starting at text[i] (`a::b`, `a::{b, c::{d}}`, `self`), each as a
    list of names, and where the tree ends."""
    out = []
    prefix = []
    while True:
        m = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\{)").match(text, i)
        if not m:
            return [prefix] if prefix else [], i
        if m.group(1) == "{":
            i = m.end()
            while True:
                items, i = expand(text, i)
                out += [prefix + it for it in items]
                m2 = re.compile(r"\s*(,|\})").match(text, i)
                if not m2:
                    return out, i
                i = m2.end()
                if m2.group(1) == "}":
                    return out, i
        name = m.group(1)
        i = m.end()
        alias = re.compile(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*").match(text, i)
        if alias:
            i = alias.end()
        if name != "self":
            prefix = prefix + [name]
        sep = re.compile(r"::").match(text, i)
        if not sep:
            return out + [prefix], i
        i = sep.end()


def inline_modules(text):
    """The `mod name { .. }` blocks of a file: (name, where its body starts, where it ends).
    Braces in strings, characters and comments are not counted."""
    spans, opened, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        raw = re.compile(r'r(#*)"').match(text, i)
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + raw.group(1), raw.end())
            i = n if end < 0 else end + 1 + len(raw.group(1))
            continue
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        ch = re.compile(r"'(\\.|[^\\'])'").match(text, i)
        if ch:
            i = ch.end()
            continue
        if c == "{":
            m = re.compile(r"\bmod\s+([a-z_][a-z0-9_]*)\s*$").search(text, max(0, i - 80), i)
            opened.append((m.group(1) if m else None, i))
        elif c == "}" and opened:
            name, start = opened.pop()
            if name:
                spans.append((name, start, i))
        i += 1
    return spans


def paths(text):
    """Every `crate::` and `super::` path in the code, grouped imports expanded: (root, the path
    below it, lower-case segments only, as far as they name modules, and for `super::` how many
    levels up it goes from the inline modules it is written in)."""
    spans = inline_modules(text)
    for m in re.finditer(r"\b(crate|super)::", text):
        if m.group(1) == "super" and text[max(0, m.start() - 7):m.start()] == "super::":
            continue
        items, _ = expand(text, m.end())
        inner = [name for name, a, b in sorted(spans, key=lambda s: s[1]) if a < m.start() < b]
        for it in items:
            ups = 1 if m.group(1) == "super" else 0
            while it and it[0] == "super":
                ups += 1
                it = it[1:]
            mods = []
            for seg in it:
                if not re.fullmatch(r"[a-z_][a-z0-9_]*", seg):
                    break
                mods.append(seg)
            yield m.group(1), "::".join(mods), ups, inner


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
        names = []
        for root, rest, ups, inner in paths(text):
            if root == "crate":
                names.append(rest)
            else:
                # `super::` from inside `mod x_fns { .. }` is the file's own module.
                base = (here + inner)[: len(here + inner) - ups] if ups <= len(here + inner) else []
                names.append("::".join(base + ([rest] if rest else [])))
        for n in names:
            f = file_of(n)
            # A folder's mod.rs using its own parts (the crate root aside) is not a layer's import.
            if f is not None and f != m and not (m and f.startswith(m + "::")):
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


def self_check():
    """The path reader on the forms src/ uses; a reader that misses one would miss circles."""
    cases = {
        "use crate::a::b::C;": [("crate", "a::b")],
        "use crate::{a::{b::f, c}, d};": [("crate", "a::b::f"), ("crate", "a::c"), ("crate", "d")],
        "use super::{x, Y};": [("super", "x"), ("super", "")],
        "crate::util::join(&v)": [("crate", "util::join")],
        "use super::{self, y as z,};": [("super", ""), ("super", "y")],
        "use crate::{a as b, c::{d as e, f}};": [("crate", "a"), ("crate", "c::d"), ("crate", "c::f")],
    }
    for text, want in cases.items():
        got = [(root, rest) for root, rest, _, _ in paths(text)]
        assert got == want, f"check-layers reads {text!r} as {got}, not {want}"
    # How far up `super::` goes, and from which inline modules.
    nested = {
        "use super::x;": [(1, [])],
        "mod f { fn g() { super::x(); } }": [(1, ["f"])],
        "mod f { fn g() { super::super::x(); } }": [(2, ["f"])],
        'mod f { const S: &str = "}"; fn g() { let c = \'}\'; super::x(); } }': [(1, ["f"])],
        "mod f { } fn g() { super::x(); }": [(1, [])],
    }
    for text, want in nested.items():
        got = [(ups, inner) for _, _, ups, inner in paths(text)]
        assert got == want, f"check-layers reads {text!r} as {got}, not {want}"


def main():
    self_check()
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

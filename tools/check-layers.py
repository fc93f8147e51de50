#!/usr/bin/env python3
"""The house's layers point one way: no two source files of src/ import each other, directly or
through others (a `crate::` or `super::` path names the file it reaches, `super::` counted from
the inline module it is written in; a folder's mod.rs declaring and using its own children is
not an import, as a relative `child::x` path is not read). Prints each circle found and exits 1;
else says so.

And no function of src/ (its tests too) is longer than LONGEST lines, from `fn` to its closing
brace, unless a `// Long on purpose: REASON` comment is beside it (among the comments and
attributes just above it, or on its `fn` line), or it is one of NOT_YET_SPLIT."""
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


LONGEST = 100
MARKER = "// Long on purpose:"

# Functions longer than LONGEST that are still to be split; a function of this list that is no
# longer long is an error, so that the list stays true.
NOT_YET_SPLIT = set()


def blanked(text):
    """`text` with its strings, characters and comments blanked (newlines kept), so that the
    braces left are the code's."""
    out, i, n = [], 0, len(text)

    def blank(j):
        out.append(re.sub(r"[^\n]", " ", text[i:j]))
        return j

    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = blank(n if j < 0 else j)
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i)
            i = blank(n if j < 0 else j + 2)
            continue
        raw = re.compile(r'b?r(#*)"').match(text, i)
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            j = text.find('"' + raw.group(1), raw.end())
            i = blank(n if j < 0 else j + 1 + len(raw.group(1)))
            continue
        if text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = blank(j + 1)
            continue
        ch = re.compile(r"b?'(\\.|\\u\{[0-9a-fA-F]+\}|[^\\'])'").match(text, i)
        if ch:
            i = blank(ch.end())
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def attribute_or_comment(line):
    """Whether a line above a function is one of its comments or attributes (an attribute may take
    several lines), not code or a blank line."""
    t = line.strip()
    return t.startswith("//") or (t != "" and not t.endswith(("{", "}", ";")))


def functions(text):
    """The functions of a file with a body: (name, first line, last line, marked), lines from 1;
    a function inside another is counted on its own, and in the one around it."""
    code = blanked(text)
    lines = text.split("\n")
    found = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", code):
        i, depth = m.end(), 0
        while i < len(code) and not (depth <= 0 and code[i] in "{;"):
            depth += {"(": 1, "<": 1, "[": 1, ")": -1, ">": -1, "]": -1}.get(code[i], 0)
            # `->` is no closing angle bracket.
            if code[i] == ">" and code[i - 1] == "-":
                depth += 1
            i += 1
        if i >= len(code) or code[i] == ";":
            continue
        j, braces = i, 0
        while j < len(code):
            braces += {"{": 1, "}": -1}.get(code[j], 0)
            if braces == 0:
                break
            j += 1
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, j) + 1
        # The comments and attributes just above it, and its own line.
        k = first - 1
        above = [lines[k - 1]] if MARKER in lines[k - 1] else []
        while k >= 2 and attribute_or_comment(lines[k - 2]):
            k -= 1
            above.append(lines[k - 1])
        marked = any(MARKER in l for l in above)
        found.append((m.group(1), first, last, marked))
    return found


def long_functions():
    """Problems: a function over LONGEST lines with no reason beside it, a reason with nothing
    after its colon, a function of NOT_YET_SPLIT that is no longer long or no longer there."""
    problems, pending = [], set(NOT_YET_SPLIT)
    for d, _, files in os.walk(ROOT):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, ROOT)
            text = open(path, encoding="utf-8").read()
            for line_no, line in enumerate(text.split("\n"), 1):
                k = line.find(MARKER)
                if k >= 0 and not line[k + len(MARKER):].strip():
                    problems.append(f"src/{rel}:{line_no}: '{MARKER}' says no reason")
            for name, first, last, marked in functions(text):
                n = last - first + 1
                if (rel, name) in NOT_YET_SPLIT:
                    if n > LONGEST:
                        pending.discard((rel, name))
                    continue
                if n > LONGEST and not marked:
                    problems.append(
                        f"src/{rel}:{first}: fn {name} is {n} lines (more than {LONGEST}): split it "
                        f"where it does several things, or say why it is long in a "
                        f"'{MARKER} REASON' comment above it"
                    )
    for rel, name in sorted(pending):
        problems.append(
            f"src/{rel}: fn {name} is no longer over {LONGEST} lines (or gone): take it off "
            f"NOT_YET_SPLIT in tools/check-layers.py"
        )
    return problems


def self_check_lengths():
    """The function reader on the forms src/ uses."""
    text = (
        "/// doc\n"
        "// Long on purpose: a table\n"
        "#[test]\n"
        "fn a() -> Vec<u8> {\n"
        '    let s = "}{";\n'
        "    let c = '}';\n"
        "    // }\n"
        "    fn inner(x: &[u8; 2]) {\n"
        "    }\n"
        "    vec![]\n"
        "}\n"
        "trait T { fn decl(&self); }\n"
        "#[expect(\n"
        "    clippy::x,\n"
        "    // Long on purpose: a match over a protocol's cases\n"
        '    reason = "y"\n'
        ")]\n"
        "fn b<T: Into<String>>(t: T) -> Option<String> where T: Clone { Some(t.into()) }\n"
    )
    got = functions(text)
    want = [("a", 4, 11, True), ("inner", 8, 9, False), ("b", 18, 18, True)]
    assert got == want, f"check-layers reads the functions as {got}, not {want}"


def main():
    self_check()
    self_check_lengths()
    found = circles(graph(modules()))
    for c in found:
        print("import circle: " + " <-> ".join(x or "main" for x in c))
    if found:
        print("break each circle so that imports point one way (see docs/ARCHITECTURE.md, Layers)")
    long = long_functions()
    for p in long:
        print(p)
    if found or long:
        return 1
    print("the layers point one way: no import circle in src/")
    print(f"no function of src/ over {LONGEST} lines without its reason beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Module circles of the library: prints each one and fails when there is any.

Usage: cargo modules dependencies -p databricks-tokens --lib --all-features --no-externs --no-sysroot \
           | python3 .ci/module_cycles.py src

Edges between modules come from two sources, collapsed from items to the modules that hold them:
- cargo-modules' "uses" edges (`use` declarations and the types in signatures);
- the `crate::...` and `super::...` paths written in the code itself (function bodies), which cargo-modules
  does not see (a `crate::auth::chain::check(..)` call made `config` depend on `auth::chain`), including the
  generated clients a module includes from OUT_DIR, read in their committed copies (`tests/snapshots/`).
A module and its ancestors are exempt: a parent re-exports its children and a child names its parent's
items (`pub use chain::select` in `auth`, `super::CredentialsProvider` in `auth::chain`). Any other circle
(a strongly connected component of two or more modules) is reported with the edges that make it.
"""
import os
import re
import sys
from collections import defaultdict

CRATE = "databricks_tokens"


def parse_dot(text):
    modules, edges = {CRATE}, set()
    for m in re.finditer(r'^\s*"([^"]+)" \[label="([^"|]*)\|', text, re.M):
        if m.group(2).split()[-1] in ("mod", "crate"):
            modules.add(m.group(1))
    for m in re.finditer(r'^\s*"([^"]+)" -> "([^"]+)" \[label="uses"', text, re.M):
        # A module's own `use` declarations. An item's edges are left out: cargo-modules files the methods
        # of `impl Trait for Type` under the type's module, wherever the impl is written.
        if m.group(1) in modules:
            edges.add((m.group(1), m.group(2), "use (cargo-modules)"))
    return modules, edges


def module_of(path, modules):
    parts = path.split("::")
    while parts and "::".join(parts) not in modules:
        parts.pop()
    return "::".join(parts) if parts else CRATE


def file_module(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "mod"):
        rel = rel[:-1]
    return "::".join([CRATE] + rel)


def code_edges(src, modules):
    edges = set()
    for d, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            here = file_module(src, path)
            lines = [line.rstrip("\n").split("//")[0] for line in open(path, encoding="utf-8")]
            code = "\n".join(lines)
            # The generated clients included from OUT_DIR are read in their committed copies (`cargo xtask
            # regen --check` keeps them equal): their paths are the including (inline) module's dependencies.
            sources = [(here, code, os.path.relpath(path))]
            for inc in re.finditer(r'include!\(concat!\(env!\("OUT_DIR"\), "/([a-z_]+_client\.rs)"\)\)', code):
                snapshot = os.path.join(os.path.dirname(os.path.abspath(src)), "tests", "snapshots", inc.group(1))
                if os.path.exists(snapshot):
                    text = "\n".join(line.rstrip("\n").split("//")[0] for line in open(snapshot, encoding="utf-8"))
                    sources.append(("::".join([here] + inline_modules(code[:inc.start()])), text, os.path.relpath(snapshot)))
            for here, code, shown in sources:
                add_path_edges(edges, here, code, modules, shown)
    return edges


def inline_modules(code):
    """The inline modules (`mod a { mod b {`) open at the end of `code`."""
    stack, depth = [], 0
    for m in re.finditer(r"\bmod\s+([a-z_][a-z0-9_]*)\s*\{|\{|\}", code):
        if m.group(1):
            depth += 1
            stack.append((m.group(1), depth))
        elif m.group(0) == "{":
            depth += 1
        else:
            if stack and stack[-1][1] == depth:
                stack.pop()
            depth -= 1
    return [name for name, _ in stack]


def add_path_edges(edges, here, code, modules, path):
    for m in re.finditer(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)(::\{)?", code):
        base = CRATE if m.group(1) == "crate" else here.rsplit("::", 1)[0]
        n = code.count("\n", 0, m.start()) + 1
        prefix = base + m.group(2)
        targets = [prefix]
        if m.group(3):  # a group: `crate::{a::X, b::{Y, Z}}` names a, b
            depth, i = 1, m.end()
            while depth and i < len(code):
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
            group = re.sub(r"\{[^{}]*\}", "", code[m.end():i - 1])  # inner groups: their prefix is enough
            targets = [prefix + "::" + t.strip().split(" as ")[0] for t in group.split(",") if t.strip() and t.strip() != "self"]
            targets = [t.rstrip(":") for t in targets]
        for t in targets:
            edges.add((here, module_of(t, modules), f"{path}:{n}"))


def is_ancestor(a, b):
    return b.startswith(a + "::")


def sccs(nodes, graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
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
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    modules, dot_edges = parse_dot(sys.stdin.read())
    if len(modules) < 2:
        sys.exit("no module graph on standard input (run cargo modules dependencies ... | this script)")
    why = defaultdict(set)
    for a, b, how in dot_edges | code_edges(src, modules):
        ma, mb = module_of(a, modules), module_of(b, modules)
        if ma != mb and not is_ancestor(ma, mb) and not is_ancestor(mb, ma):
            why[(ma, mb)].add(how)
    graph = defaultdict(set)
    for a, b in why:
        graph[a].add(b)
    circles = [c for c in sccs(modules, graph) if len(c) > 1]
    strip = lambda m: m[len(CRATE) + 2:] or "crate"
    for c in circles:
        print(f"module circle: {' <-> '.join(strip(m) for m in c)}")
        for a in c:
            for b in sorted(graph[a] & set(c)):
                print(f"  {strip(a)} -> {strip(b)}: {', '.join(sorted(why[(a, b)])[:3])}")
    print(f"{len(modules)} modules, {len(why)} dependencies between them, {len(circles)} circle(s)")
    sys.exit(1 if circles else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fail when a module imports one above it, or when modules import each other in a circle.

The library (`crates/uadk`) has ranked layers: a module may use only modules of a lower
rank (docs/architecture.md draws them). The other crates have no ranks, but no two of
their modules may depend on each other, directly or through others. A dependency is any
`crate::<module>` path outside a comment (or `super::<module>` in a crate's top-level file).
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Bottom to top. Equal ranks may not import each other either.
UADK_RANKS = {
    "status": 0,  # UADK's status codes
    "error": 1,  # the error type and its UADK codes
    "req": 2,  # the request vocabulary: Alg, OpType, Level, WindowSize, ReqParams, Output
    "wd": 3,  # framework vocabulary: task and context types, environment, NUMA, counters
    "uacce": 3,  # UACCE: sysfs, char device, ioctls, mmap
    "hw": 4,  # wire formats shared by a driver and its device
    "model": 5,  # the software ZIP device, behind UACCE
    "drv": 5,  # drivers: the CPU engine, hisi_zip
    "sched": 5,  # schedulers
    "comp": 6,  # the alg layer: Comp, Session, the request modes
    "lib": 7,  # the crate root
}

PATH = re.compile(r"\bcrate::([A-Za-z_][A-Za-z0-9_]*)")
GROUP = re.compile(r"\bcrate::\{([^}]*)\}")


def strip_comments(text):
    out = []
    for line in text.splitlines():
        code = line.split("//", 1)[0] if "//" in line else line
        out.append(code)
    return "\n".join(out)


def module_of(src_dir, path):
    rel = path.relative_to(src_dir)
    first = rel.parts[0]
    return first[:-3] if first.endswith(".rs") else first


def deps(src_dir):
    """module -> {imported module: first place seen}"""
    graph = {}
    for path in sorted(src_dir.rglob("*.rs")):
        mod = module_of(src_dir, path)
        code = strip_comments(path.read_text())
        found = set(PATH.findall(code))
        for group in GROUP.findall(code):
            found.update(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)", part)[0]
                         for part in group.split(",") if part.strip())
        for m in found:
            # An item of the crate root (a re-export such as `crate::Error`) is the root's.
            if not ((src_dir / f"{m}.rs").exists() or (src_dir / m).is_dir()):
                m = "lib"
            if m != mod:
                graph.setdefault(mod, {}).setdefault(m, path.relative_to(ROOT))
    return graph


def cycles(graph):
    """Every circle of modules, as lists."""
    found, seen = [], set()

    def walk(node, stack):
        for nxt in graph.get(node, {}):
            if nxt in stack:
                cyc = stack[stack.index(nxt):]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    found.append(cyc + [nxt])
            elif len(stack) < 12:
                walk(nxt, stack + [nxt])

    for n in sorted(graph):
        walk(n, [n])
    return found


def main():
    errors = []
    uadk = deps(ROOT / "crates/uadk/src")
    for mod, used in sorted(uadk.items()):
        if mod not in UADK_RANKS:
            errors.append(f"crates/uadk: module '{mod}' has no rank in scripts/check-layers.py")
            continue
        for dep, where in sorted(used.items()):
            if dep not in UADK_RANKS:
                continue
            if UADK_RANKS[dep] >= UADK_RANKS[mod]:
                errors.append(f"{where}: '{mod}' (rank {UADK_RANKS[mod]}) imports '{dep}' "
                              f"(rank {UADK_RANKS[dep]}): a layer may only import lower ones")
    for crate in sorted((ROOT / "crates").iterdir()):
        src = crate / "src"
        if not src.is_dir():
            continue
        for cyc in cycles(deps(src)):
            errors.append(f"crates/{crate.name}: import circle " + " -> ".join(cyc))
    if errors:
        print("check-layers: FAILED", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print("check-layers: every layer imports only lower ones; no import circles")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Regenerates the ProbLog reference probabilities of this corpus.

    pip install problog        # 2.2 or newer
    python3 tests/problog/regenerate.py

For each NAME.nesy it writes NAME.pl (the same program in ProbLog syntax,
querying every relation the rules define) and NAME.expected (one line per
tuple: `relation(args)<TAB>probability`, as ProbLog computes it exactly).
The test `tests/problog.rs` checks nesy's `top-k` with a large k against
these to 1e-9.
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def to_problog(text):
    lines = []
    heads = {}
    for line in text.splitlines():
        line = line.split("//")[0].strip()
        if not line:
            continue
        line = re.sub(r"(\d(?:\.\d+)?)\s*::\s*", r"\1::", line)
        line = line.replace("!=", "\\=").replace("not ", "\\+ ")
        lines.append(line)
        for clause in re.findall(r"(?:^|\.\s*)(?:[\d.]+::)?([a-z_]\w*)(\(([^)]*)\))?\s*:-", line):
            name, _, args = clause
            heads[name] = 0 if not args else args.count(",") + 1
    for name, arity in sorted(heads.items()):
        args = ",".join("_" * 1 for _ in range(arity))
        lines.append(f"query({name}({args}))." if arity else f"query({name}).")
    return "\n".join(lines) + "\n"


def main():
    for name in sorted(os.listdir(HERE)):
        if not name.endswith(".nesy"):
            continue
        stem = name[:-5]
        text = open(os.path.join(HERE, name)).read()
        pl = os.path.join(HERE, stem + ".pl")
        open(pl, "w").write(to_problog(text))
        out = subprocess.run(["problog", pl], capture_output=True, text=True, check=True).stdout
        rows = []
        for line in out.splitlines():
            atom, _, p = line.rpartition(":")
            atom = atom.strip().replace(",", ", ")
            rows.append(f"{atom}\t{float(p):.12f}")
        open(os.path.join(HERE, stem + ".expected"), "w").write("\n".join(sorted(rows)) + "\n")
        print(f"{stem}: {len(rows)} tuples", file=sys.stderr)


if __name__ == "__main__":
    main()

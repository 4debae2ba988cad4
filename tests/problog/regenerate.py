#!/usr/bin/env python3
"""Regenerates the ProbLog reference probabilities of this corpus.

    pip install problog        # 2.2 or newer
    python3 tests/problog/regenerate.py

For each NAME.nesy it writes NAME.pl (the same program in ProbLog syntax,
querying every relation the rules define) and NAME.expected (one line per
tuple: `relation(args)<TAB>probability`, as ProbLog computes it exactly,
through its Python API at full precision).
The test `tests/problog.rs` checks nesy's `top-k` with a large k against
these to 1e-9.
"""

import os
import re
import sys

from problog import get_evaluatable
from problog.program import PrologString

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
        # nesy computes with `=`, Prolog with `is`.
        line = re.sub(r"\b([A-Z]\w*) = ([^,.]*[-+*/][^,.]*)", r"\1 is \2", line)
        lines.append(line)
        for clause in re.findall(r"(?:^|\.\s*)(?:[\d.]+::)?([a-z_]\w*)(\(([^)]*)\))?\s*:-", line):
            name, _, args = clause
            heads[name] = 0 if not args else args.count(",") + 1
        # The heads of an annotated disjunction (`p::h1; p::h2 [:- body].`).
        if ";" in line:
            for head in line.split(":-")[0].split(";"):
                m = re.match(r"\s*[\d.]+::([a-z_]\w*)(\(([^)]*)\))?", head)
                if m:
                    heads[m.group(1)] = 0 if not m.group(3) else m.group(3).count(",") + 1
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
        # The Python API gives full precision (the command line rounds to
        # 8 significant digits, too coarse for a 1e-9 check).
        program = to_problog(text)
        result = get_evaluatable().create_from(PrologString(program)).evaluate()
        rows = []
        for term, p in result.items():
            atom = str(term).replace(",", ", ")
            rows.append(f"{atom}\t{float(p):.12f}")
        open(os.path.join(HERE, stem + ".expected"), "w").write("\n".join(sorted(rows)) + "\n")
        print(f"{stem}: {len(rows)} tuples", file=sys.stderr)


if __name__ == "__main__":
    main()

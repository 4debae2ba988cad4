#!/usr/bin/env python3
"""Regenerates the `problog lfi` reference weights of this corpus.

    pip install problog        # 2.2 or newer (2.3.0 made these files)
    python3 tests/lfi/regenerate.py

For each NAME.nesy with its evidence NAME.ev, it writes NAME.pl (the same
program in ProbLog syntax) and NAME.expected: the learned probabilities of
the `t(...)`s in the order they are written, one per line, as `problog lfi
NAME.pl NAME.ev` prints them. The test `tests/train.rs` checks that `nesy
train program --method em` learns the same to 1e-3.
"""

import ast
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def to_problog(text):
    lines = []
    for line in text.splitlines():
        line = line.split("//")[0].strip()
        if not line:
            continue
        line = re.sub(r"\s*::\s*", "::", line)
        line = line.replace("not ", "\\+ ")
        lines.append(line)
    return "\n".join(lines) + "\n"


def main():
    for name in sorted(os.listdir(HERE)):
        if not name.endswith(".nesy"):
            continue
        stem = os.path.join(HERE, name[:-5])
        with open(stem + ".nesy") as f:
            program = to_problog(f.read())
        with open(stem + ".pl", "w") as f:
            f.write(program)
        out = subprocess.run(
            [sys.executable, "-m", "problog", "lfi", stem + ".pl", stem + ".ev", "-n", "1000"],
            capture_output=True, text=True, check=True,
        ).stdout
        # `LOGLIKELIHOOD [w1, w2, ...] [t(..)::..., ...] ITERATIONS`
        weights = ast.literal_eval(re.search(r"\[[^\]]*\]", out).group(0))
        with open(stem + ".expected", "w") as f:
            f.write("".join(f"{w!r}\n" for w in weights))
        print(f"{name}: {weights}")


if __name__ == "__main__":
    main()

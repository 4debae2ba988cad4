#!/usr/bin/env python3
"""nesy's probabilistic reasoning against ProbLog 2 on the same programs.

    pip install problog
    cargo build --release -p nesy-cli
    python3 benches/problog_compare.py [--sizes 6,7,8,9] [--seed 0]

Each workload is a random directed graph of N nodes and 2N probabilistic
edges (cycles included) with the closure

    path(X, Y) :- edge(X, Y).
    path(X, Z) :- path(X, Y), edge(Y, Z).

and every `path` tuple queried. ProbLog computes exact probabilities
(knowledge compilation, through its Python API, timed without the
interpreter's start); nesy runs `top-k` with k = 100000 (exact when k
covers every proof) and `top-k` with k = 10 (an approximation), both in the
engine's semi-naive evaluation (timed as a whole `nesy run`, process start
and parsing included). The script checks nesy's exact answers
against ProbLog's, prints both times, their ratio, and the largest error of
the k = 10 approximation.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")

RULES = "path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).\n"


def graph(n, seed):
    rng = random.Random(seed)
    edges = set()
    while len(edges) < 2 * n:
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            edges.add((a, b))
    return [(a, b, round(rng.uniform(0.1, 0.9), 2)) for a, b in sorted(edges)]


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return out.stdout, elapsed


def problog(edges):
    """Exact probabilities through ProbLog's Python API (full precision;
    the command line rounds to 8 digits), timed without interpreter start."""
    from problog import get_evaluatable
    from problog.program import PrologString

    text = "".join(f"{p}::edge(n{a},n{b}).\n" for a, b, p in edges)
    text += RULES.replace(" ", "") + "query(path(_,_)).\n"
    start = time.perf_counter()
    result = get_evaluatable().create_from(PrologString(text)).evaluate()
    elapsed = time.perf_counter() - start
    probs = {}
    for term, p in result.items():
        probs[(str(term.args[0]), str(term.args[1]))] = float(p)
    return probs, elapsed


def nesy(edges, work, k):
    path = os.path.join(work, "graph.nesy")
    with open(path, "w") as f:
        for a, b, p in edges:
            f.write(f"{p} :: edge(n{a}, n{b}).\n")
        f.write(RULES)
    out, elapsed = timed(
        [NESY, "run", path, "--semiring", "top-k", "-k", str(k), "--format", "tsv", "-r", "path"]
    )
    probs = {}
    for line in out.splitlines():
        name, a, b, p = line.split("\t")
        probs[(a, b)] = float(p)
    return probs, elapsed


def max_error(mine, theirs):
    keys = set(mine) | set(theirs)
    return max((abs(mine.get(k, 0.0) - theirs.get(k, 0.0)) for k in keys), default=0.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="6,7,8,9")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not os.path.exists(NESY):
        sys.exit("build nesy first: cargo build --release -p nesy-cli")
    from problog import get_evaluatable

    print(f"ProbLog's knowledge compiler: {get_evaluatable().__name__}")
    print(
        f"{'nodes':>5} {'edges':>5} {'tuples':>6} {'problog s':>10} {'nesy exact s':>12} "
        f"{'ratio':>7} {'max diff':>9} {'nesy k=10 s':>11} {'k=10 max err':>12}"
    )
    with tempfile.TemporaryDirectory() as work:
        for n in (int(s) for s in args.sizes.split(",")):
            edges = graph(n, args.seed + n)
            reference, t_problog = problog(edges)
            exact, t_exact = nesy(edges, work, 100000)
            approx, t_approx = nesy(edges, work, 10)
            diff = max_error(exact, reference)
            print(
                f"{n:>5} {len(edges):>5} {len(reference):>6} {t_problog:>10.2f} {t_exact:>12.3f} "
                f"{t_problog / t_exact:>6.1f}x {diff:>9.1e} {t_approx:>11.3f} "
                f"{max_error(approx, reference):>12.1e}",
                flush=True,
            )
            if diff > 1e-9:
                sys.exit(f"nesy's exact probabilities differ from ProbLog's by {diff}")


if __name__ == "__main__":
    main()

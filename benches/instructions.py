#!/usr/bin/env python3
"""Instructions executed by plain evaluation, for A/B comparisons that
timing on a shared machine cannot resolve.

    cargo build --release -p nesy-cli && cp target/release/nesy /tmp/nesy-b
    git checkout OTHER && cargo build --release -p nesy-cli && cp target/release/nesy /tmp/nesy-a
    python3 benches/instructions.py /tmp/nesy-a /tmp/nesy-b

Runs each binary under callgrind (valgrind), on one thread, on three
seeded workloads (transitive closure of a 300-node graph, same generation
on 300 nodes, the join-with-negation-and-aggregate of 4,000 nodes; 5 edges
per node) and prints the instruction counts and their ratio to the first.
"""

import os
import random
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TC = "reach(X, Y) :- edge(X, Y).\nreach(X, Z) :- reach(X, Y), edge(Y, Z).\n"
SG = "sg(X, Y) :- edge(P, X), edge(P, Y), X != Y.\nsg(X, Y) :- edge(A, X), sg(A, B), edge(B, Y).\n"


def join_rules():
    text = open(os.path.join(ROOT, "benches", "workloads.rs")).read()
    return re.search(r'pub const JOIN: &str = "(.*?)";', text, re.S).group(1)


def workload(path, rules, nodes, seed=42):
    rng = random.Random(seed)
    edges = sorted({(rng.randrange(nodes), rng.randrange(nodes)) for _ in range(nodes * 5)})
    with open(path, "w") as f:
        f.write(rules)
        for a, b in edges:
            f.write(f"edge({a}, {b}).\n")


def instructions(binary, path):
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         binary, "run", path, "--format", "tsv", "-r", "edge"],
        capture_output=True, text=True, env={**os.environ, "RAYON_NUM_THREADS": "1"},
    )
    m = re.search(r"Collected : (\d+)", out.stderr)
    if not m:
        sys.exit(f"callgrind failed on {binary}:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main():
    binaries = sys.argv[1:] or [os.path.join(ROOT, "target", "release", "nesy")]
    with tempfile.TemporaryDirectory() as work:
        loads = []
        for name, rules, nodes in [("tc", TC, 300), ("sg", SG, 300), ("join", join_rules(), 4000)]:
            path = os.path.join(work, f"{name}.nesy")
            workload(path, rules, nodes)
            loads.append((name, path))
        print(f"{'workload':<8} " + " ".join(f"{os.path.basename(b):>16}" for b in binaries))
        for name, path in loads:
            counts = [instructions(b, path) for b in binaries]
            cells = [f"{counts[0] / 1e6:>15.1f}M"] + [
                f"{c / 1e6:>8.1f}M {c / counts[0]:>6.3f}x" for c in counts[1:]
            ]
            print(f"{name:<8} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()

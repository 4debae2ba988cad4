#!/usr/bin/env python3
"""OWL 2 RL materialization on LUBM: nesy (rules/owl2rl.nesy) against
`reasonable` (a Rust OWL 2 RL reasoner, from PyPI), one process per run.

    cargo build --release -p nesy-cli
    pip install reasonable
    python3 benches/lubm.py [--sizes 1,5,10] [--seed 0] [--owlrl]

Size 1 is the real LUBM(1) (knowledge/lubm/lubm1.nt.gz, made by the LUBM
generator); larger sizes come from benches/lubm_gen.py (seeded, the same
shapes and proportions). Each run's time is wall-clock for the whole process
(reading the files, reasoning, and for nesy writing the closure); memory is
the process's peak resident set. The univ-bench ontology is loaded with the
data in both.
"""

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")
ONTOLOGY = os.path.join(ROOT, "knowledge", "lubm", "univ-bench.nt.gz")


def measure(command, stdout=subprocess.DEVNULL):
    start = time.time()
    proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.time() - start
    if status != 0:
        raise RuntimeError(" ".join(command) + ": " + proc.stderr.read().decode()[-300:])
    return seconds, usage.ru_maxrss


def owlrl_child(files):
    import owlrl
    import rdflib

    g = rdflib.Graph()
    for f in files:
        g.parse(f, format="turtle")
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    print(len(g))


def reasonable_child(files):
    import reasonable

    r = reasonable.PyReasoner()
    for f in files:
        r.load_file(f)
    print(len(r.reason()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,5,10")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--owlrl", action="store_true", help="also run owlrl on rdflib (LUBM(1) only: it takes about a minute)")
    parser.add_argument("--reasonable-child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--owlrl-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reasonable_child:
        reasonable_child(args.reasonable_child)
        return
    if args.owlrl_child:
        owlrl_child(args.owlrl_child)
        return
    rows = []
    owlrl_row = None
    with tempfile.TemporaryDirectory() as tmp:
        ontology_ttl = os.path.join(tmp, "univ-bench.ttl")
        with gzip.open(ONTOLOGY, "rb") as src, open(ontology_ttl, "wb") as dst:
            shutil.copyfileobj(src, dst)
        for size in [int(s) for s in args.sizes.split(",")]:
            if size == 1:
                data_gz = os.path.join(ROOT, "knowledge", "lubm", "lubm1.nt.gz")
            else:
                data_gz = os.path.join(tmp, f"lubm{size}.nt.gz")
                subprocess.run([sys.executable, os.path.join(ROOT, "benches", "lubm_gen.py"), str(size), data_gz, "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
            # reasonable reads only .ttl / .n3 (N-Triples is Turtle)
            data_ttl = os.path.join(tmp, f"lubm{size}.ttl")
            with gzip.open(data_gz, "rb") as src, open(data_ttl, "wb") as dst:
                shutil.copyfileobj(src, dst)
            triples_in = sum(1 for _ in open(data_ttl)) + sum(1 for _ in open(ontology_ttl))
            loader = os.path.join(tmp, f"lubm{size}.nesy")
            with open(loader, "w") as f:
                f.write(f'@import t from "{ontology_ttl}".\n@import t from "{data_gz}".\n')
            closure = os.path.join(tmp, "closure.tsv")
            with open(closure, "w") as out:
                nesy_s, nesy_kb = measure([NESY, "run", os.path.join(ROOT, "rules", "owl2rl.nesy"), loader, "-r", "t", "--format", "tsv"], stdout=out)
            nesy_triples = sum(1 for _ in open(closure))
            out_path = os.path.join(tmp, "reasonable.txt")
            with open(out_path, "w") as out:
                r_s, r_kb = measure([sys.executable, os.path.abspath(__file__), "--reasonable-child", ontology_ttl, data_ttl], stdout=out)
            r_triples = int(open(out_path).read().strip())
            rows.append((size, triples_in, nesy_triples, nesy_s, nesy_kb, r_triples, r_s, r_kb))
            if args.owlrl and size == 1:
                with open(out_path, "w") as out:
                    o_s, o_kb = measure([sys.executable, os.path.abspath(__file__), "--owlrl-child", ontology_ttl, data_ttl], stdout=out)
                owlrl_row = (int(open(out_path).read().strip()), o_s, o_kb, nesy_s)
            print(f"LUBM({size}) done", file=sys.stderr, flush=True)
    print("| LUBM | triples in | nesy closure | nesy time | nesy memory | reasonable closure | reasonable time | reasonable memory | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, n_in, n_out, s, kb, r_out, r_s, r_kb in rows:
        print(f"| {size} | {n_in} | {n_out} | {s:.2f} s | {kb / 1024:.0f} MiB | {r_out} | {r_s:.2f} s | {r_kb / 1024:.0f} MiB | {r_s / s:.1f}x |")
    if owlrl_row:
        n, o_s, o_kb, nesy_s = owlrl_row
        print(f"\nowlrl (rdflib) on LUBM(1): {n} triples, {o_s:.1f} s, {o_kb / 1024:.0f} MiB ({o_s / nesy_s:.0f}x nesy's time)")


if __name__ == "__main__":
    main()

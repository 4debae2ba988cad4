#!/usr/bin/env python3
"""Native engine against the dataflow backend, one run, same machine.

Materialization, whole process (read, evaluate, write TSV): the native
engine, `--backend dataflow` with 1 and 2 workers, and two processes
(one worker each) on loopback; wall time and peak memory (for two
processes, the slower's time and the sum of their peaks). Outputs are
compared (md5 of the TSV) with the native engine's.

    cargo build --release -p nesy-cli
    python3 benches/dataflow.py            # tc, sg on seeded random graphs; LUBM(1)
    python3 benches/dataflow.py --sizes 300,1000
"""

import argparse
import hashlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")

RULES = {
    "tc": ("tc", "tc(X, Y) :- edge(X, Y).\ntc(X, Z) :- tc(X, Y), edge(Y, Z).\n"),
    "sg": ("sg", "sg(X, Y) :- edge(P, X), edge(P, Y), X != Y.\nsg(X, Y) :- edge(A, X), sg(A, B), edge(B, Y).\n"),
}


def start(command, out):
    return subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, cwd=ROOT), time.perf_counter()


def finish(proc, began):
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024  # MiB


def digest(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def measure(base, tmp):
    """(name, seconds, MiB, same-as-native) per configuration."""
    rows = []
    native_out = os.path.join(tmp, "native.tsv")
    with open(native_out, "wb") as out:
        t, m = finish(*start(base, out))
    rows.append(("native", t, m, True))
    expected = digest(native_out)
    for workers in (1, 2):
        path = os.path.join(tmp, f"df{workers}.tsv")
        with open(path, "wb") as out:
            t, m = finish(*start(base + ["--backend", "dataflow", "--workers", str(workers)], out))
        rows.append((f"dataflow, {workers} worker{'s' if workers > 1 else ''}", t, m, digest(path) == expected))
    hosts = os.path.join(tmp, "hosts")
    with open(hosts, "w") as f:
        f.write("".join(f"127.0.0.1:{p}\n" for p in free_ports(2)))
    cluster = base + ["--backend", "dataflow", "--processes", "2", "--hosts", hosts]
    path = os.path.join(tmp, "cluster.tsv")
    with open(path, "wb") as out, open(os.devnull, "wb") as null:
        second = start(cluster + ["--process", "1"], null)
        first = start(cluster + ["--process", "0"], out)
        t0, m0 = finish(*first)
        t1, m1 = finish(*second)
    rows.append(("dataflow, 2 processes on loopback", max(t0, t1), m0 + m1, digest(path) == expected))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="300,1000", help="nodes of the random graphs (edges: 3 per node)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-lubm", action="store_true")
    args = parser.parse_args()
    if not os.path.exists(NESY):
        sys.exit("build nesy first: cargo build --release -p nesy-cli")
    print("| workload | configuration | time | peak memory | vs native (time) | same output |")
    print("|---|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for n in [int(x) for x in args.sizes.split(",")]:
            rng = random.Random(args.seed)
            facts = os.path.join(tmp, f"edges-{n}.tsv")
            with open(facts, "w") as f:
                for _ in range(3 * n):
                    f.write(f"{rng.randrange(n)}\t{rng.randrange(n)}\n")
            for workload, (relation, rules) in RULES.items():
                program = os.path.join(tmp, f"{workload}-{n}.nesy")
                with open(program, "w") as f:
                    f.write(f'@decl edge(a: int, b: int).\n@import edge from "{facts}".\n' + rules)
                jobs.append((f"{workload}, {n} nodes", [NESY, "run", program, "-r", relation, "--format", "tsv"]))
        if not args.no_lubm:
            jobs.append(("LUBM(1), OWL 2 RL", [NESY, "run", "rules/owl2rl.nesy", "knowledge/lubm/lubm1.nesy", "-r", "t", "--format", "tsv"]))
        for name, command in jobs:
            rows = measure(command, tmp)
            native = rows[0][1]
            for config, t, m, same in rows:
                print(f"| {name} | {config} | {t:.2f} s | {m:.0f} MiB | {t / native:.2f}x | {'yes' if same else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs the benchmark workloads on nesy and its peers, one process per run,
and prints time, peak memory and the ratio of each peer to nesy.

    cargo build --release --manifest-path benches/peers/Cargo.toml
    pip install clingo
    python3 benches/compare.py [--quick] [--timeout SECONDS] [--repeat N]
    cargo build --release -p nesy-cli
    python3 benches/compare.py --whole [--quick]

Engines: nesy (all cores, rayon), nesy-1t (one thread), datafrog, ascent and
crepe (Rust crates, linked into benches/peers), clingo (Python API). Each
run's time is measured inside the process, from the input edges to the
derived relation (for clingo: grounding and solving); peak memory is the
process's maximum resident set, read from the operating system when it
exits. The graphs come from benches/workloads.rs (seeded, 5 edges per node).

`--whole` times the whole process as a user runs it, on nesy and datafrog:
read the edges from a .facts file, evaluate, write the derived relation as
TSV to a file (`nesy run FILE -r reach --format tsv > OUT`, against
datafrog's plan reading the same file and writing `reach<TAB>x<TAB>y`
lines through a buffered writer in its own order). Time is the wall clock
of the process, measured from outside; tc on 2,000 and 10,000 nodes.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(ROOT, "peers", "target", "release", "nesy-peers")

SIZES = {"tc": [1000, 2000, 4000], "sg": [1000, 2000], "join": [4000, 16000]}
QUICK = {"tc": [1000], "sg": [1000], "join": [4000]}
ENGINES = ["nesy", "nesy-1t", "datafrog", "ascent", "crepe", "clingo"]
NESY = os.path.join(os.path.dirname(ROOT), "target", "release", "nesy")
WHOLE_SIZES = {"tc": [2000, 10000]}
WHOLE_QUICK = {"tc": [2000]}
WHOLE_RULES = {
    "tc": ("reach", "reach(X, Y) :- edge(X, Y).\nreach(X, Z) :- reach(X, Y), edge(Y, Z).\n"),
    "sg": ("sg", "sg(X, Y) :- edge(P, X), edge(P, Y), X != Y.\nsg(X, Y) :- edge(A, X), sg(A, B), edge(B, Y).\n"),
}

CLINGO_PROGRAMS = {
    "tc": ("reach", "reach(X,Y) :- edge(X,Y). reach(X,Z) :- reach(X,Y), edge(Y,Z)."),
    "sg": ("sg", "sg(X,Y) :- edge(P,X), edge(P,Y), X != Y. sg(X,Y) :- edge(A,X), sg(A,B), edge(B,Y)."),
    "join": (
        "indirect",
        "node(X) :- edge(X,_). node(Y) :- edge(_,Y). two(X,Z) :- edge(X,Y), edge(Y,Z). "
        "three(X,W) :- two(X,Z), edge(Z,W). indirect(X,W) :- three(X,W), not edge(X,W). "
        "fanout(X,N) :- node(X), N = #count { W : indirect(X,W) }.",
    ),
}


def clingo_child(workload, facts_file):
    """Runs in a child process: one clingo run, one JSON line."""
    import clingo

    relation, rules = CLINGO_PROGRAMS[workload]
    edges = [line.split("\t") for line in open(facts_file).read().splitlines()]
    start = time.perf_counter()
    ctl = clingo.Control(["--warn=none"])
    ctl.add("base", [], "".join(f"edge({a},{b})." for a, b in edges) + rules)
    ctl.ground([("base", [])])
    count = 0

    def on_model(model):
        nonlocal count
        count = sum(1 for s in model.symbols(atoms=True) if s.name == relation)

    ctl.solve(on_model=on_model)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "tuples": count}))


def wait(proc, started, timeout):
    """Waits for `proc`, polling (its output goes to a pipe or a file);
    returns (status, resource usage), or None when it ran past `timeout`
    seconds from `started` (a perf_counter reading) and was killed."""
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            return status, usage
        if time.perf_counter() - started > timeout:
            proc.kill()
            os.wait4(proc.pid, 0)
            return None
        time.sleep(0.005)


def run(command, env, timeout):
    """Runs one engine; returns (seconds, tuples, peak_kb) or a reason."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    waited = wait(proc, started, timeout)
    if waited is None:
        return "timeout"
    status, usage = waited
    out = proc.stdout.read()
    if status != 0:
        return "failed: " + proc.stderr.read().strip()[-200:]
    result = json.loads(out.strip().splitlines()[-1])
    return result["seconds"], result["tuples"], usage.ru_maxrss


def run_whole(command, out_path, timeout):
    """Runs one whole process, its standard output into `out_path` when
    the command does not write the file itself; returns (seconds, lines,
    peak_kb) or a reason."""
    started = time.perf_counter()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        waited = wait(proc, started, timeout)
    if waited is None:
        return "timeout"
    status, usage = waited
    seconds = time.perf_counter() - started
    if status != 0:
        return "failed: " + proc.stderr.read().decode(errors="replace").strip()[-200:]
    with open(out_path, "rb") as f:
        lines = sum(1 for line in f if not line.startswith(b"{"))
    return seconds, lines, usage.ru_maxrss


def whole(args):
    if not os.path.exists(NESY):
        sys.exit("build nesy first: cargo build --release -p nesy-cli")
    sizes = WHOLE_QUICK if args.quick else WHOLE_SIZES
    print("| workload | nodes | tuples | nesy | datafrog | datafrog / nesy (time, memory) |")
    print("|---|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for workload, ns in sizes.items():
            relation, rules = WHOLE_RULES[workload]
            for n in ns:
                facts = os.path.join(tmp, f"edges-{n}.facts")
                subprocess.run([PEERS, "facts", str(n), facts], check=True)
                program = os.path.join(tmp, f"{workload}-{n}.nesy")
                with open(program, "w") as f:
                    f.write(f'@import edge from "{facts}".\n' + rules)
                out = os.path.join(tmp, "out.tsv")
                commands = {
                    "nesy": [NESY, "run", program, "-r", relation, "--format", "tsv"],
                    # datafrog writes OUT itself and prints one JSON line.
                    "datafrog": [PEERS, "whole", "datafrog", workload, facts, out],
                }
                results = {}
                for engine, command in commands.items():
                    target = out if engine == "nesy" else os.path.join(tmp, "stdout")
                    runs = [run_whole(command, target, args.timeout) for _ in range(args.repeat)]
                    done = sorted((r for r in runs if not isinstance(r, str)), key=lambda r: r[0])
                    r = done[len(done) // 2] if len(done) == len(runs) else runs[-1]
                    if engine == "datafrog" and not isinstance(r, str):
                        with open(out, "rb") as f:
                            r = (r[0], sum(1 for _ in f), r[2])
                    results[engine] = r
                    shown = r if isinstance(r, str) else f"{r[0]:.2f} s, {r[2] / 1024:.0f} MiB, {r[1]} rows"
                    print(f"{workload:5} {n:6} {engine:9} {shown}", file=sys.stderr, flush=True)
                a, b = results["nesy"], results["datafrog"]
                if isinstance(a, str) or isinstance(b, str):
                    print(f"| {workload} | {n} | ? | {a} | {b} | |")
                    continue
                mismatch = "" if a[1] == b[1] else f" (rows differ: {a[1]} vs {b[1]})"
                print(f"| {workload} | {n} | {a[1]} | {a[0]:.2f} s / {a[2] / 1024:.0f} MiB | "
                      f"{b[0]:.2f} s / {b[2] / 1024:.0f} MiB | {b[0] / a[0]:.2f}x, {b[2] / a[2]:.2f}x{mismatch} |",
                      flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smallest size of each workload only")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per run (default 300)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell; the median time is kept (default 1)")
    parser.add_argument("--whole", action="store_true",
                        help="whole processes (read, evaluate, write TSV): nesy's CLI against datafrog")
    parser.add_argument("--clingo-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.whole:
        if not os.path.exists(PEERS):
            sys.exit(f"build the peers first: cargo build --release --manifest-path {ROOT}/peers/Cargo.toml")
        whole(args)
        return
    if args.clingo_child:
        clingo_child(*args.clingo_child)
        return
    if not os.path.exists(PEERS):
        sys.exit(f"build the peers first: cargo build --release --manifest-path {ROOT}/peers/Cargo.toml")
    engines = args.engines.split(",")
    sizes = QUICK if args.quick else SIZES
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workload, ns in sizes.items():
            for n in ns:
                results = {}
                for engine in engines:
                    env = dict(os.environ)
                    if engine == "clingo":
                        facts = os.path.join(tmp, f"edges-{n}.facts")
                        if not os.path.exists(facts):
                            subprocess.run([PEERS, "facts", str(n), facts], check=True)
                        command = [sys.executable, os.path.abspath(__file__), "--clingo-child", workload, facts]
                    else:
                        name = engine
                        if engine == "nesy-1t":
                            name, env["RAYON_NUM_THREADS"] = "nesy", "1"
                        command = [PEERS, "run", name, workload, str(n)]
                    runs = [run(command, env, args.timeout) for _ in range(args.repeat)]
                    done = sorted((r for r in runs if not isinstance(r, str)), key=lambda r: r[0])
                    results[engine] = done[len(done) // 2] if len(done) == len(runs) else runs[-1]
                    r = results[engine]
                    shown = r if isinstance(r, str) else f"{r[0]:.3f} s, {r[2] / 1024:.0f} MiB, {r[1]} tuples"
                    print(f"{workload:5} {n:6} {engine:9} {shown}", file=sys.stderr, flush=True)
                rows.append((workload, n, results))
    print(table(rows, engines))


def table(rows, engines):
    out = ["| workload | nodes | tuples | " + " | ".join(engines) + " |"]
    out.append("|---|---:|---:|" + "---:|" * len(engines))
    for workload, n, results in rows:
        base = results.get("nesy")
        tuples = base[1] if isinstance(base, tuple) else "?"
        cells = []
        for engine in engines:
            r = results.get(engine)
            if isinstance(r, str):
                cells.append(r.split(":")[0])
            elif not isinstance(base, tuple) or engine == "nesy":
                cells.append(f"{r[0]:.2f} s / {r[2] / 1024:.0f} MiB")
            else:
                mismatch = "" if r[1] == base[1] else f" (got {r[1]} tuples!)"
                cells.append(
                    f"{r[0]:.2f} s / {r[2] / 1024:.0f} MiB ({r[0] / base[0]:.2f}x, {r[2] / base[2]:.2f}x){mismatch}"
                )
        out.append(f"| {workload} | {n} | {tuples} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Each cell: time / peak memory (the peer's time and memory as a multiple of nesy's).")
    return "\n".join(out)


if __name__ == "__main__":
    main()

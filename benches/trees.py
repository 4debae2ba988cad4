#!/usr/bin/env python3
"""Decision trees, nesy against scikit-learn, on the same splits.

    cargo build --release -p nesy-cli
    pip install scikit-learn
    python3 benches/trees.py [--repeat 3] [--splits 10]

For each dataset (iris, breast_cancer from knowledge/tabular/) the rows are
shuffled with seeds 0..splits-1 and cut 70/30 into a train and a test CSV;
both tools fit on the train rows and are scored on the test rows, and the
accuracy shown is the mean over the splits (one split of iris's 45 test
rows moves accuracy by 2.2 points, so a single split says little). nesy runs as
`nesy train tree --data train.csv --test-data test.csv --format json`; its
fit time is the `fit_seconds` it reports (fitting plus scoring both parts,
without process start and CSV parsing); scikit-learn's is the time of
`fit()`. Each time is the best of --repeat runs on split 0. Pairs compared:

  CART (nesy, linfa-trees)       vs DecisionTreeClassifier (same max depth)
  forest (nesy, linfa-ensemble)  vs RandomForestClassifier (same tree count)
  soft tree (nesy, candle)       vs RandomForestClassifier
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")
DATA = os.path.join(ROOT, "knowledge", "tabular")


def split(name, seed, tmp):
    with open(os.path.join(DATA, name + ".csv")) as f:
        lines = [l.rstrip("\r\n") for l in f if l.strip()]
    header, rows = lines[0], lines[1:]
    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * 0.7)
    paths = []
    for part, part_rows in (("train", rows[:cut]), ("test", rows[cut:])):
        path = os.path.join(tmp, f"{name}-{part}.csv")
        with open(path, "w") as f:
            f.write(header + "\n" + "\n".join(part_rows) + "\n")
        paths.append(path)
    return paths


def load_xy(path):
    with open(path) as f:
        lines = [l.strip().split(",") for l in f if l.strip()]
    return [[float(v) for v in r[:-1]] for r in lines[1:]], [r[-1] for r in lines[1:]]


def nesy(train, test, args, repeat):
    best = None
    for _ in range(repeat):
        out = subprocess.run([NESY, "train", "tree", "--data", train, "--target", "class", "--test-data", test,
                              "--format", "json", "-o", os.path.join(os.path.dirname(train), "m.tree")] + args,
                             check=True, capture_output=True, text=True).stdout
        report = json.loads(out)
        if best is None or report["fit_seconds"] < best["fit_seconds"]:
            best = report
    return best["test"]["accuracy"], best["fit_seconds"]


def sklearn_fit(make, train, test, repeat):
    xs, ys = load_xy(train)
    xt, yt = load_xy(test)
    best_time, accuracy = None, None
    for _ in range(repeat):
        model = make()
        start = time.perf_counter()
        model.fit(xs, ys)
        elapsed = time.perf_counter() - start
        accuracy = sum(p == t for p, t in zip(model.predict(xt), yt)) / len(yt)
        best_time = elapsed if best_time is None else min(best_time, elapsed)
    return accuracy, best_time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--splits", type=int, default=10)
    args = parser.parse_args()
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    print("| data | model | nesy accuracy | scikit-learn accuracy | nesy fit | scikit-learn fit | fit ratio |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("iris", "breast_cancer"):
            cases = []
            for depth in (3, None):
                cases.append((f"CART, depth {depth or 'unlimited'}",
                              lambda seed, d=depth: ["--seed", str(seed)] + (["--max-depth", str(d)] if d else []),
                              lambda seed, d=depth: DecisionTreeClassifier(max_depth=d, random_state=seed)))
            cases.append(("forest, 100 trees", lambda seed: ["--variant", "forest", "--trees", "100", "--seed", str(seed)],
                          lambda seed: RandomForestClassifier(n_estimators=100, random_state=seed)))
            cases.append(("soft tree (depth 4) vs sklearn forest", lambda seed: ["--variant", "soft", "--seed", str(seed)],
                          lambda seed: RandomForestClassifier(n_estimators=100, random_state=seed)))
            for label, flags, make in cases:
                ours_acc, theirs_acc = [], []
                ours_time = theirs_time = None
                for seed in range(args.splits):
                    train, test = split(name, seed, tmp)
                    repeat = args.repeat if seed == 0 else 1
                    ours = nesy(train, test, flags(seed), repeat)
                    theirs = sklearn_fit(lambda: make(seed), train, test, repeat)
                    ours_acc.append(ours[0])
                    theirs_acc.append(theirs[0])
                    if seed == 0:
                        ours_time, theirs_time = ours[1], theirs[1]
                row(name, label, (sum(ours_acc) / len(ours_acc), ours_time),
                    (sum(theirs_acc) / len(theirs_acc), theirs_time))


def row(name, model, ours, theirs):
    print(f"| {name} | {model} | {ours[0]:.4f} | {theirs[0]:.4f} | {ours[1] * 1000:.1f} ms | {theirs[1] * 1000:.1f} ms | "
          f"{ours[1] / theirs[1]:.2f}x |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Decision trees, nesy against scikit-learn, on the same splits.

    cargo build --release -p nesy-cli
    pip install scikit-learn
    python3 benches/trees.py [--splits 3] [--repeat 3] [--soft] [--limits] [--data iris,wine,...]

Tables: iris, breast_cancer, wine, penguins (categorical `island` and `sex`)
from knowledge/tabular/, and digits (examples/digits_addition/digits.csv,
its `id` column left out with `--id id`). For each, the rows are shuffled
with seeds 0..splits-1 and cut 70/30 into a train and a test CSV; both tools
fit on the train rows and are scored on the test rows; the accuracy shown
is the mean over the splits. scikit-learn gets categorical columns one-hot
encoded, as nesy encodes them. nesy runs as `nesy train tree --data
train.csv --test-data test.csv --format json`; its fit time is the
`fit_seconds` it reports (fitting plus scoring both parts, without process
start and CSV parsing); scikit-learn's is the time of `fit()`. Each time is
the best of --repeat runs on split 0. Pairs compared, same seed:

  CART (nesy)      vs DecisionTreeClassifier (unlimited depth, gini; with
                      --limits also depth 3, entropy, and leaf/split minimums)
  forest (nesy)    vs RandomForestClassifier (100 trees, sqrt features per split)
  soft tree (nesy) vs RandomForestClassifier (with --soft)

and regression (`--task regression`, squared error), RMSE on the test rows:
diabetes (scikit-learn's, 10 numeric features) and penguins' body mass
(with `island`, `sex` and the species as categorical features):

  CART (nesy)      vs DecisionTreeRegressor (unlimited depth)
  forest (nesy)    vs RandomForestRegressor (100 trees, every feature per split)
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")
DATA = os.path.join(ROOT, "knowledge", "tabular")
REGRESSION = {
    "diabetes": (os.path.join(DATA, "diabetes.csv"), "progression"),
    "penguins_mass": (os.path.join(DATA, "penguins.csv"), "body_mass_g"),
}
TABLES = {
    "iris": (os.path.join(DATA, "iris.csv"), []),
    "breast_cancer": (os.path.join(DATA, "breast_cancer.csv"), []),
    "wine": (os.path.join(DATA, "wine.csv"), []),
    "digits": (os.path.join(ROOT, "examples", "digits_addition", "digits.csv"), ["--id", "id"]),
    "penguins": (os.path.join(DATA, "penguins.csv"), []),
}


def split(name, seed, tmp):
    path = TABLES[name][0] if name in TABLES else REGRESSION[name][0]
    with open(path) as f:
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


def read(path):
    with open(path) as f:
        lines = [l.strip().split(",") for l in f if l.strip()]
    return lines[0], lines[1:]


def load_xy(train, test, target_name="class", numeric_target=False):
    """Features as scikit-learn gets them: numbers as they are, other
    columns one-hot over the training rows' categories; `id` left out."""
    header, rows = read(train)
    _, test_rows = read(test)
    target = header.index(target_name)
    columns = [i for i, h in enumerate(header) if i != target and h != "id"]

    def number(v):
        try:
            return float(v)
        except ValueError:
            return None

    encoders = []
    for i in columns:
        if all(number(r[i]) is not None for r in rows):
            encoders.append((i, None))
        else:
            encoders.append((i, sorted({r[i] for r in rows})))

    def encode(r):
        out = []
        for i, categories in encoders:
            if categories is None:
                out.append(float(r[i]))
            else:
                out.extend(1.0 if r[i] == c else 0.0 for c in categories)
        return out

    y = (lambda r: float(r[target])) if numeric_target else (lambda r: r[target])
    return ([encode(r) for r in rows], [y(r) for r in rows],
            [encode(r) for r in test_rows], [y(r) for r in test_rows])


def regression(name, seed, tmp, forest, repeat):
    """RMSE and fit time of nesy and scikit-learn on one split."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.tree import DecisionTreeRegressor
    _, target = REGRESSION[name]
    train, test = split(name, seed, tmp)
    flags = ["--variant", "forest", "--trees", "100"] if forest else []
    best = None
    for _ in range(repeat):
        out = subprocess.run([NESY, "train", "tree", "--task", "regression", "--data", train, "--target", target,
                              "--test-data", test, "--seed", str(seed), "--format", "json",
                              "-o", os.path.join(tmp, "r.tree")] + flags,
                             check=True, capture_output=True, text=True).stdout
        report = json.loads(out)
        if best is None or report["fit_seconds"] < best["fit_seconds"]:
            best = report
    xs, ys, xt, yt = load_xy(train, test, target, numeric_target=True)
    theirs_time = None
    for _ in range(repeat):
        model = (RandomForestRegressor(n_estimators=100, random_state=seed) if forest
                 else DecisionTreeRegressor(random_state=seed))
        start = time.perf_counter()
        model.fit(xs, ys)
        elapsed = time.perf_counter() - start
        theirs_time = elapsed if theirs_time is None else min(theirs_time, elapsed)
    rmse = math.sqrt(sum((p - t) ** 2 for p, t in zip(model.predict(xt), yt)) / len(yt))
    return (best["test"]["rmse"], best["fit_seconds"]), (rmse, theirs_time)


def nesy(name, train, test, args, repeat):
    best = None
    model = os.path.join(os.path.dirname(train), "m.tree")
    for _ in range(repeat):
        out = subprocess.run([NESY, "train", "tree", "--data", train, "--target", "class", "--test-data", test,
                              "--format", "json", "-o", model] + TABLES[name][1] + args,
                             check=True, capture_output=True, text=True).stdout
        report = json.loads(out)
        if best is None or report["fit_seconds"] < best["fit_seconds"]:
            best = report
    scores = json.loads(subprocess.run(
        [NESY, "eval", "tree", "--model", model, "--data", test, "--format", "json"],
        check=True, capture_output=True, text=True).stdout)
    return best["test"]["accuracy"], best["fit_seconds"], scores["log_loss"]


def sklearn_fit(make, train, test, repeat):
    xs, ys, xt, yt = load_xy(train, test)
    best_time, accuracy = None, None
    for _ in range(repeat):
        model = make()
        start = time.perf_counter()
        model.fit(xs, ys)
        elapsed = time.perf_counter() - start
        accuracy = sum(p == t for p, t in zip(model.predict(xt), yt)) / len(yt)
        best_time = elapsed if best_time is None else min(best_time, elapsed)
    # Log-loss as nesy's `eval tree` computes it: -ln p(true class), p
    # clipped at 1e-15 (a class unseen in training has p = 0).
    classes = list(model.classes_)
    loss = 0.0
    for p, t in zip(model.predict_proba(xt), yt):
        q = p[classes.index(t)] if t in classes else 0.0
        loss -= math.log(max(q, 1e-15))
    return accuracy, best_time, loss / len(yt)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--soft", action="store_true", help="also the soft tree against the forest")
    parser.add_argument("--data", default=",".join(TABLES), help="comma-separated tables")
    parser.add_argument("--limits", action="store_true",
                        help="also CART under depth, criterion and leaf limits against DecisionTreeClassifier")
    parser.add_argument("--regression", default=",".join(REGRESSION),
                        help="comma-separated regression tables ('' for none)")
    args = parser.parse_args()
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    cases = [
        ("CART", lambda seed: ["--seed", str(seed)],
         lambda seed: DecisionTreeClassifier(random_state=seed)),
    ]
    if args.limits:
        for label, flags, kw in [
            ("CART, depth 3", ["--max-depth", "3"], dict(max_depth=3)),
            ("CART, entropy", ["--criterion", "entropy"], dict(criterion="entropy")),
            ("CART, leaf >= 5, split >= 10", ["--min-samples-leaf", "5", "--min-samples-split", "10"],
             dict(min_samples_leaf=5, min_samples_split=10)),
        ]:
            cases.append((label, lambda seed, f=flags: f + ["--seed", str(seed)],
                          lambda seed, k=kw: DecisionTreeClassifier(random_state=seed, **k)))
    cases += [
        ("forest", lambda seed: ["--variant", "forest", "--trees", "100", "--seed", str(seed)],
         lambda seed: RandomForestClassifier(n_estimators=100, random_state=seed)),
    ]
    if args.soft:
        cases.append(("soft tree vs forest", lambda seed: ["--variant", "soft", "--seed", str(seed)],
                      lambda seed: RandomForestClassifier(n_estimators=100, random_state=seed)))
    print(f"mean test accuracy and log-loss over {args.splits} seeded 70/30 splits; fit times: best of "
          f"{args.repeat} on split 0; nesy's CART leaves smoothed, forest leaves raw (the defaults)")
    print("| table | model | nesy | scikit-learn | difference | nesy log-loss | scikit-learn log-loss "
          "| nesy fit | scikit-learn fit | fit ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.data.split(","):
            for label, flags, make in cases:
                ours_acc, theirs_acc, ours_loss, theirs_loss = [], [], [], []
                ours_time = theirs_time = None
                for seed in range(args.splits):
                    train, test = split(name, seed, tmp)
                    repeat = args.repeat if seed == 0 else 1
                    ours = nesy(name, train, test, flags(seed), repeat)
                    theirs = sklearn_fit(lambda: make(seed), train, test, repeat)
                    ours_acc.append(ours[0])
                    theirs_acc.append(theirs[0])
                    ours_loss.append(ours[2])
                    theirs_loss.append(theirs[2])
                    if seed == 0:
                        ours_time, theirs_time = ours[1], theirs[1]
                mean = lambda xs: sum(xs) / len(xs)
                row(name, label, (mean(ours_acc), ours_time, mean(ours_loss)),
                    (mean(theirs_acc), theirs_time, mean(theirs_loss)))
        tables = [t for t in args.regression.split(",") if t]
        if tables:
            print()
            print(f"regression: mean test RMSE over {args.splits} splits (lower is better)")
            print("| table | model | nesy RMSE | scikit-learn RMSE | nesy / scikit-learn | nesy fit "
                  "| scikit-learn fit | fit ratio |")
            print("|---|---|---|---|---|---|---|---|")
        for name in tables:
            for label, forest in (("CART", False), ("forest", True)):
                ours, theirs = [], []
                for seed in range(args.splits):
                    a, b = regression(name, seed, tmp, forest, args.repeat if seed == 0 else 1)
                    ours.append(a)
                    theirs.append(b)
                r_ours = sum(o[0] for o in ours) / len(ours)
                r_theirs = sum(t[0] for t in theirs) / len(theirs)
                print(f"| {name} | {label} | {r_ours:.2f} | {r_theirs:.2f} | {r_ours / r_theirs:.3f} | "
                      f"{ours[0][1] * 1000:.1f} ms | {theirs[0][1] * 1000:.1f} ms | "
                      f"{ours[0][1] / theirs[0][1]:.2f}x |")
                sys.stdout.flush()


def row(name, model, ours, theirs):
    print(f"| {name} | {model} | {ours[0]:.4f} | {theirs[0]:.4f} | {100 * (ours[0] - theirs[0]):+.1f} pt | "
          f"{ours[2]:.3f} | {theirs[2]:.3f} | "
          f"{ours[1] * 1000:.1f} ms | {theirs[1] * 1000:.1f} ms | {ours[1] / theirs[1]:.2f}x |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

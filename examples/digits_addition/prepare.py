#!/usr/bin/env python3
"""Makes the digits-addition data from digits.csv (scikit-learn's 8x8 digits,
1,797 images; copied from the project's shared data, BSD-3, UCI Optical
Recognition of Handwritten Digits).

    python3 examples/digits_addition/prepare.py [--seed 0] [--pairs 600] [--epochs 5]

Writes, beside this file:
- train.csv / test.csv: a fixed seeded split, 1,200 training and 597 test
  images (id, p0..p63, class), for the supervised reference line;
- train_pairs.tsv: for each epoch 600 pairs drawn afresh from the training
  images, `addition(a, b, s)<TAB>1<TAB>pair(a, b)`: only the sum is given,
  never a digit label;
- test_pairs.tsv: a fixed list of 597 test pairs, the same form;
- train_quads.tsv / test_quads.tsv: the same for N = 2 (two two-digit
  numbers, `addition2(a, b, c, d, s)<TAB>1<TAB>quad(a, b, c, d)`), as many
  per epoch as pairs, and 300 test quadruples.
"""

import argparse
import csv
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    with open(os.path.join(HERE, "digits.csv")) as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    rng = random.Random(args.seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    train = [rows[i] for i in order[:1200]]
    test = [rows[i] for i in order[1200:]]
    for name, part in [("train.csv", train), ("test.csv", test)]:
        with open(os.path.join(HERE, name), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(part)

    def pairs(part, n):
        out = []
        for _ in range(n):
            a, b = rng.choice(part), rng.choice(part)
            s = int(a[-1]) + int(b[-1])
            out.append(f"addition({a[0]}, {b[0]}, {s})\t1\tpair({a[0]}, {b[0]})\n")
        return out

    with open(os.path.join(HERE, "train_pairs.tsv"), "w") as f:
        for _ in range(args.epochs):
            f.writelines(pairs(train, args.pairs))
    with open(os.path.join(HERE, "test_pairs.tsv"), "w") as f:
        f.writelines(pairs(test, len(test)))

    def quads(part, n):
        out = []
        for _ in range(n):
            a, b, c, d = (rng.choice(part) for _ in range(4))
            s = 10 * int(a[-1]) + int(b[-1]) + 10 * int(c[-1]) + int(d[-1])
            ids = ", ".join(x[0] for x in (a, b, c, d))
            out.append(f"addition2({ids}, {s})\t1\tquad({ids})\n")
        return out

    with open(os.path.join(HERE, "train_quads.tsv"), "w") as f:
        for _ in range(args.epochs):
            f.writelines(quads(train, args.pairs))
    with open(os.path.join(HERE, "test_quads.tsv"), "w") as f:
        f.writelines(quads(test, 300))


if __name__ == "__main__":
    main()

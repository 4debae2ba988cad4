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
  per epoch as pairs, and 300 test quadruples;
- valid_pairs.tsv / valid_quads.tsv: 100 examples each from the training
  images (sums only), for `--valid` and `--restarts`.
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

    def examples(part, n, digits):
        """n examples of two numbers of `digits` images each: N = 1 is
        `addition(a, b, s)` with `pair(a, b)`, N = 2 `addition2(a, b, c,
        d, s)` with `quad(a, b, c, d)`."""
        relation, facts = {1: ("addition", "pair"), 2: ("addition2", "quad")}[digits]
        out = []
        for _ in range(n):
            images = [rng.choice(part) for _ in range(2 * digits)]
            number = lambda xs: sum(int(x[-1]) * 10 ** (len(xs) - 1 - i) for i, x in enumerate(xs))
            s = number(images[:digits]) + number(images[digits:])
            ids = ", ".join(x[0] for x in images)
            out.append(f"{relation}({ids}, {s})\t1\t{facts}({ids})\n")
        return out

    for digits, name, test_count in [(1, "pairs", len(test)), (2, "quads", 300)]:
        with open(os.path.join(HERE, f"train_{name}.tsv"), "w") as f:
            for _ in range(args.epochs):
                f.writelines(examples(train, args.pairs, digits))
        with open(os.path.join(HERE, f"test_{name}.tsv"), "w") as f:
            f.writelines(examples(test, test_count, digits))
    # Validation examples from the training images (sums only), drawn last
    # so that the files above stay as they were: what `--valid` and
    # `--restarts` choose on.
    for digits, name in [(1, "pairs"), (2, "quads")]:
        with open(os.path.join(HERE, f"valid_{name}.tsv"), "w") as f:
            f.writelines(examples(train, 100, digits))

if __name__ == "__main__":
    main()

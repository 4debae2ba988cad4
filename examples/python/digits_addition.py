#!/usr/bin/env python3
"""MNIST-style digits addition with a torch CNN trained through nesy's
rules: `nesy.torch.Layer` turns the network's softmax over each image's
classes into the probability of each sum, and `loss.backward()` carries
the gradient back through the proofs into the CNN. No digit label is used
for training, only the sums.

    pip install . torch      # at the repository root
    python3 examples/python/digits_addition.py [--epochs 20] [--seed 0]

The data is scikit-learn's 8x8 digits (examples/digits_addition/digits.csv),
split as examples/digits_addition/prepare.py splits it (1,200 training and
597 test images, seeded); each epoch draws 600 training pairs afresh; the
test is 597 pairs of test images. The CNN is the one of `nesy train net
--image 8x8 --channels 16 --hidden 64` (a 3x3 convolution of 16 filters,
ReLU, 2x2 max-pooling, 64 ReLU units, 10 classes); Adam, learning rate
0.003, batches of 16, as the Rust-only run in that directory's README.
"""

import argparse
import csv
import pathlib
import random
import time

import torch

import nesy
from nesy.torch import Layer

HERE = pathlib.Path(__file__).resolve().parent
DIGITS = HERE.parent / "digits_addition" / "digits.csv"
RULES = "addition(X, Y, Z) :- digit(X, A), digit(Y, B), Z = A + B."


def load(seed):
    with open(DIGITS) as f:
        rows = list(csv.reader(f))[1:]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    images = torch.tensor([[float(v) / 16.0 for v in r[1:-1]] for r in rows]).reshape(-1, 1, 8, 8)
    labels = torch.tensor([int(r[-1]) for r in rows])
    train, test = order[:1200], order[1200:]
    return images, labels, train, test


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 3 * 3, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )


def draw_pairs(seed, train, test, epochs, per_epoch):
    """The test pairs, then each epoch's training pairs, from one seeded
    generator (benches/torch_layer_vs_deepproblog.py draws the same)."""
    rng = random.Random(seed)
    test_pairs = [(rng.choice(test), rng.choice(test)) for _ in range(len(test))]
    epochs = [[(rng.choice(train), rng.choice(train)) for _ in range(per_epoch)] for _ in range(epochs)]
    return test_pairs, epochs


def accuracy(net, images, labels, test, test_pairs, sums):
    """Sum accuracy on the test pairs (`sums(a, b)`: each pair's
    distribution over 0..18) and digit accuracy on the test images."""
    with torch.no_grad():
        a, b = (list(x) for x in zip(*test_pairs))
        sum_accuracy = (sums(a, b).argmax(-1) == labels[a] + labels[b]).float().mean().item()
        digit_accuracy = (net(images[test]).argmax(-1) == labels[test]).float().mean().item()
    return sum_accuracy, digit_accuracy


def train_through_layer(epochs=20, seed=0, pairs=600, batch=16, lr=0.003):
    """Trains the CNN through `nesy.torch.Layer`; returns the sum and digit
    accuracies and the seconds per epoch."""
    torch.manual_seed(seed)
    images, labels, train, test = load(seed)
    test_pairs, epoch_pairs = draw_pairs(seed, train, test, epochs, pairs)

    layer = Layer(
        nesy.Program.from_source(RULES, name="addition.nesy"),
        inputs={"digit": [(image, d) for image in ("a", "b") for d in range(10)]},
        outputs={"addition": [("a", "b", s) for s in range(19)]},
        semiring="diff-top-k",
        k=10,  # every proof of every sum: exact
    )
    net = cnn()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)

    def sums(a, b):
        return layer(torch.cat([net(images[a]).softmax(-1), net(images[b]).softmax(-1)], dim=1))

    seconds = []
    for drawn in epoch_pairs:
        start = time.perf_counter()
        for i in range(0, len(drawn), batch):
            a, b = zip(*drawn[i : i + batch])
            target = labels[list(a)] + labels[list(b)]
            loss = torch.nn.functional.nll_loss(sums(list(a), list(b)).clamp_min(1e-12).log(), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    sum_accuracy, digit_accuracy = accuracy(net, images, labels, test, test_pairs, sums)
    return {
        "sum_accuracy": sum_accuracy,
        "digit_accuracy": digit_accuracy,
        "seconds_per_epoch": sum(seconds) / len(seconds),
        "test_pairs": len(test_pairs),
        "test_images": len(test),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=600)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.003)
    args = parser.parse_args()
    r = train_through_layer(args.epochs, args.seed, args.pairs, args.batch, args.lr)
    print(f"epochs {args.epochs}, seed {args.seed}: sum accuracy {r['sum_accuracy']:.4f} on {r['test_pairs']} test pairs, "
          f"digit accuracy {r['digit_accuracy']:.4f} on {r['test_images']} test images, "
          f"{r['seconds_per_epoch']:.2f} s per epoch of {args.pairs} pairs")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""DeepProbLog's side of the digits-addition benchmark: the same examples,
images, network shape, initialisation, optimiser, batch size and learning
rate as `nesy train program` in benches/digits_addition.py, on DeepProbLog
2.1 (pip: deepproblog, torch) with its exact engine.

    python3 benches/deepproblog_addition.py --n 1 --seed 0 --epochs 20

Run by benches/digits_addition.py (with `--peer-python`, the interpreter
where deepproblog is installed) after examples/digits_addition/prepare.py
made the split and the example files. Prints one JSON object:
{"sum_accuracy", "digit_accuracy", "seconds_per_epoch", "seconds"}.

The program is DeepProbLog's own MNIST-addition model
(deepproblog/examples/MNIST/models/addition.pl), with the 8x8 digits for
MNIST: `digit/2` is the network's softmax over 0..9, `addition/3` (N = 1)
and `multi_addition/3` (N = 2, numbers as lists of digit images).
"""

import argparse
import csv
import json
import os
import re
import time

import torch
from problog.logic import Constant, Term, list2term

from deepproblog.dataset import DataLoader, Dataset
from deepproblog.engines import ExactEngine
from deepproblog.evaluate import get_confusion_matrix
from deepproblog.model import Model
from deepproblog.network import Network
from deepproblog.query import Query
from deepproblog.train import train_model

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(HERE), "examples", "digits_addition")

PROGRAM = """
nn(digit_net,[X],Y,[0,1,2,3,4,5,6,7,8,9]) :: digit(X,Y).

number([],Result,Result).
number([H|T],Acc,Result) :- digit(H,Nr), Acc2 is Nr+10*Acc, number(T,Acc2,Result).
number(X,Y) :- number(X,0,Y).

multi_addition(X,Y,Z) :- number(X,X2), number(Y,Y2), Z is X2+Y2.
addition(X,Y,Z) :- digit(X,X2), digit(Y,Y2), Z is X2+Y2.
"""


class Images:
    """digits.csv as a tensor source: `tensor(images(17))` is the row of
    `img17`, standardised as nesy's network standardises it (the mean and
    deviation of every image of the table it was made for)."""

    def __init__(self, path):
        with open(path) as f:
            rows = list(csv.reader(f))[1:]
        self.ids = {row[0]: i for i, row in enumerate(rows)}
        self.labels = [int(row[-1]) for row in rows]
        x = torch.tensor([[float(v) for v in row[1:-1]] for row in rows])
        std = x.std(dim=0, unbiased=False)
        self.x = (x - x.mean(dim=0)) / torch.where(std > 0, std, torch.ones_like(std))

    def __getitem__(self, item):
        return self.x[int(item[0])]


class Examples(Dataset):
    """The example file nesy trains on: `addition(img1, img2, s)<TAB>1...`
    (N = 1) or `addition2(img1, img2, img3, img4, s)<TAB>1...` (N = 2)."""

    def __init__(self, path, images, n):
        self.n = n
        self.data = []
        with open(path) as f:
            for line in f:
                atom = line.split("\t")[0]
                args = re.findall(r"[\w]+", atom)[1:]
                *ids, total = args
                self.data.append(([images.ids[i] for i in ids], int(total)))

    def __len__(self):
        return len(self.data)

    def to_query(self, i):
        rows, total = self.data[i]
        subs = {Term(f"p{j}"): Term("tensor", Term("images", Constant(r))) for j, r in enumerate(rows)}
        names = [Term(f"p{j}") for j in range(len(rows))]
        if self.n == 1:
            return Query(Term("addition", names[0], names[1], Constant(total)), subs)
        return Query(
            Term("multi_addition", list2term(names[:2]), list2term(names[2:]), Constant(total)),
            subs,
        )


class Mlp(torch.nn.Module):
    """64 -> hidden ReLU -> 10 softmax, Glorot-uniform weights and zero
    biases, as nesy's `net` model."""

    def __init__(self, hidden):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10),
            torch.nn.Softmax(dim=-1),
        )
        for layer in self.layers:
            if isinstance(layer, torch.nn.Linear):
                torch.nn.init.xavier_uniform_(layer.weight)
                torch.nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.layers(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, choices=[1, 2], default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20, help="epochs the example file holds")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-test", type=int, default=None)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    images = Images(os.path.join(EXAMPLE, "digits.csv"))
    name = {1: "pairs", 2: "quads"}[args.n]
    train = Examples(os.path.join(EXAMPLE, f"train_{name}.tsv"), images, args.n)
    test = Examples(os.path.join(EXAMPLE, f"test_{name}.tsv"), images, args.n)
    if args.max_test is not None:
        test.data = test.data[: args.max_test]

    network = Mlp(args.hidden)
    net = Network(network, "digit_net", batching=True)
    # Adam as nesy's AdamW with no weight decay.
    net.optimizer = torch.optim.Adam(network.parameters(), lr=args.lr)
    model = Model(PROGRAM, [net], load=False)
    model.set_engine(ExactEngine(model), cache=True)
    model.add_tensor_source("images", images)

    loader = DataLoader(train, args.batch, shuffle=True, seed=args.seed)
    start = time.time()
    train_model(model, loader, 1, log_iter=10**9, verbose=0)
    seconds = time.time() - start

    sums = get_confusion_matrix(model, test).accuracy()
    with open(os.path.join(EXAMPLE, "test.csv")) as f:
        ids = [row[0] for row in list(csv.reader(f))[1:]]
    network.eval()
    with torch.no_grad():
        x = torch.stack([images.x[images.ids[i]] for i in ids])
        predicted = network(x).argmax(dim=-1).tolist()
    digits = sum(p == images.labels[images.ids[i]] for p, i in zip(predicted, ids)) / len(ids)
    print(json.dumps({
        "sum_accuracy": sums,
        "digit_accuracy": digits,
        "seconds_per_epoch": seconds / args.epochs,
        "seconds": seconds,
    }))


if __name__ == "__main__":
    main()

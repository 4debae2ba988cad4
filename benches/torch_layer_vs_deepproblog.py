#!/usr/bin/env python3
"""nesy's PyTorch layer against DeepProbLog on one torch network: the CNN of
examples/python/digits_addition.py, trained on the sums of pairs of 8x8
digits, never their labels. Both runs start from the same weights (torch's
generator seeded alike), see the same training pairs in the same batches
(16, Adam at 0.003, 20 epochs of 600 pairs drawn by the example's seeded
generator) and are tested alike: the most probable sum of each of the 597
test pairs (computed exactly from the network's digit distributions) and
the digit accuracy on the 597 test images.

    pip install . torch deepproblog      # at the repository root
    python3 benches/torch_layer_vs_deepproblog.py [--seeds 0,1,2] [--epochs 20]

DeepProbLog 2.1 runs its own MNIST-addition program
(`addition(X,Y,Z) :- digit(X,X2), digit(Y,Y2), Z is X2+Y2.`) with its
exact engine (a cached SDD per query shape) and its cross-entropy on the
query's probability; the layer runs nesy's rule under `diff-top-k(10)`
(exact here) with the negative log-probability of the true sum: the same
loss. Prints one line per run and seed, then a Markdown table of means.
"""

import argparse
import importlib.util
import json
import pathlib
import statistics
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("digits_addition", ROOT / "examples" / "python" / "digits_addition.py")
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)


def train_deepproblog(epochs, seed, pairs, batch, lr):
    from problog.logic import Constant, Term

    from deepproblog.dataset import DataLoader, Dataset
    from deepproblog.engines import ExactEngine
    from deepproblog.model import Model
    from deepproblog.network import Network
    from deepproblog.query import Query
    from deepproblog.train import train_model

    torch.manual_seed(seed)
    images, labels, train, test = example.load(seed)
    test_pairs, epoch_pairs = example.draw_pairs(seed, train, test, epochs, pairs)

    class Pairs(Dataset):
        """Every epoch's pairs in the layer's order: `addition(a, b, sum)`."""

        def __init__(self, drawn):
            self.drawn = drawn

        def __len__(self):
            return len(self.drawn)

        def to_query(self, i):
            a, b = self.drawn[i]
            total = int(labels[a] + labels[b])
            subs = {
                Term("a"): Term("tensor", Term("images", Constant(a))),
                Term("b"): Term("tensor", Term("images", Constant(b))),
            }
            return Query(Term("addition", Term("a"), Term("b"), Constant(total)), subs)

    class Images:
        def __getitem__(self, item):
            return images[int(item[0])]

    net = example.cnn()
    network = Network(torch.nn.Sequential(net, torch.nn.Softmax(dim=-1)), "digit_net", batching=True)
    network.optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    model = Model(
        """
        nn(digit_net,[X],Y,[0,1,2,3,4,5,6,7,8,9]) :: digit(X,Y).
        addition(X,Y,Z) :- digit(X,X2), digit(Y,Y2), Z is X2+Y2.
        """,
        [network],
        load=False,
    )
    model.set_engine(ExactEngine(model), cache=True)
    model.add_tensor_source("images", Images())
    # One pass over all epochs' pairs in order, batches never crossing an
    # epoch's end (600 is not a multiple of 16): one loader per epoch.
    seconds = []
    for drawn in epoch_pairs:
        start = time.perf_counter()
        train_model(model, DataLoader(Pairs(drawn), batch, shuffle=False), 1, log_iter=10**9, verbose=0)
        seconds.append(time.perf_counter() - start)

    def sums(a, b):
        pa, pb = net(images[a]).softmax(-1), net(images[b]).softmax(-1)
        joint = pa.unsqueeze(2) * pb.unsqueeze(1)  # batch x 10 x 10
        out = torch.zeros(len(a), 19)
        for x in range(10):
            for y in range(10):
                out[:, x + y] += joint[:, x, y]
        return out

    net.eval()
    sum_accuracy, digit_accuracy = example.accuracy(net, images, labels, test, test_pairs, sums)
    return {
        "sum_accuracy": sum_accuracy,
        "digit_accuracy": digit_accuracy,
        "seconds_per_epoch": sum(seconds) / len(seconds),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=600)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--only", choices=["nesy", "deepproblog"], default=None)
    args = parser.parse_args()
    runs = {"nesy.torch.Layer": example.train_through_layer, "DeepProbLog 2.1 (exact)": train_deepproblog}
    if args.only == "nesy":
        runs.pop("DeepProbLog 2.1 (exact)")
    elif args.only == "deepproblog":
        runs.pop("nesy.torch.Layer")
    results = {name: [] for name in runs}
    for seed in (int(s) for s in args.seeds.split(",")):
        for name, run in runs.items():
            r = run(args.epochs, seed, args.pairs, args.batch, args.lr)
            results[name].append(r)
            print(json.dumps({"run": name, "seed": seed, **r}), flush=True)
    print()
    print("| run | sum accuracy | digit accuracy | s / epoch |")
    print("|---|---|---|---|")
    for name, rs in results.items():
        mean = {k: statistics.mean(r[k] for r in rs) for k in ("sum_accuracy", "digit_accuracy", "seconds_per_epoch")}
        print(f"| {name} | {mean['sum_accuracy']:.4f} | {mean['digit_accuracy']:.4f} | {mean['seconds_per_epoch']:.2f} |")
    if len(results) == 2:
        (a, ra), (b, rb) = results.items()
        ratio = statistics.mean(r["seconds_per_epoch"] for r in rb) / statistics.mean(r["seconds_per_epoch"] for r in ra)
        print(f"\n{b} takes {ratio:.1f}x the time per epoch of {a}")


if __name__ == "__main__":
    main()

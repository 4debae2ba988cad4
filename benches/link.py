#!/usr/bin/env python3
"""Link prediction on Nations and UMLS (and any graph laid out alike):
mined rules, rules with learned weights, embeddings, the hybrids, and
PyKEEN's ComplEx as the peer, on the same splits, ranked the same way.

    cargo build --release -p nesy-cli
    python3 benches/link.py [--seeds 0,1,2] [--pykeen /path/to/python] [--embeddings]

nesy's rows are ranked by `nesy eval link` (filtered by train, valid and
test, both directions, realistic ties); each model trains with nesy's
defaults. Rules are mined once per seed and the learned rows start from
that same file (`--candidates`), so "mined" and "learned" differ only in
the weights. The hybrids mix rules with nesy's ComplEx, the rule weight
chosen on the validation triples.

`--pykeen PY` runs PyKEEN (pip install pykeen==1.11.*) under the Python
`PY`: ComplEx with nesy's settings (dimension 200, 1-vs-all softmax
cross-entropy, N3 regularisation 0.01, Adam at 0.01, batches of 128, at
most 200 epochs with early
stopping on validation MRR every 5 epochs, patience 4), its MRR PyKEEN's own
realistic filtered rank over both directions (the same protocol).

Rows are means over the seeds; times are wall-clock for the training
command on this machine.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")

PYKEEN = r"""
import json, sys, time
import torch
from pykeen.pipeline import pipeline
from pykeen.triples import TriplesFactory
train, valid, test, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
torch.set_num_threads(2)
# Inverse triples: LCWA scores the tails of (head, relation) only, so
# without them head prediction - half of "both" - is never trained (what
# put this row near chance before). nesy's ComplEx has reciprocals too.
tf = TriplesFactory.from_path(train, create_inverse_triples=True)
vf = TriplesFactory.from_path(valid, entity_to_id=tf.entity_to_id, relation_to_id=tf.relation_to_id,
                              create_inverse_triples=True)
sf = TriplesFactory.from_path(test, entity_to_id=tf.entity_to_id, relation_to_id=tf.relation_to_id,
                              create_inverse_triples=True)
start = time.time()
result = pipeline(
    training=tf, validation=vf, testing=sf, model="ComplEx", model_kwargs=dict(embedding_dim=200),
    regularizer="lp", regularizer_kwargs=dict(p=3.0, weight=0.01),
    loss="crossentropy", training_loop="lcwa", optimizer="Adam", optimizer_kwargs=dict(lr=0.01),
    training_kwargs=dict(num_epochs=200, batch_size=128),
    stopper="early", stopper_kwargs=dict(frequency=5, patience=4, metric="inverse_harmonic_mean_rank"),
    evaluator_kwargs=dict(filtered=True), random_seed=seed, device="cpu",
)
seconds = time.time() - start
m = result.metric_results
get = lambda k: m.get_metric("both.realistic." + k)
print(json.dumps({"mrr": get("inverse_harmonic_mean_rank"), "hits_at_1": get("hits_at_1"),
                  "hits_at_3": get("hits_at_3"), "hits_at_10": get("hits_at_10"), "seconds": seconds,
                  "epochs": len(result.losses)}))
"""


def run(args):
    start = time.time()
    out = subprocess.run([NESY] + args, check=True, capture_output=True, text=True).stdout
    return out, time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0", help="comma-separated; rows are means over them")
    parser.add_argument("--data", default="nations,umls", help="graphs under knowledge/kg/ (or paths)")
    parser.add_argument("--pykeen", metavar="PYTHON", help="a Python with pykeen 1.11 installed")
    parser.add_argument("--embeddings", action="store_true", help="also TransE, DistMult and RotatE")
    args = parser.parse_args()
    seeds = args.seeds.split(",")
    print(f"seeds {args.seeds}")
    print("| data | model | MRR | Hits@1 | Hits@3 | Hits@10 | training |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.data.split(","):
            d = name if os.path.isdir(name) else os.path.join(ROOT, "knowledge", "kg", name)
            name = os.path.basename(name.rstrip("/"))
            train, valid, test = (os.path.join(d, f + ".tsv") for f in ("train", "valid", "test"))
            common = ["--test", test, "--filter", f"{train},{valid}", "--format", "json"]
            rows = defaultdict(list)
            for seed in seeds:
                mined = os.path.join(tmp, f"{name}-{seed}.nesy")
                _, t = run(["train", "rules", "--train", train, "--seed", seed, "-o", mined])
                rows["rules (mined, confidence)"].append((run(["eval", "link", "--rules", mined] + common)[0], t))
                learned = {}
                for aggregate in ("max", "noisy-or", "sum"):
                    path = os.path.join(tmp, f"{name}-{seed}-{aggregate}.nesy")
                    _, t_learn = run(["train", "rules", "--learn-weights", "--candidates", mined, "--aggregate",
                                      aggregate, "--train", train, "--valid", valid, "--seed", seed, "-o", path])
                    learned[aggregate] = path
                    rows[f"rules (learned, {aggregate})"].append(
                        (run(["eval", "link", "--rules", path] + common)[0], t + t_learn))
                models = ["complex"] + (["transe", "distmult", "rotate"] if args.embeddings else [])
                for model in models:
                    path = os.path.join(tmp, f"{name}-{seed}-{model}.kge")
                    _, t = run(["train", "kge", "--train", train, "--valid", valid, "--model", model, "--seed", seed,
                                "-o", path])
                    rows[f"{model} (nesy)"].append((run(["eval", "link", "--model", path] + common)[0], t))
                complex_model = os.path.join(tmp, f"{name}-{seed}-complex.kge")
                for label, rules in (("mined", mined), ("learned max", learned["max"])):
                    out, _ = run(["eval", "link", "--rules", rules, "--model", complex_model, "--hybrid", "--valid",
                                  valid] + common)
                    rows[f"hybrid: rules ({label}) + complex"].append((out, None))
                if args.pykeen:
                    out = subprocess.run([args.pykeen, "-c", PYKEEN, train, valid, test, seed], check=True,
                                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
                    rows["complex (PyKEEN 1.11)"].append((out, json.loads(out)["seconds"]))
            for model, results in rows.items():
                row(name, model, results)


def row(data, model, results):
    ms = [json.loads(out) for out, _ in results]
    mean = lambda k: sum(m[k] for m in ms) / len(ms)
    times = [t for _, t in results if t is not None]
    took = f"{sum(times) / len(times):.1f} s" if times else "-"
    if "hybrid_weight" in ms[0]:
        model += " (rule weight " + ", ".join(f"{m['hybrid_weight']:.2f}" for m in ms) + ")"
    print(f"| {data} | {model} | {mean('mrr'):.4f} | {mean('hits_at_1'):.4f} | {mean('hits_at_3'):.4f} | "
          f"{mean('hits_at_10'):.4f} | {took} |", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Link prediction on Nations and UMLS: mined rules, the four embeddings,
and the hybrid, all ranked by `nesy eval link` (filtered, both directions,
realistic ties).

    cargo build --release -p nesy-cli
    python3 benches/link.py [--seed 0]

Every model trains with nesy's defaults (`--model NAME` alone); the hybrid
mixes the rules with ComplEx, the rules' weight chosen on the validation
triples. Times are wall-clock for the training command.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")


def run(args):
    start = time.time()
    out = subprocess.run([NESY] + args, check=True, capture_output=True, text=True).stdout
    return out, time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default="0")
    args = parser.parse_args()
    print("| data | model | MRR | Hits@1 | Hits@3 | Hits@10 | training |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("nations", "umls"):
            d = os.path.join(ROOT, "knowledge", "kg", name)
            train, valid, test = (os.path.join(d, f + ".tsv") for f in ("train", "valid", "test"))
            common = ["--test", test, "--filter", f"{train},{valid}", "--format", "json"]
            rules = os.path.join(tmp, name + ".nesy")
            _, t = run(["train", "rules", "--train", train, "--seed", args.seed, "-o", rules])
            row(name, "rules (mined)", run(["eval", "link", "--rules", rules] + common)[0], t)
            for model in ("transe", "distmult", "complex", "rotate"):
                path = os.path.join(tmp, f"{name}-{model}.kge")
                _, t = run(["train", "kge", "--train", train, "--valid", valid, "--model", model, "--seed", args.seed,
                            "-o", path])
                row(name, model, run(["eval", "link", "--model", path] + common)[0], t)
            complex_model = os.path.join(tmp, f"{name}-complex.kge")
            out, _ = run(["eval", "link", "--rules", rules, "--model", complex_model, "--hybrid", "--valid", valid] + common)
            row(name, f"hybrid: rules + complex (rule weight {json.loads(out)['hybrid_weight']:.1f})", out, None)


def row(data, model, out, seconds):
    m = json.loads(out)
    took = f"{seconds:.1f} s" if seconds is not None else "-"
    print(f"| {data} | {model} | {m['mrr']:.4f} | {m['hits_at_1']:.4f} | {m['hits_at_3']:.4f} | {m['hits_at_10']:.4f} | {took} |",
          flush=True)


if __name__ == "__main__":
    main()

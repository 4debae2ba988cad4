#!/usr/bin/env python3
"""Triple-by-triple comparison of nesy's OWL 2 RL closure of LUBM(1)
(rules/owl2rl.nesy) with the closure `reasonable` computes, each difference
counted under the rule or convention that explains it.

    cargo build --release -p nesy-cli
    pip install reasonable
    python3 benches/lubm_diff.py

Blank nodes (the ontology's restrictions and RDF lists) are labelled
differently by the two parsers, so each is replaced by its structure (the
restriction's property and filler, the list's members) before comparing.
"""

import collections
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESY = os.path.join(ROOT, "target", "release", "nesy")
OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
STRUCTURE = {OWL + "onProperty", OWL + "someValuesFrom", OWL + "allValuesFrom", OWL + "intersectionOf",
             OWL + "unionOf", RDF + "first", RDF + "rest"}


def is_blank(term, blank_prefix):
    # reasonable writes blank nodes as bare 32-digit hex labels
    return term.startswith(blank_prefix) if blank_prefix else re.fullmatch("[0-9a-f]{32}", term) is not None


def canonical(triples, blank_prefix):
    """Replaces each blank node by a description of its structure."""
    edges = collections.defaultdict(list)
    for s, p, o in triples:
        if p in STRUCTURE and is_blank(s, blank_prefix):
            edges[s].append((p, o))
    names = {}

    def name(term, depth=0):
        if not is_blank(term, blank_prefix):
            return term
        if term not in names:
            if depth > 50:
                return "[...]"
            parts = sorted((p.split("#")[-1], name(o, depth + 1)) for p, o in edges.get(term, []))
            names[term] = "[" + " ".join(f"{p}={o}" for p, o in parts) + "]"
        return names[term]

    return {(name(s), p, name(o)) for s, p, o in triples}


def short(term):
    for prefix, iri in (("owl:", OWL), ("rdf:", RDF), ("rdfs:", RDFS), ("ub:", "http://swat.cse.lehigh.edu/onto/univ-bench.owl#")):
        term = term.replace(iri, prefix)
    return term


def explain(triple):
    """The rule (or convention) that gives this triple in one closure and not the other."""
    s, p, o = (short(t) for t in triple)
    if p == "rdf:type" and o == "owl:Thing":
        return "every individual typed owl:Thing (reasonable's cls-thing/typing convention)"
    if p in ("rdfs:subClassOf", "owl:equivalentClass") and s == o:
        return "scm-cls: C subClassOf/equivalentClass C"
    if p in ("rdfs:subPropertyOf", "owl:equivalentProperty") and s == o:
        return "scm-op/scm-dp: P subPropertyOf/equivalentProperty P"
    if p == "rdfs:subPropertyOf":
        return "scm-spo: subPropertyOf is transitive"
    if p == "rdfs:subClassOf" and o == "owl:Thing":
        return "scm-cls: C subClassOf owl:Thing"
    if p == "rdfs:subClassOf" and s == "owl:Nothing":
        return "scm-cls: owl:Nothing subClassOf C"
    if p == "rdfs:subClassOf" and "someValuesFrom" in s + o:
        return "scm-svf1/svf2: subsumption between someValuesFrom restrictions"
    if p == "rdfs:subClassOf" and "intersectionOf" in s:
        return "scm-int: an intersection is a subclass of each member"
    if p == "rdfs:subClassOf":
        return "scm-sco/scm-int chains to named classes"
    if p in ("rdfs:domain", "rdfs:range"):
        return "scm-dom/scm-rng: domain/range through subproperty and superclass"
    if p == "rdf:type" and "someValuesFrom" in o:
        return "cax-sco: individuals typed with someValuesFrom restrictions"
    if p == "rdf:type" and o == "ub:Employee":
        return "cls-int1 after scm-svf1: ResearchAssistant is Person and worksFor some Organization"
    if p == "rdf:type" and o.startswith("owl:"):
        return "typing of OWL vocabulary (" + o + ")"
    return "other: " + p + (" " + o if p == "rdf:type" else "")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name in ("univ-bench", "lubm1"):
            path = os.path.join(tmp, name + ".ttl")
            with gzip.open(os.path.join(ROOT, "knowledge", "lubm", name + ".nt.gz"), "rb") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
            files.append(path)
        import reasonable

        reasoner = reasonable.PyReasoner()
        for path in files:
            reasoner.load_file(path)
        theirs = {(str(s), str(p), str(o)) for s, p, o in reasoner.reason()}
    out = subprocess.run([NESY, "run", os.path.join(ROOT, "rules", "owl2rl.nesy"),
                          os.path.join(ROOT, "knowledge", "lubm", "lubm1.nesy"), "-r", "t", "--format", "tsv"],
                         check=True, capture_output=True, text=True).stdout
    ours = {tuple(line.split("\t")[1:]) for line in out.splitlines()}
    ours_c, theirs_c = canonical(ours, "_:"), canonical(theirs, None)
    print(f"nesy: {len(ours):,} triples ({len(ours_c):,} after naming blank nodes by structure)")
    print(f"reasonable: {len(theirs):,} triples ({len(theirs_c):,})")
    print(f"in both: {len(ours_c & theirs_c):,}")
    for title, diff in (("only nesy", ours_c - theirs_c), ("only reasonable", theirs_c - ours_c)):
        print(f"\n{title}: {len(diff):,}")
        for reason, count in collections.Counter(explain(t) for t in diff).most_common():
            print(f"  {count:>7,}  {reason}")
        if "-v" in sys.argv:
            for t in sorted(diff)[:40]:
                print("     ", " ".join(short(x) for x in t))


if __name__ == "__main__":
    main()

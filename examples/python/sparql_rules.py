#!/usr/bin/env python3
"""SPARQL and rules together, notebook-style: load a Turtle file into the
knowledge graph, query it, then run rules over its triples and read the
derived relations back (as pandas when it is installed).

    pip install .            # at the repository root
    python3 examples/python/sparql_rules.py
"""

import pathlib

import nesy
from nesy.kg import Graph

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAMILY = ROOT / "knowledge" / "family.ttl"

# 1. The graph: load, then SPARQL (ex: comes from the file's @prefix).
graph = Graph()
print("loaded", graph.load(FAMILY), "triples")
for row in graph.select("SELECT ?person ?age WHERE { ?person ex:age ?age } ORDER BY DESC(?age)"):
    print(f"  {row['person']}: {row['age']}")

# 2. Rules over the same triples: the file is imported as facts, a SPARQL
#    query as a relation.
program = nesy.Program.from_source(f"""
@prefix ex: <http://example.org/family#> .
@import "{FAMILY}".
@import adult from sparql(\"\"\"SELECT ?p WHERE {{ ?p ex:age ?a FILTER(?a >= 18) }}\"\"\").
ancestor(X, Y) :- ex:parent(X, Y).
ancestor(X, Z) :- ancestor(X, Y), ex:parent(Y, Z).
adult_ancestor(X, Y) :- ancestor(X, Y), adult(X).
""", name="family_rules.nesy")
evaluation = program.evaluate()
print("adult ancestors:", evaluation.relation("adult_ancestor"))

# 3. The proof of one conclusion, as `nesy explain --format json` gives it.
why = program.explain("ancestor(ex:alice, ex:carol)")
print("ancestor(alice, carol) because", [p["fact"] for p in why["premises"]])

try:
    import pandas  # noqa: F401

    print(evaluation.to_pandas("ancestor"))
except ImportError:
    pass

"""nesy.kg.Graph: RDF in, SPARQL rows out, errors located."""

import pytest

import nesy
from nesy.kg import Graph

TTL = """
@prefix ex: <http://example.org/family#> .
ex:alice ex:parent ex:bob ; ex:age 67 ; rdf:type ex:Person .
ex:bob ex:parent ex:carol ; ex:age 40.5 .
"""


def graph():
    g = Graph()
    g.load_text("@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n" + TTL)
    return g


def test_select_rows_with_the_files_prefixes():
    g = graph()
    assert len(g) == 5
    rows = g.select("SELECT ?c ?a WHERE { ?p ex:parent ?c . ?p ex:age ?a } ORDER BY ?a")
    assert rows == [
        {"c": "http://example.org/family#carol", "a": 40.5},
        {"c": "http://example.org/family#bob", "a": 67},
    ]
    assert g.ask("ASK { ex:alice rdf:type ex:Person }") is True
    assert "ex:alice" in g.export("ttl")


def test_load_a_file(root):
    g = Graph()
    assert g.load(root / "knowledge" / "family.ttl") > 0
    assert g.select("SELECT ?p WHERE { ?p rdf:type <http://example.org/family#Person> }")


def test_errors_are_graph_errors():
    g = graph()
    with pytest.raises(nesy.GraphError, match="unknown prefix"):
        g.select("SELECT ?s WHERE { ?s nope:x ?o }")
    with pytest.raises(nesy.GraphError):
        g.load_text("ex:a ex:b", "ttl")
    with pytest.raises(nesy.NesyError):
        g.load("/nonexistent.ttl")
    with pytest.raises(ValueError, match="not a SELECT"):
        g.select("ASK { ?s ?p ?o }")
    # Nothing half-loaded.
    assert len(g) == 5

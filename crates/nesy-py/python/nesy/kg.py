"""The knowledge graph: an oxigraph store with RDF loading and bounded
SPARQL.

    from nesy.kg import Graph

    graph = Graph()
    graph.load("people.ttl")
    graph.select("SELECT ?s WHERE { ?s rdf:type ex:Person }")  # [{'s': 'http://...'}]
"""

from ._nesy import Graph

__all__ = ["Graph"]

"""nesy.Program and nesy.Evaluation: evaluate, query, explain, tests."""

import math

import pytest

import nesy

FAMILY = """
parent(alice, bob). parent(bob, carol).
ancestor(X, Y) :- parent(X, Y).
ancestor(X, Z) :- ancestor(X, Y), parent(Y, Z).
@test "alice is carol's ancestor" { ancestor(alice, carol). }
@test "carol is nobody's ancestor" { not ancestor(carol, alice). ancestor(carol, alice). }
"""


def test_query_answers_by_variable():
    program = nesy.Program.from_source(FAMILY)
    assert program.query("ancestor(alice, X)") == [{"X": "bob"}, {"X": "carol"}]
    assert program.query("ancestor(carol, X)") == []
    assert program.query("ancestor(alice, carol)") == [{}]


def test_evaluate_relations_and_added_facts():
    program = nesy.Program.from_source(FAMILY)
    program.add_fact("parent", "carol", "dan")
    evaluation = program.evaluate()
    assert ("alice", "dan") in evaluation.relation("ancestor")
    assert len(evaluation.relation("ancestor")) == 6
    assert evaluation.contains("ancestor", "bob", "dan")
    assert not evaluation.contains("ancestor", "dan", "bob")
    assert "ancestor" in evaluation.relations()
    with pytest.raises(KeyError, match="no relation `nope`"):
        evaluation.relation("nope")


def test_typed_values_round_trip():
    program = nesy.Program.from_source("n(X, Y) :- m(X, Y, _). m(1, 2.5, true).")
    program.add_fact("m", -7, 0.125, False)
    assert program.evaluate().relation("n") == [(-7, 0.125), (1, 2.5)]
    assert program.evaluate().relation("m")[0][2] is False


def test_probabilities_under_a_semiring(root):
    program = nesy.Program.from_file(root / "rules" / "probabilistic.nesy")
    evaluation = program.evaluate(semiring="top-k")
    p = dict(evaluation.probabilities("path"))[("a", "c")]
    assert math.isclose(p, 0.86, abs_tol=1e-9)
    [answer] = program.query("dry", semiring="top-k")
    assert math.isclose(answer["probability"], 0.24, abs_tol=1e-9)
    assert program.evaluate().probabilities("dry") == [((), 1.0)] or program.evaluate().probabilities("dry") == []


def test_explain_is_the_cli_json_shape():
    program = nesy.Program.from_source(FAMILY, name="family.nesy")
    why = program.explain("ancestor(alice, carol)")
    assert why["holds"] is True
    assert why["fact"] == "ancestor(alice, carol)"
    assert why["kind"] == "rule"
    assert why["bindings"] == {"X": "alice", "Y": "bob", "Z": "carol"}
    leaves = why["premises"][0]["premises"]
    assert leaves[0]["source"] == "family.nesy:2:1"
    why_not = program.explain("ancestor(carol, alice)")
    assert why_not["holds"] is False
    assert len(program.explain_all("ancestor(alice, X)")) == 2


def test_run_tests_reports_each_outcome():
    results = nesy.Program.from_source(FAMILY, name="family.nesy").run_tests()
    assert [r["name"] for r in results] == ["alice is carol's ancestor", "carol is nobody's ancestor"]
    assert results[0]["outcome"] == {"status": "passed"}
    assert results[1]["outcome"]["status"] == "failed"
    assert results[1]["location"].startswith("family.nesy:6:")


def test_to_pandas():
    pandas = pytest.importorskip("pandas")
    frame = nesy.Program.from_source(FAMILY).evaluate().to_pandas("ancestor")
    assert isinstance(frame, pandas.DataFrame)
    assert frame.shape == (3, 2)


def test_check_returns_diagnostics():
    d, *warnings = nesy.check("grandparent(X, Z) :- parent(X, Y).", name="broken.nesy")
    assert d["code"] == "unsafe-variable"
    assert {w["code"] for w in warnings} == {"undefined-relation", "singleton-variable"}
    assert all(w["severity"] == "warning" for w in warnings)
    assert d["location"] == "broken.nesy:1:16"
    assert d["severity"] == "error"

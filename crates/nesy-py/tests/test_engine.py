"""nesy.Engine: decisions in the HTTP API's shape, from many threads."""

import json
import threading
import time

import pytest

import nesy

CREDIT = """
@decl applicant(id: symbol, income: int, debt: int).
@input applicant.
blacklisted(a2).
@name(low_debt)
approve(A) :- applicant(A, I, D), D * 100 / I < 30, not blacklisted(A).
"""


def engine():
    return nesy.Engine(source=CREDIT)


def test_decide_in_the_http_shape():
    decision = engine().decide("approve", {"applicant": [["a1", 50000, 4000], {"id": "a3", "income": 10, "debt": 9}]})
    assert decision["decision"] == "approve"
    assert decision["holds"] is True
    assert decision["results"] == [{"args": ["a1"], "probability": 1.0}]
    assert set(decision["metrics"]) == {"eval_us"}
    json.dumps(decision)


def test_only_the_tuples_the_input_adds():
    e = nesy.Engine(source=CREDIT + "applicant(a7, 90000, 1000).\n")
    everything = e.decide("approve", {"applicant": [["a1", 50000, 4000]]})
    assert [r["args"] for r in everything["results"]] == [["a1"], ["a7"]]
    only = e.decide("approve", {"applicant": [["a1", 50000, 4000]]}, only="input")
    assert [r["args"] for r in only["results"]] == [["a1"]]
    assert e.decide("approve", {"applicant": [["a7", 90000, 1000]]}, only="input")["results"] == []
    with pytest.raises(ValueError, match="only"):
        e.decide("approve", {}, only="some")


def test_decide_explained_and_why_not():
    e = engine()
    explained = e.decide("approve", {"applicant": [["a1", 50000, 4000]]}, explain=True)
    proof = explained["results"][0]["explanation"]
    assert proof["holds"] and proof["rule"]["name"] == "low_debt"
    none = e.decide("approve", {"applicant": [["a2", 50000, 4000]]}, explain=True)
    assert none["holds"] is False
    assert none["why_not"]["holds"] is False


def test_query_and_explain_with_input():
    e = engine()
    assert e.query("approve(X)", {"applicant": [["a1", 50000, 4000]]}) == [{"X": "a1"}]
    assert e.query("approve(X)") == []
    why = e.explain("approve(a1)", {"applicant": [["a1", 50000, 4000]]})
    assert why["explanations"][0]["holds"] is True


def test_bad_input_is_an_input_error():
    e = engine()
    with pytest.raises(nesy.InputError, match="unknown relation"):
        e.decide("approve", {"nope": [[1]]})
    with pytest.raises(nesy.InputError, match="not an input relation|derived"):
        e.decide("approve", {"blacklisted": [["a1"]]})
    with pytest.raises(nesy.InputError, match="takes 3 values"):
        e.decide("approve", {"applicant": [["a1"]]})
    with pytest.raises(nesy.InputError, match="unknown decision"):
        e.decide("nope", {})
    with pytest.raises(TypeError):
        e.decide("approve", {"applicant": [[object()]]})
    with pytest.raises(TypeError):
        e.decide("approve", {"applicant": "a1"})
    # NaN is no JSON number: refused as the HTTP API refuses `null`.
    with pytest.raises(nesy.InputError, match=r"applicant\[0\]"):
        e.decide("approve", {"applicant": [[float("nan"), 1, 2]]})
    # The engine still answers after bad requests.
    assert e.decide("approve", {"applicant": [["a1", 50000, 4000]]})["holds"]


def test_a_request_cannot_change_what_the_rules_derive_for_others():
    e = engine()
    e.decide("approve", {"applicant": [["a9", 50000, 4000]]})
    assert e.query("approve(X)") == []


def test_engine_from_files_with_models(root):
    e = nesy.Engine(rules=[root / "rules" / "credit.nesy"])
    info = e.info()
    assert "decision" in info["derived"]
    decision = e.decide("decision", {"applicant": [["z1", 90000, 1000, 10]]})
    assert decision["holds"]


def test_missing_rule_file():
    with pytest.raises(nesy.NesyError) as raised:
        nesy.Engine(rules=["/nonexistent.nesy"])
    assert raised.value.file == "/nonexistent.nesy"


def test_threads_decide_at_once_with_the_gil_released():
    # A decision that takes a while: the transitive closure of a chain.
    rules = "@input edge. reach(X, Y) :- edge(X, Y). reach(X, Z) :- reach(X, Y), edge(Y, Z)."
    e = nesy.Engine(source=rules)
    chain = {"edge": [[i, i + 1] for i in range(500)]}
    start = time.perf_counter()
    e.decide("reach", chain)
    one = time.perf_counter() - start
    # While a thread decides, this thread keeps running Python: with the
    # GIL held for the whole call it could not tick at all.
    results = []
    worker = threading.Thread(target=lambda: results.append(e.decide("reach", chain)))
    ticks = 0
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    assert ticks >= 10, f"{ticks} ticks during a {one * 1000:.0f} ms decision"
    # Four threads at once get the same, right answers.
    threads = [threading.Thread(target=lambda: results.append(e.decide("reach", chain))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 5
    assert all(len(r["results"]) == 500 * 501 // 2 for r in results)


def test_models_given_to_the_engine(root):
    # The CART tree of rules/credit.nesy, declared by the engine instead
    # of by an @model line: the rules call it by that name.
    rules = """
    @decl applicant(id: symbol, income: int, debt: int, years_employed: int).
    @input applicant.
    income(A, I) :- applicant(A, I, _, _).
    debt(A, D) :- applicant(A, _, D, _).
    years_employed(A, Y) :- applicant(A, _, _, Y).
    good(A) :- applicant(A, _, _, _), credit.predict(A) = "good".
    """
    e = nesy.Engine(source=rules, models={"credit": root / "models" / "credit.tree"})
    assert e.info()["models"]
    assert e.decide("good", {"applicant": [["z1", 90000, 1000, 10]]})["holds"]
    with pytest.raises(nesy.NesyError):
        nesy.Engine(source=rules, models={"credit": root / "models" / "nope.tree"})


def test_a_tree_trained_from_python_is_a_model_rules_call(root, tmp_path):
    report = nesy.train_tree(root / "knowledge" / "tabular" / "iris.csv", "class", tmp_path / "iris.tree",
                             max_depth=3, seed=1)
    assert report["classes"] == ["setosa", "versicolor", "virginica"]
    assert report["test"]["accuracy"] > 0.85
    rules = """
    @decl flower(id: symbol, sl: float, sw: float, pl: float, pw: float).
    @input flower.
    species(F, C) :- flower(F, A, B, C2, D), iris.predict(A, B, C2, D, C, _).
    """
    e = nesy.Engine(source=rules, models={"iris": tmp_path / "iris.tree"})
    decision = e.decide("species", {"flower": [["f1", 5.1, 3.5, 1.4, 0.2]]})
    assert decision["results"][0]["args"] == ["f1", "setosa"]
    # The same seed, the same file.
    nesy.train_tree(root / "knowledge" / "tabular" / "iris.csv", "class", tmp_path / "again.tree",
                    max_depth=3, seed=1)
    assert (tmp_path / "iris.tree").read_bytes() == (tmp_path / "again.tree").read_bytes()
    with pytest.raises(nesy.NesyError, match="nope"):
        nesy.train_tree(root / "knowledge" / "tabular" / "iris.csv", "nope", tmp_path / "x.tree")
    with pytest.raises(ValueError, match="variant"):
        nesy.train_tree(root / "knowledge" / "tabular" / "iris.csv", "class", tmp_path / "x.tree", variant="svm")

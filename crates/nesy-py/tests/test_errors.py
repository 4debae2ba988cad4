"""Errors are exceptions with the diagnostic and its location; bad input
never crashes the interpreter."""

import pytest

import nesy


def test_rule_errors_carry_locations_and_the_report():
    with pytest.raises(nesy.RuleError) as raised:
        nesy.Program.from_source("p(X) :- q(Y).\nr(X) :- s(Z).", name="a.nesy")
    e = raised.value
    assert isinstance(e, nesy.NesyError)
    assert str(e).startswith("a.nesy:1:3: ")
    assert (e.file, e.line, e.column) == ("a.nesy", 1, 3)
    assert e.location == "a.nesy:1:3"
    assert [d["location"] for d in e.diagnostics] == ["a.nesy:1:3", "a.nesy:2:3"]
    assert all(d["code"] == "unsafe-variable" for d in e.diagnostics)
    # The report is what `nesy check` prints: the line and a caret.
    assert "p(X) :- q(Y)." in e.report


def test_syntax_errors():
    with pytest.raises(nesy.RuleError) as raised:
        nesy.Program.from_source("p(X :- q(X).", name="s.nesy")
    assert raised.value.line == 1


def test_missing_file():
    with pytest.raises(nesy.NesyError) as raised:
        nesy.Program.from_file("/nonexistent/rules.nesy")
    assert raised.value.file == "/nonexistent/rules.nesy"


def test_bad_facts():
    program = nesy.Program.from_source("p(X) :- q(X, 1).")
    with pytest.raises(nesy.InputError, match="has 2 columns, but 1 were given"):
        program.add_fact("q", "a")
    with pytest.raises(ValueError, match="finite"):
        program.add_fact("q", float("nan"), 1)
    with pytest.raises(ValueError, match="64 bits"):
        program.add_fact("q", 2**80, 1)
    with pytest.raises(TypeError, match="str, int, float or bool"):
        program.add_fact("q", [1], 1)
    with pytest.raises(TypeError, match="str, int, float or bool"):
        program.add_fact("q", None, 1)


def test_bad_arguments():
    program = nesy.Program.from_source("p(1).")
    with pytest.raises(ValueError, match="unknown semiring"):
        program.evaluate(semiring="fuzzy")
    with pytest.raises(ValueError, match="timeout"):
        program.evaluate(timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        program.evaluate(timeout=float("nan"))
    with pytest.raises(nesy.NesyError):
        program.query("p(X")
    with pytest.raises(TypeError):
        nesy.check()


def test_timeouts_stop_the_work():
    # The transitive closure of a 3,000-node chain: far more than 1 ms.
    program = nesy.Program.from_source(
        "reach(X, Y) :- edge(X, Y). reach(X, Z) :- reach(X, Y), edge(Y, Z)."
    )
    for i in range(3000):
        program.add_fact("edge", i, i + 1)
    with pytest.raises(nesy.LimitError):
        program.evaluate(timeout=0.001)


def test_hostile_strings_do_not_crash():
    for text in ["\x00", "p(" * 10000, "é" * 1000 + ".", "p(X) :- " + "q(X), " * 5000 + "q(X)."]:
        try:
            nesy.Program.from_source(text)
        except nesy.NesyError as e:
            assert e.report

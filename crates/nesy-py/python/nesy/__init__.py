"""nesy: a neuro-symbolic reasoning engine — rules, knowledge graphs and
learned models with explanations.

    import nesy

    program = nesy.Program.from_source('''
        parent(alice, bob). parent(bob, carol).
        ancestor(X, Y) :- parent(X, Y).
        ancestor(X, Z) :- ancestor(X, Y), parent(Y, Z).
    ''')
    program.query("ancestor(alice, X)")        # [{'X': 'bob'}, {'X': 'carol'}]
    program.explain("ancestor(alice, carol)")  # the proof tree, as a dict

    engine = nesy.Engine(rules=["credit.nesy"])
    engine.decide("approve", {"applicant": [["a1", 52000, 4000]]}, explain=True)

Errors raise `nesy.NesyError` (subclasses `RuleError`, `InputError`,
`LimitError`, `GraphError`) with the location of the problem as attributes.
The knowledge graph is `nesy.kg`; reasoning as a PyTorch layer is
`nesy.torch` (needs torch).
"""

from ._nesy import (
    Engine,
    Evaluation,
    GraphError,
    InputError,
    LimitError,
    NesyError,
    Program,
    RuleError,
    __version__,
    check,
    train_tree,
)
from . import kg

__all__ = [
    "Engine",
    "Evaluation",
    "GraphError",
    "InputError",
    "LimitError",
    "NesyError",
    "Program",
    "RuleError",
    "__version__",
    "check",
    "kg",
    "train_tree",
]

"""Type stubs of the extension module (re-exported by `nesy` and `nesy.kg`)."""

from os import PathLike
from typing import Any, Literal, Mapping, Optional, Sequence, Union

_Path = Union[str, "PathLike[str]"]
Value = Union[str, int, float, bool]

__version__: str

class NesyError(Exception):
    """An error of nesy. `report` is the diagnostic as `nesy check` prints
    it; `location` is `file:line:col` (or None), also as `file`, `line`,
    `column`; `diagnostics` lists each error of a rule file."""

    report: str
    location: Optional[str]
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    diagnostics: list[dict[str, Any]]

class RuleError(NesyError):
    """Rules that do not check."""

class InputError(NesyError):
    """A fact, input or request that does not fit the program."""

class LimitError(NesyError):
    """A time limit, budget or cancellation stopped the work."""

class GraphError(NesyError):
    """RDF or SPARQL that failed."""

def check(
    text: Optional[str] = None, path: Optional[_Path] = None, name: str = "<source>"
) -> list[dict[str, Any]]:
    """Checks rule text or a rule file without running it: its diagnostics."""

class Evaluation:
    """What an evaluation derived."""

    def relations(self) -> list[str]: ...
    def relation(self, name: str) -> list[tuple[Value, ...]]:
        """A relation's tuples, sorted. Raises KeyError for an unknown one."""
    def probabilities(self, name: str) -> list[tuple[tuple[Value, ...], float]]:
        """A relation's tuples with their probabilities (1.0 under `bool`)."""
    def contains(self, relation: str, *values: Value) -> bool: ...
    def to_pandas(self, name: str) -> Any:
        """The relation as a pandas DataFrame (needs pandas)."""

class Program:
    """Rules loaded for batch work."""

    @staticmethod
    def from_file(*paths: _Path) -> "Program": ...
    @staticmethod
    def from_source(text: str, name: str = "<source>") -> "Program": ...
    def add_fact(self, relation: str, *values: Value) -> None:
        """Adds a fact; `str` values are symbols."""
    def evaluate(self, semiring: str = "bool", timeout: Optional[float] = None) -> Evaluation: ...
    def query(
        self, goal: str, semiring: str = "bool", timeout: Optional[float] = None
    ) -> list[dict[str, Any]]:
        """One dict per answer by variable, and `probability` under a semiring."""
    def explain(
        self, fact: str, semiring: str = "bool", timeout: Optional[float] = None
    ) -> dict[str, Any]:
        """The proof tree (or why not), as `nesy explain --format json`."""
    def explain_all(
        self, goal: str, semiring: str = "bool", timeout: Optional[float] = None
    ) -> list[dict[str, Any]]: ...
    def run_tests(self, timeout: Optional[float] = None) -> list[dict[str, Any]]: ...
    def warnings(self) -> list[dict[str, Any]]: ...

class Engine:
    """The decision API: thread-safe; each call releases the GIL."""

    def __init__(
        self,
        rules: Sequence[_Path] = ...,
        knowledge: Sequence[_Path] = ...,
        models: Optional[Mapping[str, _Path]] = None,
        semiring: str = "bool",
        source: Optional[str] = None,
        timeout: Optional[float] = None,
        confine_to: Optional[Sequence[_Path]] = None,
    ) -> None: ...
    def decide(
        self,
        name: str,
        input: Optional[Mapping[str, Sequence[Any]]] = None,
        explain: bool = False,
        semiring: Optional[str] = None,
        only: str = "all",
    ) -> dict[str, Any]:
        """As `POST /v1/decide/{name}`: decision, holds, results, metrics, why_not.
        `only="input"`: only the tuples the input adds."""
    def query(
        self, goal: str, input: Optional[Mapping[str, Sequence[Any]]] = None
    ) -> list[dict[str, Any]]: ...
    def explain(
        self, fact: str, input: Optional[Mapping[str, Sequence[Any]]] = None
    ) -> dict[str, Any]:
        """As `POST /v1/explain`: {"explanations": [...]}."""
    def info(self) -> dict[str, Any]: ...

class Graph:
    """A knowledge graph (oxigraph), in memory or on disk."""

    def __init__(self, store: Optional[_Path] = None) -> None: ...
    def load(self, path: _Path, graph: Optional[str] = None) -> int: ...
    def load_text(self, text: str, format: Literal["ttl", "nt", "nq", "trig", "rdf"] = "ttl") -> int: ...
    def select(self, sparql: str, timeout: Optional[float] = None) -> list[dict[str, Value]]: ...
    def ask(self, sparql: str, timeout: Optional[float] = None) -> bool: ...
    def query(self, sparql: str, format: str = "json", timeout: Optional[float] = None) -> str: ...
    def update(self, sparql: str) -> None: ...
    def export(self, format: str = "ttl") -> str: ...
    def __len__(self) -> int: ...

class _Layer:
    """The differentiable layer under `nesy.torch.Layer`."""

    def __init__(
        self,
        program: Program,
        inputs: Sequence[tuple[str, Sequence[Sequence[Value]]]],
        outputs: Sequence[tuple[str, Sequence[Sequence[Value]]]],
        semiring: str,
        exclusive: bool = True,
    ) -> None: ...
    @property
    def inputs(self) -> int: ...
    @property
    def outputs(self) -> int: ...
    def forward(
        self, batch: Sequence[Sequence[float]], timeout: Optional[float] = None
    ) -> tuple[list[list[float]], list[list[list[float]]]]:
        """Per item: the output probabilities, and the Jacobian (outputs x inputs)."""

def train_tree(
    data: _Path,
    target: str,
    output: _Path,
    variant: Literal["cart", "forest", "soft"] = "cart",
    max_depth: Optional[int] = None,
    seed: int = 0,
    test_split: float = 0.2,
    id: Optional[str] = None,
    exclude: Sequence[str] = ...,
    trees: int = 100,
    epochs: Optional[int] = None,
) -> dict[str, Any]:
    """Trains a tree on a CSV table and writes its model file (as `nesy
    train tree`); returns the `train` and `test` metrics, `classes`,
    `features`, `rows`. Bad data raises NesyError with the file and line."""

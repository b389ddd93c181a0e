"""Gate expressions (`test_f1_macro >= 0.90`) and their evaluation into a receipt (TFC-0004)."""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from strataml.numbers import as_float, exact

# The parts of an expression the schema's grammar (common.schema.json's gate_expression: digits
# bounded so that every threshold is a finite double) has accepted. The grammar is the schema's
# alone: a copy here took whitespace the schema refuses, so readers showed gates the doctor rejects.
_PARTS = re.compile(r"([A-Za-z0-9_.]+) *(>=|<=|>|<|==) *(\S+)")
_GRAMMAR: re.Pattern[str] | None = None
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Gate:
    expression: str
    metric: str
    op: str
    threshold: float


_BETTER = {">": "higher", ">=": "higher", "<": "lower", "<=": "lower"}


def parse_gate(text: str) -> Gate:
    global _GRAMMAR
    if _GRAMMAR is None:
        from strataml.schemas import raw_schema

        _GRAMMAR = re.compile(raw_schema("common")["$defs"]["gate_expression"]["pattern"])
    m = _PARTS.fullmatch(text) if _GRAMMAR.search(text) else None
    if not m:
        raise ValueError(f"{text!r} is not a gate; write METRIC OP NUMBER, e.g. test_f1_macro >= 0.90")
    return Gate(text, m.group(1), m.group(2), float(m.group(3)))


def recorded(value: Any) -> float | None:
    """A metric's value as a gate weighs it: a finite number, or None ("not recorded"). An infinite
    value passed every `>=` gate where it held a promotion to its gates (TFC0005-E010), a NaN an
    older run recorded is no JSON number, and an integer too large for a float (the loader
    allows one) has no comparison a gate can trust: none is recorded, and none passes."""
    return as_float(value)


def passes(gate: Gate, observed: float | None) -> bool:
    """Whether `observed` meets the gate: the one evaluation, for writing receipts and checking them."""
    return observed is not None and bool(_OPS[gate.op](observed, gate.threshold))


def evaluate(gates: list[str] | tuple[str, ...], metrics: dict[str, float]) -> dict[str, object]:
    """The criteria, overall status and reasons for a receipt; PASS only if every gate passed."""
    criteria, reasons = [], []
    for text in gates:
        gate = parse_gate(text)
        observed = recorded(metrics.get(gate.metric))
        passed = passes(gate, observed)
        criteria.append({"expression": gate.expression, "metric": gate.metric, "observed": observed, "passed": passed})
        if observed is None:
            reasons.append(f"{gate.metric} was not recorded by the run: {gate.expression} cannot pass")
        else:
            reasons.append(
                f"{gate.metric} = {_short(observed)} {'meets' if passed else 'fails'} {gate.op} {gate.threshold:g}"
            )
    if not gates:
        reasons.append("the experiment declares no gates")
    status = "PASS" if all(c["passed"] for c in criteria) else "FAIL"
    return {"status": status, "criteria": criteria, "reasons": reasons}


def _short(value: float) -> str:
    """A receipt's reason's number: 4 significant digits (an integer past a float's range as its length)."""
    try:
        return f"{value:.4g}"
    except OverflowError:
        return exact(value)


@dataclass(frozen=True)
class Unwritten:
    """A gate naming a metric its plugin never writes (TFC0003-E004)."""

    index: int  # its place in the spec's gates
    expression: str
    metric: str
    suggestions: tuple[str, ...]

    def message(self, plugin: str) -> str:
        maybe = f" (did you mean {' or '.join(self.suggestions)}?)" if self.suggestions else ""
        return f"gate {self.expression!r} names {self.metric}, which plugin {plugin} never writes{maybe}"


def unwritten(expressions: list[object], declared: frozenset[str]) -> list[Unwritten]:
    """The gates among `expressions` whose metric is not in `declared`; malformed ones are the
    schema's to report and are skipped."""
    from strataml.spelling import nearest

    known = sorted(declared)
    out = []
    for index, expression in enumerate(expressions):
        if not isinstance(expression, str):
            continue
        try:
            metric = parse_gate(expression).metric
        except ValueError:
            continue
        if metric in declared:
            continue
        out.append(Unwritten(index, expression, metric, tuple(nearest(metric, known, n=3))))
    return out


def of_spec(spec: dict[str, Any]) -> list[Gate]:
    """The gates an experiment's spec states, those that parse: one that does not, or `gates`
    of another type (`gates: 0.9`, a mapping per gate), is the doctor's finding, and readers
    show the rest."""
    gates = spec.get("gates")
    out = []
    for text in gates if isinstance(gates, list) else ():
        if not isinstance(text, str):
            continue
        try:
            out.append(parse_gate(text))
        except ValueError:
            continue
    return out


def directions(spec: dict[str, Any]) -> dict[str, str]:
    """Which way each metric is better: the experiment's gates say (`>=`: higher), else what its
    plugin declares; a metric neither names is left out (unknown)."""
    out: dict[str, str] = {}
    plugin = spec.get("plugin")
    if isinstance(plugin, str):
        from strataml.runner.plugin import builtin_better

        out.update(builtin_better(plugin))
    for gate in of_spec(spec):
        if gate.op in _BETTER:
            out[gate.metric] = _BETTER[gate.op]
    return out


@dataclass(frozen=True)
class Unmet:
    """A gate of experiment `spec` that a run's recorded metrics do not pass."""

    spec: str
    gate: Gate
    observed: float | None  # None: not recorded, or not a finite number
    unusable: float | int | None = None  # what was recorded instead: inf, nan, an int beyond floats

    def said(self) -> str:
        """What the run recorded, as a finding or refusal says it."""
        if isinstance(self.unusable, int):
            return f"recorded an integer of {len(str(abs(self.unusable)))} digits, beyond what a gate compares"
        if self.unusable is not None:
            return f"recorded {self.unusable}, which is no finite number"
        return "did not record it" if self.observed is None else f"recorded {exact(self.observed)}"

    def told(self) -> str:
        """The gate, its experiment and what the version's run recorded, as promote says it."""
        return f"{self.gate.expression} (experiment {self.spec}'s; the version's run {self.said()})"


def bar(
    specs: Mapping[str, Any], model: str, experiment: str | None, served: Iterable[str] = ()
) -> list[tuple[str, list[Gate]]]:
    """The gate sets a version of `model` made by a run of `experiment` is held to by `specs`
    (experiment name -> spec data), any one of which it must pass in full: its experiment's own
    where that registers `model` (`register: {model: NAME}`); else those of every experiment
    that does (a version registered from elsewhere, or from an experiment made to register the
    model, meets no lower bar than theirs); else, for a model registered by hand, those of the
    experiments whose runs made the versions it `served` (moved to staging or production: the
    bar they met), its experiment's own where it is one of them; else its experiment's own;
    none where none is known."""
    registering = sorted(
        name
        for name, spec in specs.items()
        if isinstance(spec, dict) and isinstance(spec.get("register"), dict) and spec["register"].get("model") == model
    )
    before = sorted({name for name in served if isinstance(specs.get(name), dict)})
    if experiment is not None and experiment in registering:
        chosen = [experiment]
    elif registering:
        chosen = registering
    elif before:
        chosen = [experiment] if experiment in before else before
    else:
        chosen = [experiment] if experiment is not None and isinstance(specs.get(experiment), dict) else []
    return [(name, of_spec(specs[name])) for name in chosen]


def short_of(sets: list[tuple[str, list[Gate]]], metrics: Any) -> list[Unmet]:
    """The gates a run's recorded `metrics` fail, when they pass none of `sets` in full (none:
    some set passes, or there is none)."""
    found = metrics if isinstance(metrics, dict) else {}
    out: list[Unmet] = []
    for name, gates in sets:
        missed = []
        for gate in gates:
            value = found.get(gate.metric)
            observed = recorded(value)
            if not passes(gate, observed):
                number = type(value) is float or type(value) is int
                missed.append(Unmet(name, gate, observed, value if number and observed is None else None))
        if not missed:
            return []
        out += missed
    return out


def run_of(data: Any) -> tuple[str | None, Any]:
    """The experiment a run's metadata names (its name, None if none) and the metrics it recorded."""
    if not isinstance(data, dict):
        return None, None
    experiment = data.get("experiment")
    name = (
        experiment.removeprefix("experiment:")
        if isinstance(experiment, str) and experiment.startswith("experiment:")
        else None
    )
    return name, data.get("metrics")

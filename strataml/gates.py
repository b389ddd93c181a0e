"""Gate expressions (`test_f1_macro >= 0.90`) and their evaluation into a receipt (TFC-0004)."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

_EXPR = re.compile(r"\s*([A-Za-z0-9_.]+)\s*(>=|<=|>|<|==)\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Gate:
    expression: str
    metric: str
    op: str
    threshold: float


def parse_gate(text: str) -> Gate:
    m = _EXPR.fullmatch(text)
    if not m:
        raise ValueError(f"{text!r} is not a gate; write METRIC OP NUMBER, e.g. test_f1_macro >= 0.90")
    return Gate(text, m.group(1), m.group(2), float(m.group(3)))


def passes(gate: Gate, observed: float | None) -> bool:
    """Whether `observed` meets the gate: the one evaluation, for writing receipts and checking them."""
    return observed is not None and bool(_OPS[gate.op](observed, gate.threshold))


def evaluate(gates: list[str] | tuple[str, ...], metrics: dict[str, float]) -> dict[str, object]:
    """The criteria, overall status and reasons for a receipt; PASS only if every gate passed."""
    criteria, reasons = [], []
    for text in gates:
        gate = parse_gate(text)
        observed = metrics.get(gate.metric)
        passed = passes(gate, observed)
        criteria.append({"expression": gate.expression, "metric": gate.metric, "observed": observed, "passed": passed})
        if observed is None:
            reasons.append(f"{gate.metric} was not recorded by the run: {gate.expression} cannot pass")
        else:
            reasons.append(
                f"{gate.metric} = {observed:.4g} {'meets' if passed else 'fails'} {gate.op} {gate.threshold:g}"
            )
    if not gates:
        reasons.append("the experiment declares no gates")
    status = "PASS" if all(c["passed"] for c in criteria) else "FAIL"
    return {"status": status, "criteria": criteria, "reasons": reasons}

"""A model version as a Hugging Face model card: README.md with YAML metadata (license,
`model-index` with every evaluation metric and the dataset it came from, pinned by digest) and a
body with the lineage, the gate receipt, the lifecycle and the signatures. The metadata's
`datasets` names only the datasets whose source is the Hub (by its URL): the Hub reads each entry
as a Hub dataset id and links it (`iris` to hf.co/datasets/iris), which a workspace's own dataset
is not; the body lists every dataset with its digest.

The metadata is made by huggingface_hub's own ModelCardData and read back by its ModelCard
before anything is written (the `modelcard` extra), so a card that card tooling would reject is
never written. Everything comes from the index through the query layer, as `strataml show` sees it.
"""

from __future__ import annotations

import re
from typing import Any

from strataml.errors import StrataError
from strataml.export import need as _need
from strataml.export import refuse_unsound
from strataml.numbers import as_float
from strataml.read.query import Graph
from strataml.reporters.github import markdown_text as md
from strataml.shapes import mapping as _map
from strataml.shapes import sequence
from strataml.shapes import text as _text
from strataml.words import counted

EXTRA = "modelcard"
_CLASSIFYING = ("category", "boolean", "string")
# What a model was evaluated with says what it predicts (`test_accuracy`, `val/roc_auc`,
# `eval.rmse`, `mean_absolute_error`), where the target's type does not.
_WORD = r"(?:^|[_\-/.])(?:{})(?:[_\-/.]|$)"
_CLASSIFIED_BY = re.compile(
    _WORD.format("accuracy|auc|roc_auc|f1|precision|recall|log_?loss|cross_?entropy|matthews_corrcoef|mcc")
)
_REGRESSED_BY = re.compile(
    _WORD.format(
        "rmse|mse|mae|r2|mape|rmsle|explained_variance|mean_(?:absolute|squared)_(?:percentage_)?error"
        "|root_mean_squared_error|r_?squared"
    )
)


def need() -> Any:
    """huggingface_hub, or an error naming the extra that brings it."""
    return _need("huggingface_hub", EXTRA, "model-card", "huggingface_hub")


# The licence ids the Hub lists (huggingface.co/docs/hub/repositories-licenses, copied 2026-12;
# huggingface_hub holds no copy to read): lowercase and SPDX-like, but not SPDX (`gpl-3.0`,
# where SPDX says `GPL-3.0-only`). The Hub rejects a card naming any other id on push; a licence
# it does not list, or one it added since, is `other`, named in `license_name`, which it accepts.
HUB_LICENCES = frozenset(
    [
        "apache-2.0",
        "mit",
        "openrail",
        "bigscience-openrail-m",
        "creativeml-openrail-m",
        "bigscience-bloom-rail-1.0",
        "bigcode-openrail-m",
        "afl-3.0",
        "artistic-2.0",
        "bsl-1.0",
        "bsd",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-3-clause-clear",
        "c-uda",
        "cc",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "cc-by-nc-2.0",
        "cc-by-nc-3.0",
        "cc-by-nc-4.0",
        "cc-by-nd-4.0",
        "cc-by-nc-nd-3.0",
        "cc-by-nc-nd-4.0",
        "cc-by-nc-sa-2.0",
        "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0",
        "cdla-sharing-1.0",
        "cdla-permissive-1.0",
        "cdla-permissive-2.0",
        "wtfpl",
        "ecl-2.0",
        "epl-1.0",
        "epl-2.0",
        "etalab-2.0",
        "eupl-1.1",
        "eupl-1.2",
        "agpl-3.0",
        "gfdl",
        "gpl",
        "gpl-2.0",
        "gpl-3.0",
        "lgpl",
        "lgpl-2.1",
        "lgpl-3.0",
        "isc",
        "lppl-1.3c",
        "ms-pl",
        "mpl-2.0",
        "odc-by",
        "odbl",
        "openrail++",
        "osl-3.0",
        "postgresql",
        "ofl-1.1",
        "ncsa",
        "unlicense",
        "zlib",
        "pddl",
        "lgpl-lr",
        "deepfloyd-if-license",
        "llama2",
        "llama3",
        "llama3.1",
        "llama3.2",
        "llama3.3",
        "gemma",
        "unknown",
        "other",
    ]
)
# SPDX's GNU ids: `-only` is the version the Hub names; `-or-later` it has no id for.
_GNU_ONLY = re.compile(r"((?:a|l)?gpl-[0-9.]+|gfdl-[0-9.]+)-only")


def hub_licence(text: str | None) -> tuple[str | None, str | None]:
    """(license, license_name) as a card's metadata holds `text`: the Hub's id for an SPDX id it
    lists (`MIT` -> mit, `GPL-3.0-only` -> gpl-3.0), else `other` with the licence as its name."""
    lowered = text.strip().lower() if text else ""
    if not lowered:
        return None, None
    spelled = _GNU_ONLY.sub(r"\1", lowered) if _GNU_ONLY.fullmatch(lowered) else lowered
    if spelled in HUB_LICENCES:
        return spelled, None
    return "other", re.sub(r"[^a-z0-9.+-]+", "-", lowered).strip("-")[:64] or "unnamed"


def card(graph: Graph, ref: str, license_: str | None = None) -> tuple[str, dict[str, Any]]:
    """(the README.md text, a summary of what is in it) for the model version `ref` names."""
    node = graph.find(ref)
    if node["kind"] != "model":
        raise StrataError(f"{node['id']} is not a model version", "e.g. strataml export model-card model:NAME@1")
    refuse_unsound(graph, node, "model-card")
    hub = need()
    attrs = _map(node.get("attrs"))
    name = node["id"].split(":", 1)[1].partition("@")[0]
    run = graph.nodes.get(str(attrs.get("produced_by")))
    run_attrs = _map(run.get("attrs")) if run else {}
    experiment = graph.nodes.get(str(run_attrs.get("experiment")))
    spec = _map(experiment.get("attrs")) if experiment else {}
    inputs = [graph.nodes[r] for r in _input_refs(attrs) if r in graph.nodes and graph.nodes[r]["kind"] == "dataset"]
    metrics = {
        str(k): v for k, v in _map(_map(attrs.get("evaluation")).get("metrics")).items() if as_float(v) is not None
    }
    licence, licence_name = hub_licence(license_ or _text(_map(attrs.get("tags")).get("license")))
    task = _task(attrs, inputs, metrics, _text(spec.get("plugin")) or _text(_map(run_attrs.get("plugin")).get("key")))
    results = [
        hub.EvalResult(
            task_type=task,
            dataset_type="strataml",
            dataset_name=_short(d["id"]),
            dataset_revision=_text(_map(d.get("attrs")).get("digest")),
            metric_type=metric,
            metric_name=metric,
            metric_value=as_float(value),
        )
        for d in inputs[:1]  # the data the model was evaluated on: its split's dataset
        for metric, value in sorted(metrics.items())
    ]
    data = hub.ModelCardData(
        model_name=name,
        datasets=[i for d in inputs if (i := _hub_dataset(d))] or None,
        license=licence,
        license_name=licence_name,
        eval_results=results or None,
        library_name=_text(spec.get("plugin")),
        tags=["strataml", *([t] if (t := _text(spec.get("plugin"))) else [])],
        pipeline_tag=task,
    )
    text = f"---\n{data.to_yaml()}\n---\n\n{_body(node, run, experiment, inputs, metrics)}"
    hub.ModelCard(text, ignore_metadata_errors=False)  # read back as card tooling reads it: refuses what it would
    summary = {
        "ref": node["id"],
        "license": licence,
        "license_name": licence_name,
        "datasets": [d["id"] for d in inputs],
        "metrics": len(metrics),
        "task": task,
        "state": attrs.get("state"),
        "gate": _map(node.get("receipt")).get("status") or _map(attrs.get("gate")).get("status"),
        "signature": _map(node.get("signature")).get("status"),
    }
    return text, summary


def _input_refs(attrs: dict[str, Any]) -> list[str]:
    items = attrs.get("inputs")
    return (
        [i["ref"] for i in items if isinstance(i, dict) and isinstance(i.get("ref"), str)]
        if isinstance(items, list)
        else []
    )


# A dataset the Hub holds, by the URL its source records: the id the card's `datasets` may name.
_HUB_DATASET = re.compile(r"https://huggingface\.co/datasets/((?:[\w.-]+/)?[\w.-]+)/?")


def _hub_dataset(node: dict[str, Any]) -> str | None:
    """The Hub id of a dataset version whose source is a Hub dataset (None: it is not one)."""
    url = _text(_map(_map(node.get("attrs")).get("source")).get("url"))
    m = _HUB_DATASET.fullmatch(url) if url else None
    return m.group(1) if m else None


def _short(ref: str) -> str:
    return ref.split(":", 1)[1].split("@", 1)[0]


def _task(
    attrs: dict[str, Any], inputs: list[dict[str, Any]], metrics: dict[str, Any], plugin: str | None = None
) -> str:
    """tabular-classification or tabular-regression. A category, boolean or text target, or the
    sklearn plugin (it trains classifiers only), is classified; a float target regressed on;
    else (an integer target, or none recorded) the metrics the model was evaluated with say it
    (accuracy or ROC AUC, RMSE or R2: a 0/1 label evaluated by accuracy is classified), and
    without them an integer target is regressed on, as counts are."""
    kind = None
    target = attrs.get("target")
    for d in inputs:
        for column in sequence(_map(d.get("attrs")).get("columns")):
            if isinstance(column, dict) and column.get("name") == target:
                kind = column.get("type")
    if kind in _CLASSIFYING or plugin == "sklearn":
        return "tabular-classification"
    if kind == "float":
        return "tabular-regression"
    names = [name.lower() for name in metrics]
    classified = any(_CLASSIFIED_BY.search(name) for name in names)
    regressed = any(_REGRESSED_BY.search(name) for name in names)
    if classified != regressed:
        return "tabular-classification" if classified else "tabular-regression"
    return "tabular-regression" if kind == "integer" else "tabular-classification"


def _body(
    node: dict[str, Any],
    run: dict[str, Any] | None,
    experiment: dict[str, Any] | None,
    inputs: list[dict[str, Any]],
    metrics: dict[str, Any],
) -> str:
    attrs = _map(node.get("attrs"))
    lines = [f"# {md(node['id'])}", ""]
    lines += [
        f"A model version recorded by StrataML: lifecycle state **{md(str(attrs.get('state') or 'unknown'))}**, "
        f"created {md(str(attrs.get('created_at') or 'at an unrecorded time'))}.",
        "",
        "## Lineage",
        "",
        "| | record | pinned by |",
        "|---|---|---|",
    ]
    for d in inputs:
        a = _map(d.get("attrs"))
        lines.append(
            f"| dataset | {md(d['id'])} ({md(str(a.get('license') or 'no licence recorded'))}) | {md(str(a.get('digest') or ''))} |"
        )
    if experiment is not None:
        lines.append(f"| experiment | {md(experiment['id'])} | |")
    if run is not None:
        code = _map(_map(run.get("attrs")).get("code"))
        lines.append(f"| run | {md(run['id'])} | {md(str(code.get('commit') or code.get('git_commit') or ''))} |")
    lines.append(f"| model | {md(node['id'])} | {md(str(attrs.get('config_hash') or ''))} |")
    lines += ["", "## Evaluation", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {md(k)} | {as_float(v):.6g} |" for k, v in sorted(metrics.items())]
    else:
        lines.append("No evaluation metrics recorded.")
    receipt = _map(node.get("receipt"))
    lines += ["", "## Gate receipt", ""]
    if receipt:
        lines.append(
            f"Status **{md(str(receipt.get('status')))}**, emitted {md(str(receipt.get('emitted_at') or ''))}."
        )
        criteria = [c for c in sequence(receipt.get("criteria")) if isinstance(c, dict)]
        if criteria:
            lines += ["", "| criterion | observed | passed |", "|---|---|---|"]
            lines += [
                f"| {md(str(c.get('expression')))} | {md(str(c.get('observed')))} | {'yes' if c.get('passed') is True else 'no'} |"
                for c in criteria
            ]
    else:
        lines.append("No gate receipt.")
    lines += ["", "## Lifecycle", ""]
    history = [h for h in sequence(node.get("history")) if isinstance(h, dict)]
    if history:
        lines += ["| # | when | from | to | who | why |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {md(str(h.get('seq')))} | {md(str(h.get('at')))} | {md(str(h.get('from')))} | {md(str(h.get('to')))} "
            f"| {md(str(h.get('actor')))} | {md(str(h.get('reason')))} |"
            for h in history
        ]
    else:
        lines.append("Registered; never promoted.")
    signature = _map(node.get("signature"))
    lines += ["", "## Signatures", ""]
    signers = [s for s in sequence(signature.get("signers")) if isinstance(s, dict)]
    lines.append(
        f"{md(str(signature.get('status') or 'unsigned'))}: {counted(int(signature.get('valid_signers') or 0), 'valid signer')} "
        f"of {signature.get('required_signers', 0)} required."
    )
    lines += [
        f"- {md(str(s.get('uid') or s.get('fingerprint')))} ({md(', '.join(map(str, s.get('scopes') or [])))})"
        for s in signers
    ]
    lines += ["", "Generated by `strataml export model-card`; the workspace's records are the source of truth.", ""]
    return "\n".join(lines)

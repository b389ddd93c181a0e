"""TFC-0002..0005: every record matches its schema, and what it says about itself adds up."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from strataml import atomic, gates, lfs, schemas
from strataml.atomic import Refused, TooLarge
from strataml.controls import shown
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding
from strataml.doctor.rules.layout import BAD_NAME, declared_schema_ok, load_problems
from strataml.errors import StrataError
from strataml.hashing import dataset_digest
from strataml.loading import MAX_BYTES, TOO_LARGE, load_bytes
from strataml.paths import unsafe
from strataml.records import Record, inputs_of
from strataml.records import producing_run as _made_by
from strataml.refs import NAME_RULE, valid_name
from strataml.shapes import mapping
from strataml.spelling import SUGGESTED_PER_RECORD, nearest
from strataml.times import parse_time
from strataml.words import listed

if TYPE_CHECKING:
    from strataml.runner.plugin import Declared

SCHEMA_CODES = {"dataset": "TFC0002-E001", "run": "TFC0003-E001", "experiment": "TFC0003-E002", "model": "TFC0004-E001"}
DATASET_DIGEST = "TFC0002-E002"
TIME_RANGE = "TFC0002-E003"
DATASET_PROVENANCE = "TFC0002-W001"
RUN_TIMES = "TFC0003-E003"
GATE_METRIC = "TFC0003-E004"
GATE_METRICS_UNCHECKED = "TFC0003-I001"
SPEC_DATA = "TFC0003-E005"
MODEL_TYPE = "TFC0003-E006"
GATE_SCHEMA = "TFC0004-E002"
GATE_MISMATCH = "TFC0004-E003"
NOT_FROM_RUN = "TFC0004-E004"
RUN_METRICS = "TFC0004-E005"

_PROVENANCE_HINT = {"license": "license: (an SPDX id or the terms)", "source": "source: {kind: ..., note: ...}"}
_SCHEMA_HINT = {
    "dataset": "fix the field, or recreate the version with `strataml dataset add`; `strataml schema dataset` prints the schema",
    "experiment": "fix the field; `strataml schema experiment` prints the schema",
    "run": "runs are written by `strataml run`; fix the field by hand only if you know why it is wrong",
    "model": "fix the field; `strataml schema model` prints the schema",
}


# (An empty file has no field to fix: what was written is gone, or never was.)
_EMPTY_HINT = {
    kind: f"restore it from Git{also}; `strataml schema {kind}` prints what it holds"
    for kind, also in (
        ("dataset", ", or recreate the version with `strataml dataset add`"),
        ("experiment", ", or write it anew with `strataml experiment new`"),
        ("run", ": runs are written by `strataml run`"),
        ("model", ", or register the version again with `strataml model register`"),
    )
}


def check(ctx: Context) -> Iterator[Finding]:
    judged: dict[str, MetricCheck] = {}  # run.yaml -> what its files say of its metrics (_run_metrics)
    for record in ctx.records():
        if record.loaded.data is None and not record.loaded.problems:
            yield Finding(SCHEMA_CODES[record.kind], record.meta, "file is empty", _EMPTY_HINT[record.kind], 1)
            continue
        if record.loaded.data is None or not declared_schema_ok(record):
            continue
        refused = set()  # top-level fields the schema refused: no rule judges them further
        for issue in ctx.schema_issues(record.kind, record.meta, _judged(record), record.loaded.data):
            refused.add(str(issue.path[0]) if issue.path else "")
            yield Finding(
                SCHEMA_CODES[record.kind],
                record.meta,
                issue.message,
                schemas.advised(issue, _SCHEMA_HINT[record.kind]),
                record.line(*issue.path),
            )
        if not isinstance(record.loaded.data, dict):
            continue  # (not a mapping, as the schema said: it has no fields for the rules below to judge)
        if record.kind == "dataset":
            yield from _dataset(record)
        elif record.kind == "run":
            yield from _run_times(record)
            if not refused & {"params", "split"}:
                yield from _run_split(record)
        elif record.kind == "experiment":
            if "register" not in refused:
                yield from _register_name(record)
            if not refused & {"plugin", "gates"}:
                yield from _gate_metrics(ctx, record)
            if not refused & {"plugin", "model"}:
                yield from _model_type(ctx, record)
            if "data" not in refused:
                yield from _spec_data(ctx, record)
        elif record.kind == "model":
            yield from receipt_findings(ctx, record)
            if "artifacts" not in refused and "produced_by" not in refused:
                yield from _from_run(ctx, record)
            if "produced_by" not in refused:
                yield from _run_metrics(ctx, record, judged)


def _dataset(record: Record) -> Iterator[Finding]:
    data = record.data
    files = record.files
    if record.digest and files and all(f.checkable for f in files):
        expected = dataset_digest((f.path, f.sha256 or "") for f in files)
        if expected != record.digest:
            yield Finding(
                DATASET_DIGEST,
                record.meta,
                f"digest {record.digest} does not match the files listed (they give {expected})",
                "the files list or the digest was edited by hand: recreate the version with `strataml dataset add`",
                record.line("digest"),
            )
    missing = [k for k in ("license", "source") if k not in data]
    if missing:
        yield Finding(
            DATASET_PROVENANCE,
            record.meta,
            # (the message as it was: a baseline matches a finding by its message's fingerprint)
            f"no {' or '.join(missing)}: nobody can tell where the data came from or how it may be used",
            "add "
            + " and ".join(_PROVENANCE_HINT[k] for k in missing)
            + " while the version is new; once committed it never changes (TFC0002-E010): add the data again as a "
            "new version with `strataml dataset add ... --source ... --license ...`",
            record.line(),
        )
    tr = record.time_range
    columns = data.get("columns")
    timed = [
        c["name"]
        for c in (columns if isinstance(columns, list) else ())
        if isinstance(c, dict) and c.get("role") == "time" and isinstance(c.get("name"), str)
    ]
    if not tr and timed:
        # Time-stamped data is data with a time column: its range is what the leakage rules check
        # a run's windows against (without it, none of TFC0008-E006..E008 can run).
        yield Finding(
            TIME_RANGE,
            record.meta,
            f"column '{timed[0]}' holds time (role: time), but the version records no time_range",
            f"record the range it holds: time_range: {{column: {timed[0]}, start: ..., end: ...}} while the "
            "version is new (`strataml dataset add --time-column` computes it)",
            record.line("columns"),
        )
    if tr:
        column, window = tr
        start, end = parse_time(window.start), parse_time(window.end, end=True)
        names = (
            {c["name"] for c in columns if isinstance(c, dict) and isinstance(c.get("name"), str)}
            if isinstance(columns, list)
            else None
        )
        if start and end and start > end:
            yield Finding(
                TIME_RANGE,
                record.meta,
                f"time_range starts ({window.start}) after it ends ({window.end})",
                "swap start and end, or recompute them from the data",
                record.line("time_range"),
            )
        if names is not None and column not in names:
            yield Finding(
                TIME_RANGE,
                record.meta,
                f"time_range column '{column}' is not among the dataset's columns",
                "name an existing column, or add the column to columns:",
                record.line("time_range", "column"),
            )
        elif timed and column not in timed:
            # (the range of an integer feature says nothing of when rows happened: the leakage
            # rules would hold a run's windows to it)
            yield Finding(
                TIME_RANGE,
                record.meta,
                f"time_range names column '{column}', but the dataset's time column (role: time) is "
                + " or ".join(f"'{t}'" for t in timed[:3]),
                f"while the version is new, name {timed[0]} in time_range with the range found in it (`strataml dataset add "
                f"--time-column {timed[0]}` computes it), or correct the columns' roles",
                record.line("time_range", "column"),
            )
        elif "columns" not in data:
            yield Finding(
                TIME_RANGE,
                record.meta,
                f"time_range names column '{column}', but the dataset lists no columns",
                "list the columns (`strataml dataset add` records them for CSV files), or remove time_range",
                record.line("time_range", "column"),
            )


def _run_times(record: Record) -> Iterator[Finding]:
    data = record.data
    times = {
        k: t
        for k in ("created_at", "started_at", "ended_at")
        if (t := parse_time(v if isinstance(v := data.get(k), str) else ""))
    }
    order = list(times)
    for earlier, later in zip(order, order[1:]):
        if times[earlier] > times[later]:
            yield Finding(
                RUN_TIMES,
                record.meta,
                f"{later} ({data[later]}) is before {earlier} ({data[earlier]})",
                "timestamps are written by `strataml run`; a hand edit or a wrong clock made them disagree",
                record.line(later),
            )
    if data.get("status") in ("succeeded", "failed", "cancelled") and "ended_at" not in data:
        yield Finding(
            RUN_TIMES,
            record.meta,
            f"status is '{data['status']}' but the run has no ended_at",
            "a finished run records when it ended; add ended_at",
            record.line("status"),
        )


def _run_split(record: Record) -> Iterator[Finding]:
    """A time split is recorded twice: as the spec set it, flattened in `params`, and as the run
    used it, in `split` (TFC-0003), which the leakage rules read. A plugin may move a window to
    the data; a window the params list and `split` leaves out was never checked (a run trained
    into its test window passed with `split` holding train alone), nor was one on another column.
    A record says what it says: one that lists its windows nowhere is not caught here."""
    params, split = record.data.get("params"), record.data.get("split")
    if record.imported or not isinstance(params, dict) or params.get("split.kind") != "time":
        return
    if not isinstance(split, dict) or split.get("kind") != "time":
        return  # (the schema says a time split's run carries one: TFC0003-E001 already)
    column = params.get("split.column")
    if column is not None and column != split.get("column"):
        yield Finding(
            SCHEMA_CODES["run"],
            record.meta,
            f"split.column is {_split_said(column)} in params but {_split_said(split.get('column'))} in split: "
            "the leakage rules (TFC-0008) read split, and a run splits on the column its spec names",
            _SPLIT_HINT,
            record.line("split", "column"),
        )
    windows = mapping(split.get("windows"))
    for name in ("train", "val", "test"):
        in_params = [params.get(f"split.windows.{name}.{end}") for end in ("start", "end")]
        if in_params != [None, None] and not isinstance(windows.get(name), dict):
            yield Finding(
                SCHEMA_CODES["run"],
                record.meta,
                f"the {name} window is {'..'.join('?' if v is None else _split_said(v) for v in in_params)} in "
                "params but missing in split: the leakage rules (TFC-0008) read split, so it was never checked",
                _SPLIT_HINT,
                record.line("split", "windows"),
            )


_SPLIT_HINT = (
    "runs are written by `strataml run`, which records every window its spec sets (a plugin may move one to the "
    "data, never drop it); restore the record as it wrote it"
)


def _split_said(value: object) -> str:
    return shown(value if isinstance(value, str) else repr(value))


def _declared(ctx: Context, key: str) -> Declared:
    """What plugin `key` declares: one scan and one import per plugin, however many specs name it."""
    from strataml.runner.plugin import declared

    said = ctx.plugin_metrics.get(key)
    if said is None:
        said = ctx.plugin_metrics[key] = declared(key)
    if not said.builtin:
        ctx.volatile = True  # the verdict follows what is installed, not only the files
    return said


def _model_type(ctx: Context, record: Record) -> Iterator[Finding]:
    """The spec's model.type is one its plugin declares it trains: `strataml run` refuses another
    before anything runs, so a spec with a misspelt type passed the gate and never ran."""
    model, key = record.data.get("model"), record.data.get("plugin")
    wanted = model.get("type") if isinstance(model, dict) else None
    if not isinstance(wanted, str) or not isinstance(key, str):
        return
    taken = _declared(ctx, key).models
    if taken is None or wanted in taken:
        return
    yield Finding(
        MODEL_TYPE,
        record.meta,
        f"model.type '{shown(wanted[:100])}' is not a model type plugin '{shown(key[:100])}' trains"
        + _meant(wanted, sorted(taken)),
        f"use one of: {', '.join(sorted(taken))}",
        record.line("model", "type"),
    )


def _gate_metrics(ctx: Context, record: Record) -> Iterator[Finding]:
    """Each gate names a metric the spec's plugin declares it can write: a gate on a metric no
    run writes cannot pass, and would be found only after the run."""
    expressions, key = record.data.get("gates"), record.data.get("plugin")
    if not expressions or not isinstance(expressions, list) or not isinstance(key, str):
        return
    declared = _declared(ctx, key)
    if declared.metrics is None:
        yield Finding(
            GATE_METRICS_UNCHECKED,
            record.meta,
            f"gate metrics not checked: {declared.why_unknown}",
            "install the plugin where the doctor runs; a plugin declares its names in PluginInfo.metrics",
            record.line("gates"),
        )
        return
    for gate in gates.unwritten(expressions, declared.metrics):
        yield Finding(
            GATE_METRIC,
            record.meta,
            gate.message(key),
            f"a gate on an unwritten metric cannot pass; {key} writes: {', '.join(sorted(declared.metrics))}",
            record.line("gates", gate.index),
        )


def _register_name(record: Record) -> Iterator[Finding]:
    """The model a spec registers is named by the model-name grammar (TFC0001-E003): `run
    --dry-run` and the doctor passed `register: {model: my model}`, and the real run trained,
    then stopped at registration."""
    register = record.data.get("register")
    name = register.get("model") if isinstance(register, dict) else None
    if isinstance(name, str) and not valid_name(name):
        yield Finding(
            BAD_NAME,
            record.meta,
            f"register.model '{shown(name)}' is not a valid model name: {NAME_RULE}",
            "rename it in the spec's register.model (the run registers the model under that name)",
            record.line("register", "model"),
        )


def _spec_data(ctx: Context, record: Record) -> Iterator[Finding]:
    """The columns and the file a spec names are ones its dataset version records: a typo here
    passes every other rule and is found only when the spec runs. (A dataset that is not there
    is TFC0008-E001; one that records no columns is judged only for its target among the
    features; a time split's column is TFC0008-E008's.)"""
    data = record.data.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("dataset"), str):
        return
    dataset = ctx.workspace.get(data["dataset"])
    if dataset is None or dataset.kind != "dataset" or not isinstance(dataset.data, dict):
        return
    chosen = data.get("file")
    recorded = [f.path for f in dataset.files]
    if isinstance(chosen, str) and recorded and chosen not in recorded:
        yield Finding(
            SPEC_DATA,
            record.meta,
            f"data.file {chosen!r} is not a file of {dataset.ref}{_meant(chosen, recorded)}",
            f"name one of the files {dataset.meta} records: {listed(recorded, 12)}",
            record.line("data", "file"),
        )
    columns = dataset.data.get("columns")
    names = (
        [c["name"] for c in columns if isinstance(c, dict) and isinstance(c.get("name"), str)]
        if isinstance(columns, list)
        else []
    )
    named: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(data.get("target"), str):
        named.append((("target",), data["target"]))
    features = data.get("features")
    if isinstance(features, list):
        named += [(("features", i), name) for i, name in enumerate(features) if isinstance(name, str)]
    suggest = SUGGESTED_PER_RECORD - 1  # (data.file above had one)
    for path, name in named:
        # (Whether or not the version records its columns: the label as an input is wrong either way.)
        if path != ("target",) and name == data.get("target"):
            yield Finding(
                SPEC_DATA,
                record.meta,
                f"data.features[{path[1]}] {name!r} is the target: a model cannot take its label as an input",
                "remove it from data.features",
                record.line("data", *path),
            )
            continue
        if not names or name in names:
            continue
        field = "data.target" if path == ("target",) else f"data.features[{path[1]}]"
        suggest -= 1
        yield Finding(
            SPEC_DATA,
            record.meta,
            f"{field} {name!r} is not a column of {dataset.ref}{_meant(name, names) if suggest >= 0 else ''}",
            f"name one of the columns {dataset.meta} records: {listed(names, 12)}",
            record.line("data", *path),
        )


def _meant(word: str, known: list[str]) -> str:
    close = nearest(word, known)
    return f" (did you mean {close[0]!r}?)" if close else ""


def producing_run(ctx: Context, model: Record) -> Record | None:
    """The run a model version names in produced_by, as every check of it finds it (None: none)."""
    return _made_by(ctx.workspace, model)


def _registered_after(record: Record, run: Record) -> Iterator[Finding]:
    """A version is registered once its run has ended (less the clock skew ledgers are allowed):
    a created_at years before its run bypassed TFC0005-E008 (promotions dated before the model
    existed read as after its registration)."""
    from strataml.lifecycle import CLOCK_SKEW

    created, ended = (
        parse_time(v) if isinstance(v, str) else None for v in (record.data.get("created_at"), run.data.get("ended_at"))
    )
    if created is None or ended is None or created >= ended - CLOCK_SKEW:
        return
    yield Finding(
        NOT_FROM_RUN,
        record.meta,
        f"created_at ({record.data['created_at']}) is before {run.ref} (produced_by) ended ({run.data['ended_at']}): "
        "a version is registered from a run that has ended",
        f"restore {record.meta} as `strataml model register` wrote it (registration dates it)",
        record.line("created_at"),
    )


def _from_run(ctx: Context, record: Record) -> Iterator[Finding]:
    """A bundle holds its producing run's files: each artifact has the sha256 of a file the run
    records (registration copies them). Otherwise a version could carry any model beside a copy
    of a good run's receipt and metrics. (A produced_by that names no run is the lineage rule's
    finding; a file whose content is not what its record pins, the integrity rule's.)"""
    run = producing_run(ctx, record)
    if run is None:
        return
    state = broken(ctx, run)
    if state is not None:
        # Still an error on the version (promote and sign judge the version's own findings, and a
        # run.yaml broken on purpose switched this check off), but not "no file the run recorded":
        # what the run records is not known.
        yield Finding(
            NOT_FROM_RUN,
            record.meta,
            f"{run.ref} (produced_by) {state} ({run.meta}), so nothing shows that this bundle's files are the run's",
            f"restore {run.meta} from Git (a run never changes once recorded: its own error says what is wrong)",
            record.line("produced_by"),
        )
        return
    status = run.data.get("status")
    if status != "succeeded":
        # (model register refuses such a run; one written by hand passed, and a run still running
        # may change its files and metrics under the version: --since lets a running run finish.)
        yield Finding(
            NOT_FROM_RUN,
            record.meta,
            f"{run.ref} (produced_by) has status {status!r}: a model version is the result of a run that succeeded",
            f"register the version from a run that succeeded, once it has (`strataml model register run:ID "
            f"--name {record.ref.name}`)",
            record.line("produced_by"),
        )
        return
    yield from _registered_after(record, run)
    made = {f.sha256 for f in run.files if f.sha256}
    foreign = [e for e in record.files if e.sha256 and e.sha256 not in made]
    for entry in foreign:
        yield Finding(
            NOT_FROM_RUN,
            record.meta,
            f"artifact {entry.path!r} (sha256 {(entry.sha256 or '')[:12]}...) is no file {run.ref} (produced_by) "
            "recorded: a bundle holds its run's files",
            f"register the model again from the run that made it (`strataml model register run:ID --name "
            f"{record.ref.name}`), or name that run in produced_by",
            record.line("artifacts", entry.index, "sha256"),
        )
    # What the version says it was trained on is what its run read (TFC-0004 §2): lineage and
    # leakage are read from the version's inputs, which registration copies from the run. (Each
    # digest against its record is TFC0008-E005's, on either side.)
    said = sorted({i.ref for i in inputs_of(record.data)})
    read = sorted({i.ref for i in inputs_of(run.data)})
    if said != read:
        yield Finding(
            NOT_FROM_RUN,
            record.meta,
            f"inputs ({listed(said, 3) or 'none'}) are not what {run.ref} (produced_by) read "
            f"({listed(read, 3) or 'none'})",
            "write the run's inputs, each ref with its digest, in the version's inputs (`strataml model register` "
            "copies them)",
            record.line("inputs"),
        )


# The files a run writes its metrics into besides run.yaml: the core's summary (its `metrics`) and
# the sklearn plugin's metrics file (the metrics themselves); the bundle copies the latter.
METRIC_FILES = {"summary/run_summary.json": "metrics", "metrics/metrics.json": None}
# A run that pins neither (one `strataml import mlflow` wrote) is judged by its step-wise series:
# each metric's last point by step is the value MLflow reports as the run's.
SERIES_FILE = "summary/tracking.json"


def _run_metrics(ctx: Context, model: Record, judged: dict[str, MetricCheck]) -> Iterator[Finding]:
    """The run a model version was produced by states in run.yaml the metrics its own files
    hold: its `metrics` are what registration makes the receipt from and what every reader
    shows, and an edit of run.yaml alone (test_accuracy 0.913 -> 0.99) passed a failing gate,
    registered and promoted. Judged for the runs behind model versions, each run once: reading
    every run's files would cost a full check a read per run. Reported on the version, so that
    `model register` (which checks the version it stages) refuses it too."""
    run = producing_run(ctx, model)
    if run is None or run.folder is None or broken(ctx, run) is not None:
        return  # (a broken run is its own finding, and the version's TFC0004-E004)
    if run.meta not in judged:
        judged[run.meta] = check_metrics(ctx, run)
    check = judged[run.meta]
    if check.disagree is not None:
        yield Finding(
            RUN_METRICS,
            model.meta,
            f"{run.ref} (produced_by) {check.disagree}",
            f"restore {run.meta} from Git: a run's metrics are what it wrote; to change a result, run the "
            "experiment again and register that run",
            model.line("produced_by"),
        )
    elif check.suspect and check.unchecked is not None:
        # (A metric file made a symlink, padded past the loader's limit, or a metric the files do
        # not hold: the check could not look, and a version promoted on those numbers.)
        yield Finding(
            RUN_METRICS,
            model.meta,
            f"{run.ref} (produced_by) states metrics no file it wrote vouches for: {check.unchecked}",
            f"restore {run.meta} and its files from Git: a run's metrics are what it wrote",
            model.line("produced_by"),
        )
    else:
        yield from _evaluation(model, run)


def _evaluation(model: Record, run: Record) -> Iterator[Finding]:
    """A version's `evaluation.metrics` are its run's (registration copies its test_ metrics):
    the numbers its card, compare and diff show. A version copied by hand with better numbers
    there, its receipt left as the run's, passed every other check."""
    evaluation = model.data.get("evaluation")
    stated = evaluation.get("metrics") if isinstance(evaluation, dict) else None
    recorded = run.data.get("metrics")
    if not isinstance(stated, dict) or not isinstance(recorded, dict):
        return
    differ = [m for m in sorted(stated, key=str) if not _same_number(stated[m], recorded.get(m))]
    if not differ:
        return
    said = listed([f"{shown(str(m))} {_said(stated[m])} (run: {_said(recorded.get(m))})" for m in differ], 3)
    yield Finding(
        RUN_METRICS,
        model.meta,
        f"evaluation.metrics are not what {run.ref} (produced_by) recorded: {said}",
        f"restore {model.meta} from Git: a version's evaluation is its run's (`strataml model register` copies it)",
        model.line("evaluation", "metrics"),
    )


class MetricCheck(NamedTuple):
    """What the files a run wrote its metrics into say of its `metrics`."""

    disagree: str | None = None  # how they differ from a file's (the first that differs)
    unchecked: str | None = None  # why no file could be compared (it states metrics, none was read)
    fix: str = ""  # what makes an unchecked run checkable
    # Unchecked though the run pins its metric files, for a cause other than content not fetched
    # (a link, a file past the limit or not JSON, a metric none holds): no version may rest on it.
    suspect: bool = False


def check_metrics(ctx: Context, run: Record) -> MetricCheck:
    """`run`'s metrics against the first of its METRIC_FILES that it pins and holds other values
    (or its SERIES_FILE, when it pins neither). A file whose content is not what the run pins is
    the integrity rule's finding (TFC0006-E002), not this one's; an ill-formed run is its
    schema's. Every other file that cannot be read (a Git LFS pointer whose object is not here,
    a symbolic link, a file past the loader's limit, one that does not load) leaves the metrics
    unchecked, and says why: the integrity rule passes a link inside the record folder and a
    big file, and a check skipped in silence let hand-edited metrics through the gate."""
    metrics = run.data.get("metrics") if isinstance(run.data, dict) else None
    if not isinstance(metrics, dict):
        return MetricCheck()
    pinned = {f.path: f.sha256 for f in run.files if f.sha256}
    names = [n for n in METRIC_FILES if n in pinned] or ([SERIES_FILE] if SERIES_FILE in pinned else [])
    if not names:
        if not metrics:
            return MetricCheck()  # (it states none, and pins nothing that would)
        files = ", ".join([*METRIC_FILES, SERIES_FILE])
        return MetricCheck(unchecked=f"it pins none of the files its metrics are written into ({files})", fix=_REWRITE)
    unread: list[tuple[str, str]] = []  # (file, why it was not read)
    reported = False  # a file another rule reports (missing, or not what the run pins)
    held_names: set[str] = set()
    for name in names:
        read = _pinned_content(ctx, f"{run.folder}/{name}", pinned[name])
        if read.unread is not None:
            unread.append((name, read.unread))
            continue
        if read.content is None:
            reported = True
            continue
        loaded = load_bytes(read.content, json_syntax=True, constants=True)  # (a plugin's file, not a record)
        held = None if loaded.problems else _held(loaded.data, name)
        if held is None:
            unread.append((name, "does not hold its metrics as a JSON mapping"))
            continue
        # The core's summary holds exactly the run's metrics; a plugin's own file may hold more
        # than its metrics (counts, per-class tables), and a series file every metric logged:
        # there, only the names both hold count.
        names_here = (
            sorted(set(held) | set(metrics))
            if METRIC_FILES.get(name) is not None
            else sorted(m for m in held if m in metrics and isinstance(held[m], int | float))
        )
        held_names.update(names_here)
        differ = _unless_the_run_is_broken(
            ctx, run, [m for m in names_here if not _same_number(metrics.get(m), held.get(m))]
        )
        if differ:
            said = listed([f"{shown(str(m))} {_said(metrics.get(m))} (file: {_said(held.get(m))})" for m in differ], 3)
            return MetricCheck(disagree=f"states metrics its own {name} does not: {said}")
    missing = _unless_the_run_is_broken(ctx, run, sorted(m for m in metrics if m not in held_names))
    if not missing or (reported and not held_names and not unread):
        return MetricCheck()
    if unread and not held_names:
        why = "; ".join(f"its {name} {reason}" for name, reason in unread)
        pointers = all(r == _POINTER_ONLY for _n, r in unread)
        return MetricCheck(unchecked=why, fix=_FETCH if pointers else _REWRITE, suspect=not pointers)
    said = listed([shown(str(m)) for m in missing], 3)
    return MetricCheck(
        unchecked=f"{said} {'is' if len(missing) == 1 else 'are'} in none of its {' and '.join(names)}",
        fix=_REWRITE,
        suspect=True,
    )


_POINTER_ONLY = "is a Git LFS pointer whose content is not here"
_FETCH = (
    "fetch the Git LFS content before the doctor (`git lfs pull`; in GitHub Actions, actions/checkout with `lfs: true`)"
)
_REWRITE = (
    "make runs with `strataml run` (it writes and pins summary/run_summary.json); a run made another way records its "
    'metrics as {"metrics": {...}} in summary/run_summary.json, a regular file, and pins it in artifacts'
)


class _Read(NamedTuple):
    content: bytes | None = None  # what the record pins, read
    unread: str | None = None  # why it could not be read (None: read, or another rule's finding)


def _pinned_content(ctx: Context, rel: str, sha256: str) -> _Read:
    """`rel` when it is what its record pins (read from the local Git LFS object when the file is
    the pointer to it); why it could not be read; or neither, where another rule reports the file
    (missing, other content, a pointer git-lfs never replaces or that names other content)."""
    entry = ctx.workspace.entries.get(rel)
    if entry is not None and entry.kind == "symlink":
        return _Read(unread="is a symbolic link: metrics are read from the file itself")
    try:
        raw = ctx.workspace.read_bytes(rel, limit=MAX_BYTES)
    except TooLarge:
        return _Read(unread=f"is larger than {MAX_BYTES // (1024 * 1024)} MiB: not read")
    except Refused as exc:
        return _Read(unread=f"was not read: it is {exc.what}")
    except OSError as exc:
        return _Read(unread=f"cannot be read: {exc.strerror or exc}")
    if raw is None:
        return _Read()
    if hashlib.sha256(raw).hexdigest() == sha256:
        return _Read(raw)
    if not lfs.looks_like_pointer(raw):
        return _Read()
    try:
        pointer = lfs.parse(raw, len(raw))
    except lfs.MalformedPointer:
        return _Read()
    if pointer.oid != sha256:
        return _Read()
    git = ctx.git()
    if git is None:
        return _Read(unread=_POINTER_ONLY)  # (no repository to hold the object)
    if rel not in git.lfs:
        return _Read()
    ctx.volatile = True  # (what .git/lfs/objects holds is no part of the cache's key)
    # Found where the integrity rule finds it (the repository's own store, a link there followed:
    # .git is the user's, not the pull request's), read bounded and only if a regular file.
    if pointer.size > MAX_BYTES:
        return _Read(unread=f"is a Git LFS pointer to content larger than {MAX_BYTES // (1024 * 1024)} MiB: not read")
    try:
        content: bytes | None = atomic.read_given(
            lfs.object_path(git.lfs_objects, pointer.oid), "the Git LFS object", "", limit=MAX_BYTES
        )
    except StrataError:
        content = None
    if content is None or hashlib.sha256(content).hexdigest() != sha256:
        return _Read(unread=_POINTER_ONLY)  # (a corrupt local object is also the integrity rule's finding)
    return _Read(content)


def _held(data: object, name: str) -> dict[str, object] | None:
    """The metrics a metric file holds: a mapping of names to values, or None. A series file
    holds, for each metric, its point of the highest step (the last of those written at it):
    the value MLflow reports as the run's."""
    if name == SERIES_FILE:
        series = data.get("metrics") if isinstance(data, dict) else None
        if not isinstance(series, dict):
            return None
        last: dict[str, object] = {}
        for metric, points in series.items():
            steps = [
                (p["step"], i, p["value"])
                for i, p in enumerate(points if isinstance(points, list) else [])
                if isinstance(p, dict) and "value" in p and isinstance(p.get("step"), int)
            ]
            if steps:
                last[str(metric)] = max(steps, key=lambda s: s[:2])[2]
        return last
    key = METRIC_FILES[name]
    held = data.get(key) if key is not None and isinstance(data, dict) else data
    return held if isinstance(held, dict) else None


def _said(value: object) -> str:
    return "missing" if value is None else repr(value)


def receipt_findings(ctx: Context, record: Record) -> list[Finding]:
    """What is wrong with a model version's gate receipt (TFC0004-E002, E003, the file's own
    load and size findings), worked out once a run: the records rule reports them, and the
    ledger rule (TFC0005-E007) holds a move to staging or production to them, so a move on a
    receipt that does not hold is told whatever the policy makes of the receipt's own codes."""
    found = ctx.receipt_verdicts.get(record.meta)
    if found is None:
        found = ctx.receipt_verdicts[record.meta] = list(_gate(ctx, record))
    return found


def _gate(ctx: Context, record: Record) -> Iterator[Finding]:
    gate = record.data.get("gate")
    if not isinstance(gate, dict) or not isinstance(gate.get("file"), str) or record.folder is None:
        return
    fix = "restore the receipt from Git; it is written when the model is registered, and model.yaml pins it"
    problem = unsafe(gate["file"])
    if problem:
        yield Finding(
            GATE_SCHEMA, record.meta, f"gate.file {gate['file']!r}: {problem}", fix, record.line("gate", "file")
        )
        return
    rel = f"{record.folder}/{gate['file']}"
    entry = ctx.workspace.entries.get(rel)
    # The receipt is the evidence a promotion rests on (TFC0005-E007): absent or not a file, the
    # model has none, whatever model.yaml claims.
    if entry is None:
        yield Finding(GATE_SCHEMA, rel, f"gate receipt is missing: {record.meta} names it as gate.file", fix)
        return
    if entry.kind != "file":
        yield Finding(GATE_SCHEMA, rel, f"gate receipt is a {entry.kind}, not a regular file; it was not read", fix)
        return
    try:
        raw = ctx.workspace.read_bytes(rel, limit=MAX_BYTES)
    except TooLarge as exc:
        yield Finding(TOO_LARGE, rel, exc.message, "a gate receipt is written small; restore it from Git")
        return
    except Refused as exc:
        yield Finding(GATE_SCHEMA, rel, f"gate receipt was not read: it is {exc.what}", exc.hint or "")
        return
    except OSError as exc:
        yield Finding(GATE_SCHEMA, rel, f"gate receipt cannot be read: {exc.strerror}", "fix the file's permissions")
        return
    if raw is None:
        return  # removed since the walk
    loaded = load_bytes(raw, json_syntax=rel.endswith(".json"))  # one read serves parsing and the pin check
    yield from load_problems(rel, loaded)
    if loaded.data is None:
        return
    for issue in schemas.validate("gate", loaded.data):
        yield Finding(
            GATE_SCHEMA,
            rel,
            issue.message,
            schemas.advised(
                issue, "gate receipts are written when a model is registered; regenerate it rather than editing it"
            ),
        )
    receipt = loaded.data if isinstance(loaded.data, dict) else {}
    sha = hashlib.sha256(raw).hexdigest()
    problems = []
    if isinstance(gate.get("digest"), str) and gate["digest"] != f"sha256:{sha}":
        problems.append(f"gate.digest pins {gate['digest']} but {gate['file']} hashes to sha256:{sha}")
    if receipt.get("status") not in (None, gate.get("status")):
        problems.append(f"gate.status is {gate.get('status')!r} but the receipt says {receipt.get('status')!r}")
    if isinstance(receipt.get("model"), str) and receipt["model"] != str(record.ref):
        problems.append(f"the receipt is for '{receipt['model']}', not '{record.ref}'")
    run, produced_by = receipt.get("run"), record.data.get("produced_by")
    # A produced_by that names no run is the lineage rule's finding (TFC0008-E002), not the receipt's.
    if isinstance(run, str) and isinstance(produced_by, str) and produced_by.startswith("run:") and run != produced_by:
        problems.append(f"the receipt is for '{run}', but the model was produced by '{produced_by}'")
    problems += _receipt_disagrees(receipt)
    if not problems:
        problems += _receipt_is_not_the_runs(ctx, receipt, record)
    for message in problems:
        yield Finding(
            GATE_MISMATCH,
            record.meta,
            message,
            "the receipt and the model record must agree: re-register the model version",
            record.line("gate"),
        )


def _receipt_is_not_the_runs(ctx: Context, receipt: dict, model: Record) -> list[str]:
    """Where the receipt is not what registration wrote from its run: its criteria the run's
    recorded gates (when the run records them: runs made before it did still hold receipts),
    each `observed` the run's recorded metric, none when the run recorded none (as registration
    reads an absent `metrics`). A receipt edited to a passing `observed`, consistent with
    itself, still contradicts the run. (A run that is missing, not a run, or ill-formed is
    another rule's finding.)"""
    run = producing_run(ctx, model)
    criteria = receipt.get("criteria")
    if run is None or not isinstance(run.data, dict) or not isinstance(criteria, list):
        return []
    metrics, recorded = run.data.get("metrics") or {}, run.data.get("gates")
    if not isinstance(metrics, dict) or not all(isinstance(c, dict) for c in criteria):
        return []
    if isinstance(recorded, list) and all(isinstance(g, str) for g in recorded):
        try:
            wanted = [gates.parse_gate(g).expression for g in recorded]
        except ValueError:
            wanted = None  # the run's own finding
        said = [c.get("expression") for c in criteria]
        if wanted is not None and said != wanted:
            return _unless_the_run_is_broken(
                ctx, run, [f"the receipt's criteria are {said}, but {run.ref} records the gates {wanted}"]
            )
    problems = []
    for number, criterion in enumerate(criteria):
        metric, observed = criterion.get("metric"), criterion.get("observed")
        if not isinstance(metric, str):
            continue
        truth = metrics.get(metric)
        # (Registration writes what a gate weighs, gates.recorded: NaN, an infinity or an integer
        # past a float's range as null. Compared with the raw value, no receipt could pass.)
        if not (_same_number(observed, truth) or (observed is None and gates.recorded(truth) is None)):
            problems.append(
                f"criteria[{number}] ({criterion.get('expression')}) says observed {observed}, but {run.ref} "
                f"recorded {metric} = {'nothing' if truth is None else truth}"
            )
    return _unless_the_run_is_broken(ctx, run, problems)


def _judged(record: Record) -> object:
    """The document the schema check judges: of a later minor (TFC0001-W002 says so), the fields
    this strataml knows, the others left to the strataml that knows them."""
    document = record.loaded.data
    minor = schemas.minor_of(record.kind, document.get("schema")) if isinstance(document, dict) else None
    if minor is None or minor <= schemas.KNOWN_MINOR:
        return document
    known = schemas.known_fields(record.kind)
    return {k: v for k, v in document.items() if k in known or (isinstance(k, str) and k.startswith("x-"))}


def broken(ctx: Context, record: Record) -> str | None:
    """How `record` fails as the records rule judges it (its own finding), or None: the one
    answer every rule about another record (a version's run, a promoted version) goes by."""
    if record.loaded.problems or not isinstance(record.loaded.data, dict):
        return "did not load"
    if not declared_schema_ok(record):
        return "is in a schema this strataml does not read"
    issues = ctx.schema_issues(record.kind, record.meta, _judged(record), record.loaded.data)
    return "breaks its schema" if issues else None


def _unless_the_run_is_broken(ctx: Context, run: Record, problems: list[str]) -> list[str]:
    """`problems`, unless the run's record is broken: that is the run's finding (and the version's
    TFC0004-E004), and registration would not have read it. (Asked only when there is a
    mismatch to report.)"""
    return problems if not problems or broken(ctx, run) is None else []


def _same_number(a: object, b: object) -> bool:
    """Equal as a metric and its copy in a receipt: NaN is NaN (older registrations wrote a
    diverged run's metric as NaN), and a boolean is no number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


def _receipt_disagrees(receipt: dict) -> list[str]:
    """Where a receipt contradicts itself: a criterion whose `passed` is not its expression
    evaluated on its `observed` (by gates.passes, the evaluator that wrote it), or a status
    that is not PASS exactly when every criterion passed. Ill-typed parts are the schema's."""
    criteria = receipt.get("criteria")
    if not isinstance(criteria, list):
        return []
    problems: list[str] = []
    verdicts: list[bool] = []
    for number, criterion in enumerate(criteria):
        if not isinstance(criterion, dict) or not isinstance(criterion.get("passed"), bool):
            return problems
        verdicts.append(criterion["passed"])
        observed, expression = criterion.get("observed"), criterion.get("expression")
        if (
            isinstance(observed, bool)
            or not isinstance(observed, int | float | None)
            or not isinstance(expression, str)
        ):
            continue
        try:
            gate = gates.parse_gate(expression)
        except ValueError:
            continue
        where = f"criteria[{number}] ({gate.expression})"
        if criterion.get("metric") != gate.metric:
            problems.append(f"{where} names metric {criterion.get('metric')!r}, not its expression's {gate.metric!r}")
        if criterion["passed"] != gates.passes(gate, observed):
            problems.append(
                f"{where} is marked passed: {str(criterion['passed']).lower()}, but observed {observed} "
                f"{'meets' if gates.passes(gate, observed) else 'fails'} it"
            )
    status = receipt.get("status")
    if status in ("PASS", "FAIL") and (status == "PASS") != all(verdicts):
        failed = sum(not v for v in verdicts)
        problems.append(f"the receipt's status is {status} but {failed} of {len(verdicts)} criteria failed")
    return problems

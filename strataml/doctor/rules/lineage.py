"""TFC-0008: references resolve to the right kind, identifiers never collide, no leakage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from strataml.controls import shown
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding, about_pinned
from strataml.hashing import dataset_digest
from strataml.records import Record, Window, inputs_of
from strataml.refs import Ref, RefError, fold, parse_ref, version_number
from strataml.spelling import SUGGESTED_PER_RECORD
from strataml.times import parse_time
from strataml.workspace import LEDGER, SIGNATURE_SUFFIX, Workspace, place

DANGLING = "TFC0008-E001"
WRONG_KIND = "TFC0008-E002"
MALFORMED = "TFC0008-E003"
DUPLICATE = "TFC0008-E004"
INPUT_DIGEST = "TFC0008-E005"
LEAKAGE = "TFC0008-E006"
OUTSIDE_RANGE = "TFC0008-E007"
BAD_WINDOW = "TFC0008-E008"
CYCLE = "TFC0008-E009"
UNPINNED = "TFC0008-E010"
ALIKE = "TFC0008-W001"

EVAL_WINDOWS = ("val", "test")


def check(ctx: Context) -> Iterator[Finding]:
    ws = ctx.workspace
    parse = _Parsed()
    yield from _collisions(ws)
    yield from _spelled_alike(ws, ctx.scope)
    # A shard searches from every record, as a full run does (each loop then reads the same, and
    # is kept by one shard); --since searches from what changed (a new loop runs through it).
    every = ctx.scope is None or ctx.options.shard is not None
    yield from _cycles(ws, list(ws.records) if every else ctx.records(), parse, every)
    for record in ctx.records():
        if record.loaded.data is None:
            continue
        suggest = [SUGGESTED_PER_RECORD]
        for path, text, kinds in ref_fields(record):
            yield from _resolve(ws, record, path, text, kinds, parse, suggest)
        yield from _duplicates_within(record)
        yield from _inputs(ws, record, parse)
        yield from _unpinned(record, parse)
        yield from _windows(ws, record)


class _Parsed:
    """parse_ref for one run of the rule, each text parsed once: the cycle search, the references
    and the inputs read the same refs (a record's inputs are among its references)."""

    def __init__(self) -> None:
        self._seen: dict[str, Ref | str] = {}  # text -> its Ref, or why it is none

    def __call__(self, text: str) -> Ref:
        found = self._seen.get(text)
        if found is None:
            try:
                found = parse_ref(text)
            except RefError as exc:
                found = str(exc)
            self._seen[text] = found
        if isinstance(found, str):
            raise RefError(found)
        return found


# The kinds a loop can run through: a model names its run, a run the models it read (a run that
# read the version it produced), a dataset the dataset or run it came from. (An experiment names
# only a dataset, and nothing names one but a run: it closes no loop.)
_LOOPING = ("model", "dataset", "run")


def _cycles(ws: Workspace, starts: list[Record], parse: Callable[[str], Ref], every: bool) -> Iterator[Finding]:
    """Lineage must be acyclic: a record cannot come (transitively) from itself.

    The search starts from the records in scope and reads others only as it reaches them: a
    loop new since --since REF runs through a changed record. From `every` record, it need not
    start from runs: a run names only datasets and models, so every loop holds one of those.
    """
    upstream: dict[str, list[str]] = {}

    def parents(ref: str) -> list[str]:
        if ref not in upstream:
            record = ws.get(ref)
            names = []
            if record is not None and record.kind in _LOOPING and record.loaded.data is not None:
                for _path, text, _kinds in ref_fields(record):
                    try:
                        parent = parse(text)
                    except RefError:
                        continue
                    if parent.kind in _LOOPING:  # (an experiment names no parent here: a dead end)
                        names.append(str(parent))
            upstream[ref] = names
        return upstream[ref]

    done: set[str] = set()
    first = ("model", "dataset") if every else _LOOPING
    for start in sorted(str(r.ref) for r in starts if r.kind in first):
        if start in done:
            continue
        # Iterative depth-first search; `trail` is the current path, `on_trail` its members.
        trail, on_trail, stack = [start], {start}, [(start, iter(parents(start)))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                trail.pop()
                on_trail.discard(node)
                done.add(node)
            elif child in on_trail:
                loop = trail[trail.index(child) :] + [child]
                record = ws.get(child)
                yield Finding(
                    CYCLE,
                    record.meta if record else child,
                    f"lineage loops: {' <- '.join(loop)}",
                    "a record can only come from records made before it; fix the ref that closes the loop",
                )
            elif child not in done:
                stack.append((child, iter(parents(child))))
                trail.append(child)
                on_trail.add(child)


def ref_fields(record: Record) -> Iterator[tuple[tuple[str | int, ...], str, tuple[str, ...]]]:
    """(path in the document, ref text, kinds it may name) for every reference a record makes."""
    return refs_in(record.kind, record.data)


def refs_in(kind: str, data: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str, tuple[str, ...]]]:
    """ref_fields() of a record of `kind` whose metadata is `data` (an index node's attrs serve:
    they hold every field a reference lives in, unchanged)."""
    for path, kinds in _REF_PATHS.get(kind, ()):
        value: object = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            yield path, value, kinds
    if kind in ("run", "model"):
        for item in inputs_of(data):
            yield ("inputs", item.index, "ref"), item.ref, ("dataset", "model")
    elif kind == "dataset":
        source = data.get("source")
        sources = source.get("from") if isinstance(source, dict) else None
        for i, value in enumerate(sources if isinstance(sources, list) else ()):
            if isinstance(value, str):
                yield ("source", "from", i), value, ("dataset",)


# Where a record of each kind names one other record: (the path to it, the kinds it may name).
# (A table made once: refs_in runs ~4 times per record in a full doctor and index.)
_REF_PATHS: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    "experiment": ((("data", "dataset"), ("dataset",)),),
    "run": ((("experiment",), ("experiment",)),),
    "model": ((("produced_by",), ("run",)), (("derived_from",), ("model",))),
}


def _resolve(
    ws: Workspace,
    record: Record,
    path: tuple[str | int, ...],
    text: str,
    kinds: tuple[str, ...],
    parse: Callable[[str], Ref],
    suggest: list[int],
) -> Iterator[Finding]:
    """`suggest`: how many more of the record's missing refs get a "did you mean" (counted down)."""
    try:
        ref = parse(text)
    except RefError as exc:
        yield Finding(
            MALFORMED,
            record.meta,
            f"{_where(path)}: {exc}",
            "write refs as dataset:NAME@VERSION, model:NAME@VERSION, run:ID or experiment:NAME",
            record.line(*path),
        )
        return
    if ref.kind not in kinds:
        yield Finding(
            WRONG_KIND,
            record.meta,
            f"{_where(path)} must name a {' or '.join(kinds)}, not a {ref.kind} ({text})",
            f"point it at a {kinds[0]} ref",
            record.line(*path),
        )
        return
    if ws.get(ref) is None:
        close = ws.closest(text, ref.kind) if suggest[0] > 0 else []
        suggest[0] -= 1
        # A record others name may have been deleted rather than mistyped: say both.
        folder, meta = place(ref)
        gone = f"if {ref} was deleted, restore {f'{folder}/' if folder else meta} from git (a record that others name stays)"
        hint = f"did you mean {', '.join(close)}? {gone[0].upper()}{gone[1:]}" if close else f"fix the ref, or {gone}"
        yield Finding(
            DANGLING,
            record.meta,
            f"{_where(path)} refers to {text}, which does not exist in this workspace",
            hint,
            record.line(*path),
        )


def _where(path: tuple[str | int, ...]) -> str:
    return "/".join(map(str, path))


def _collisions(ws: Workspace) -> Iterator[Finding]:
    folded = [record.ref.folded for record in ws.records]
    # A versioned record's name is a folder (datasets/NAME/, models/NAME/ and its ledger): two
    # spellings of one folded name are one folder on macOS and Windows, whatever their versions
    # (dataset:Iris@2 beside dataset:iris@1). Names hold no '@': the folded ref's part before it.
    spellings: dict[str, set[str]] = {}
    for record, key in zip(ws.records, folded):
        if record.ref.version is not None:
            spellings.setdefault(key.partition("@")[0], set()).add(record.ref.name)
    # A ledger's folder is a model name's too, with or without a version beside it: an empty
    # models/IRIS-classifier/lifecycle.jsonl is the real ledger's file on macOS and Windows.
    # (Judged apart: added to the records' spellings, they made every version of the real name
    # one group, and each "collided" with the others.)
    named, alone = ws.model_names, ws.lone_ledgers
    name_folders: dict[str, set[str]] = {}
    for name in [*named, *alone]:
        name_folders.setdefault(fold(f"model:{name}"), set()).add(name)
    for name in alone:
        others = name_folders[fold(f"model:{name}")] - {name}
        if others:
            # The model's own spelling when there is one, else the first: another alias named would
            # hide the real name, and the message (a baseline's words) change as aliases come.
            meant = sorted(others & named) or sorted(others)
            yield Finding(
                DUPLICATE,
                f"models/{name}/{LEDGER}",
                f"models/{name}/ holds only a ledger, and is models/{meant[0]}/ under case-folding or "
                "Unicode normalisation",
                "remove it (or move its entries into the ledger of the name spelled as the model's): on macOS "
                "and Windows checkouts the two are one folder, and one ledger silently wins",
            )
    shared = {key for key, names in spellings.items() if len(names) > 1}
    if not shared and len(set(folded)) == len(folded):
        return  # the common case, answered by one set (every run folds every ref)
    groups: dict[str, list[Record]] = defaultdict(list)
    for record, key in zip(ws.records, folded):
        folder = key.partition("@")[0] if record.ref.version is not None else None
        groups[folder if folder in shared else key].append(record)
    for key, members in groups.items():
        if len(members) < 2:
            continue
        names = ", ".join(str(m.ref) for m in members)
        # Versions of two spellings of a name: what is one folder is the name's (datasets/Iris/, datasets/iris/).
        folders = sorted({m.folder.rsplit("/", 1)[0] + "/" for m in members if m.folder}) if key in shared else []
        same = f" ({' and '.join(folders)} are one)" if len(folders) > 1 else ""
        for member in members:
            yield Finding(
                DUPLICATE,
                member.folder or member.meta,
                # (the message as it was: a baseline matches a finding by its message's fingerprint)
                f"{member.ref} collides with another record ({names}) under case-folding or Unicode normalisation",
                f"rename one of them: on macOS and Windows checkouts they would be the same folder{same}",
            )


def _spelled_alike(ws: Workspace, scope: frozenset[str] | None) -> Iterator[Finding]:
    """Versions of one name that are one number spelled two ways (01 beside 1): distinct folders
    and refs, which "the latest version", a reviewer and a reader of a ref take for one. (A
    --since walk lists every version folder of a changed record's name; of a pair the change did
    not touch it says nothing, as it says nothing else of what did not change.)"""
    names: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in ws.records:
        if record.ref.version is not None:
            names[record.ref.kind, record.ref.name].append(record)
    for members in names.values():
        if len(members) < 2:
            continue  # (the common case: a name's first version; no version is parsed for it)
        numbers: dict[tuple[tuple[int, int, str], ...], list[Record]] = defaultdict(list)
        for record in members:
            numbers[version_number(str(record.ref.version))].append(record)
        for same in numbers.values():
            if len(same) < 2:
                continue
            for record in same:
                if scope is not None and str(record.ref) not in scope:
                    continue
                others = ", ".join(str(o.ref) for o in same if o is not record)
                yield Finding(
                    ALIKE,
                    record.folder or record.meta,
                    f"{record.ref} is the version {others} spelled otherwise: refs, 'the latest version' "
                    "and people take the two for one",
                    "give the version that is new in this change a number of its own (rename its folder and "
                    "its ref; dataset add and model register refuse such a version); two already published "
                    "stay, and doctor.severity in strataml.yaml can set this code to info",
                )


def _duplicates_within(record: Record) -> Iterator[Finding]:
    # The metadata file shares the folder with the files it pins: none of them may be it.
    meta = record.meta.rsplit("/", 1)[-1] if record.folder else None
    own = fold(meta) if meta else None
    own_signature = fold(meta + SIGNATURE_SUFFIX) if meta else None
    seen: dict[str, str] = {}
    for entry in record.files:
        key = fold(entry.path)
        if key == own:
            same = "" if entry.path == meta else f" '{meta}' under case-folding or Unicode normalisation"
            yield about_pinned(
                DUPLICATE,
                record,
                entry,
                f"is the record's own metadata file{same}",
                "a record cannot pin its own metadata: rename the data file",
                at_path=False,
            )
        elif key == own_signature:
            yield about_pinned(
                DUPLICATE,
                record,
                entry,
                "is the name of the record's own signature file",
                "a data file cannot stand where the record's signature belongs: rename the data file",
                at_path=False,
            )
        elif key in seen:
            same = (
                "the same path"
                if seen[key] == entry.path
                else f"'{seen[key]}' under case-folding or Unicode normalisation"
            )
            yield about_pinned(
                DUPLICATE,
                record,
                entry,
                f"repeats {same}",
                "list each file once; rename files that differ only in case or accents",
                at_path=False,
            )
        else:
            seen[key] = entry.path
    yield from _file_under_file(record, seen)
    refs: set[str] = set()
    for item in record.inputs:
        key = fold(item.ref)
        if key in refs:
            yield Finding(
                DUPLICATE,
                record.meta,
                f"inputs[{item.index}] repeats {item.ref}",
                "list each input once",
                record.line("inputs", item.index),
            )
        refs.add(key)


def _file_under_file(record: Record, seen: dict[str, str]) -> Iterator[Finding]:
    """A pinned file named as a folder another pinned file sits in, once case and accents are
    folded (`iris` and `IRIS/part.csv`): no checkout on a case-insensitive disk holds both."""
    if not any("/" in key for key in seen):
        return
    folders: dict[str, str] = {}
    for key, path in seen.items():
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folders.setdefault("/".join(parts[:depth]), path)
    for entry in record.files:
        inside = folders.get(fold(entry.path))
        if inside is not None and seen.get(fold(entry.path)) == entry.path:
            folded = "" if inside.startswith(entry.path + "/") else " under case-folding or Unicode normalisation"
            yield about_pinned(
                DUPLICATE,
                record,
                entry,
                f"is a file, and '{inside}' needs a folder of that name{folded}",
                "rename the file or the folder: a checkout on a case-insensitive disk cannot hold both",
                at_path=False,
            )


def pinned_digest(record: Record) -> str | None:
    """The digest another record must pin to name this one as an input."""
    if record.kind == "dataset":
        return record.digest
    files = record.files
    if record.kind == "model" and files and all(f.sha256 for f in files):
        return dataset_digest((f.path, f.sha256 or "") for f in files)
    return None


def _inputs(ws: Workspace, record: Record, parse: Callable[[str], Ref]) -> Iterator[Finding]:
    for item in record.inputs:
        try:
            target = ws.get(parse(item.ref))
        except RefError:
            continue
        actual = pinned_digest(target) if target else None
        if item.digest and actual and item.digest != actual:
            yield Finding(
                INPUT_DIGEST,
                record.meta,
                f"inputs[{item.index}] pins {item.ref} at {item.digest}, but it is now {actual}",
                "the input changed after this record was made: re-run against the current version, or restore the input",
                record.line("inputs", item.index, "digest"),
            )


def _read_dataset(record: Record) -> str | None:
    """The dataset a run's params say it read (`strataml run` records its spec's data.dataset
    there); None for a run `strataml import mlflow` wrote, whose params are MLflow's own."""
    if record.kind != "run" or record.imported:
        return None
    params = record.data.get("params")
    named = params.get("data.dataset") if isinstance(params, dict) else None
    return named if isinstance(named, str) else None


def _unpinned(record: Record, parse: Callable[[str], Ref]) -> Iterator[Finding]:
    """A run must pin the dataset it read: without the input, its lineage ends at the run and
    nothing holds its data to a digest or its time windows to the data's range. (Of the run
    alone: a finding that read the dataset would have to be checked again when it changes,
    and params are no reference the incremental doctor follows.)"""
    named = _read_dataset(record)
    if named is None:
        return
    try:
        read = parse(named)
    except RefError:
        return  # (not a ref: nothing to pin; a spec's own data.dataset is checked as a ref)
    if read.kind != "dataset":
        return
    for item in record.inputs:
        try:
            if parse(item.ref) == read:
                return
        except RefError:
            continue
    yield Finding(
        UNPINNED,
        record.meta,
        f"params name {shown(named)} as data.dataset, but inputs do not pin it",
        f"add {{ref: {read}, digest: DIGEST}} to inputs with the digest its dataset.yaml records, as "
        "`strataml run` writes it; or correct params if the run read another dataset",
        record.line("inputs") or record.line("params", "data.dataset"),
    )


def _windows(ws: Workspace, record: Record) -> Iterator[Finding]:
    # A run's params hold the split as its spec set it: one that trains into its test period
    # there, whatever `split` says it used, is the same leak (a hand edit narrowed split alone).
    spec: dict[str, tuple[datetime, datetime, Window]] = {}
    for name, w in record.params_windows.items():
        start, end = parse_time(w.start), parse_time(w.end, end=True)
        if start is not None and end is not None:
            spec[name] = (start, end, w)
    yield from _overlaps(record, spec, " as the run's params list it")
    windows = record.windows
    if not windows:
        return
    parsed = {}
    for name, w in sorted(windows.items()):
        start, end = parse_time(w.start), parse_time(w.end, end=True)
        if start is None or end is None or start > end:
            yield Finding(
                BAD_WINDOW,
                record.meta,
                f"split window {name} [{w.start} .. {w.end}] is not a valid time interval",
                "give times as TFC-0001 section 3 writes them (2024-01-09, or 2024-01-09T10:00:00Z) with start <= end",
                record.line("split", "windows", name),
            )
            continue
        parsed[name] = (start, end, w)
    yield from _overlaps(record, parsed, "")
    yield from _inside_datasets(ws, record, parsed)


def _overlaps(record: Record, parsed: dict[str, tuple[datetime, datetime, Window]], said: str) -> Iterator[Finding]:
    train = parsed.get("train")
    if not train:
        return
    for name in EVAL_WINDOWS:
        other = parsed.get(name)
        if other and not train[1] < other[0]:
            where = ("params", f"split.windows.{name}.start") if said else ("split", "windows", name)
            yield Finding(
                LEAKAGE,
                record.meta,
                f"train window{said} ends {train[2].end}, not before the {name} window starts {other[2].start}: "
                f"the model can see the period it is evaluated on",
                f"end train before {other[2].start}, or start {name} later",
                record.line(*where),
            )


def _datasets_of(ws: Workspace, record: Record) -> tuple[list[Record], bool]:
    """The datasets a record's windows are checked against (its inputs, a spec's data.dataset),
    and whether it names any dataset at all, resolved or not (a run's params count: a dataset
    they name and inputs do not pin is TFC0008-E010's, its range checked once it is pinned)."""
    texts = [i.ref for i in record.inputs]
    if record.kind == "experiment":
        data = record.data.get("data")
        if isinstance(data, dict) and isinstance(data.get("dataset"), str):
            texts.append(data["dataset"])
    refs = [ref for ref in map(_dataset_ref, texts) if ref is not None]
    found = [target for target in map(ws.get, refs) if target is not None]
    read = _read_dataset(record)
    return found, bool(refs) or (read is not None and _dataset_ref(read) is not None)


def _dataset_ref(text: str) -> Ref | None:
    try:
        ref = parse_ref(text)
    except RefError:
        return None
    return ref if ref.kind == "dataset" else None


def _inside_datasets(
    ws: Workspace, record: Record, parsed: dict[str, tuple[datetime, datetime, Window]]
) -> Iterator[Finding]:
    column = record.split_column
    if column == "":
        # (Read as no column, it held the windows to any time range: no dataset records one on "".
        # A spec's schema refuses it already: one finding for one mistake.)
        if parsed and record.kind != "experiment":
            yield Finding(
                BAD_WINDOW,
                record.meta,
                "split is by time on an empty column: no dataset records a time range on it",
                "set split.column to the dataset's time column (its time_range.column)",
                record.line("split", "column"),
            )
        return
    datasets, named = _datasets_of(ws, record)
    if parsed and not named:
        # No dataset to hold the windows to: "inside each input's range" held of none, and a run
        # whose inputs were dropped passed with windows past its data's end.
        yield Finding(
            BAD_WINDOW,
            record.meta,
            f"split is by time, but {'the spec' if record.kind == 'experiment' else 'the run'} names no dataset, "
            "so the windows cannot be checked against a time range",
            "name the dataset the split reads ("
            + ("data.dataset" if record.kind == "experiment" else "in inputs, with its digest")
            + "), or split by ratio",
            record.line("split", "windows"),
        )
    for dataset in datasets:
        if not isinstance(dataset.loaded.data, dict):
            # Still an error (the windows cannot be checked for leakage), but not "records no
            # time_range" of a version that may record one: what it records is not known.
            yield Finding(
                BAD_WINDOW,
                record.meta,
                f"split is by time, but {dataset.ref} did not load ({dataset.meta}), so the windows cannot be "
                "checked against its time range",
                f"fix {dataset.meta} (its own error says how)",
                record.line("split", "windows"),
            )
            continue
        tr = dataset.time_range
        if tr is None or (column is not None and tr[0] != column):
            on = f" on '{column}'" if column else ""
            yield Finding(
                BAD_WINDOW,
                record.meta,
                f"split is by time{on} but {dataset.ref} records no time_range{' for that column' if column else ''}",
                f"add a new version of {dataset.ref.name} with `strataml dataset add --time-column COL` and split "
                "on it, or split by ratio",
                record.line("split", "windows"),
            )
            continue
        lo, hi = parse_time(tr[1].start), parse_time(tr[1].end, end=True)
        if lo is None or hi is None:
            # (The dataset's own error says which; the windows are still held to the bound that reads.)
            yield Finding(
                BAD_WINDOW,
                record.meta,
                f"split is by time, but {dataset.ref}'s time_range [{tr[1].start} .. {tr[1].end}] is not a valid "
                "time interval, so the windows cannot be checked against it",
                f"fix {dataset.meta} (its own error says how)",
                record.line("split", "windows"),
            )
        for name, (start, end, w) in sorted(parsed.items()):
            if (lo is not None and start < lo) or (hi is not None and end > hi):
                yield Finding(
                    OUTSIDE_RANGE,
                    record.meta,
                    f"split window {name} [{w.start} .. {w.end}] is outside {dataset.ref}'s time range "
                    f"[{tr[1].start} .. {tr[1].end}]",
                    "keep every window inside the data you have",
                    record.line("split", "windows", name),
                )

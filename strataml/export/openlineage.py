"""Every run as OpenLineage RunEvents, for lineage catalogues (Marquez, DataHub, ...).

Events are built with openlineage-python's own classes (the `openlineage` extra), whose
validators check each field as it is made (run ids are UUIDs, times are ISO 8601 with a time,
URIs are URIs), serialised by its Serde, and posted by its HTTP transport. A run gives a START
event and, when it ended, COMPLETE (succeeded) or FAIL (failed): the job is its experiment,
the inputs its dataset versions (version facet: the digest; schema facet: the recorded columns;
dataSource: the recorded source), the outputs the model versions it registered. StrataML's own
facet (`strataml`) carries the ref, status, seed, parameters, metrics and code commit. Run ids
are UUIDs derived from the workspace and the run id, so exporting again sends the same events:
a catalogue updates what it has, never doubles it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from strataml import __version__
from strataml.controls import said
from strataml.errors import StrataError
from strataml.export import need as _need
from strataml.numbers import as_float
from strataml.read.query import Graph
from strataml.shapes import mapping as _map
from strataml.shapes import sequence
from strataml.shapes import text as _text
from strataml.times import parse_time

EXTRA = "openlineage"
PRODUCER = f"https://strataml.dev/strataml/{__version__}"
FACET_SCHEMA = "https://strataml.dev/schemas/openlineage/StrataMLRunFacet.json"
_RUN_NAMESPACE = uuid.UUID("6f1c0f5e-6a43-5bd2-9e2c-3c1f8f0e7d41")  # StrataML's: names below are its own
_ENDED = {"succeeded": "COMPLETE", "failed": "FAIL", "aborted": "ABORT", "cancelled": "ABORT", "killed": "ABORT"}


def need() -> Any:
    """openlineage-python's event classes, or an error naming the extra that brings them."""
    return _need("openlineage.client.event_v2", EXTRA, "openlineage", "openlineage-python")


def run_uuid(workspace: str, run_ref: str) -> str:
    """The OpenLineage runId of a StrataML run: the same every export (a UUID, version 5)."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{workspace}\0{run_ref}"))


@cache
def _strataml_facet() -> type:
    import attr
    from openlineage.client.generated.base import RunFacet

    @attr.define
    class StrataMLRunFacet(RunFacet):
        ref: str
        status: str | None = attr.field(default=None)
        seed: Any = attr.field(default=None)
        params: dict[str, Any] = attr.field(factory=dict)
        metrics: dict[str, float] = attr.field(factory=dict)
        code: dict[str, Any] = attr.field(factory=dict)
        config_hash: str | None = attr.field(default=None)

        @staticmethod
        def _get_schema() -> str:
            return FACET_SCHEMA

    return StrataMLRunFacet


def events(graph: Graph, only: set[str] | None = None, left_out: list[str] | None = None) -> list[Any]:
    """RunEvents for every run (or the runs whose ids are in `only`), oldest first, START before
    its end; a run with no readable time (its run.yaml does not load, or holds no time) has
    none, and its id goes to `left_out`."""
    ol = need()
    from openlineage.client.generated import base as generated
    from openlineage.client.generated import (
        dataset_version_dataset,
        datasource_dataset,
        documentation_job,
        error_message_run,
        job_type_job,
        schema_dataset,
    )

    generated.set_producer(PRODUCER)  # every facet names StrataML as what produced it
    workspace = str(graph.index.get("workspace") or "workspace")
    namespace = f"strataml://{workspace}"
    runs = sorted(
        (n for n in graph.nodes.values() if n["kind"] == "run" and (only is None or n["id"] in only)),
        key=lambda n: (str(_map(n.get("attrs")).get("created_at") or ""), n["id"]),
    )
    facet = _strataml_facet()
    out = []
    for node in runs:
        attrs = _map(node.get("attrs"))
        experiment = graph.nodes.get(str(attrs.get("experiment")))
        job_name = experiment["id"].split(":", 1)[1] if experiment else f"run/{node['id'].split(':', 1)[1]}"
        job_facets: dict[str, Any] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="STRATAML", jobType="EXPERIMENT"
            )
        }
        description = _text(_map(experiment.get("attrs")).get("description")) if experiment else None
        if description:
            job_facets["documentation"] = documentation_job.DocumentationJobFacet(description=description)
        job = ol.Job(namespace=namespace, name=job_name, facets=job_facets)
        inputs = []
        for item in sequence(attrs.get("inputs")):
            if not isinstance(item, dict) or not isinstance(item.get("ref"), str):
                continue
            kind, colon, named = item["ref"].partition(":")
            if not colon:
                continue  # (no ref at all: the doctor's finding, and no dataset to name)
            target = graph.nodes.get(item["ref"])
            name = named.split("@", 1)[0]
            data = _map(target.get("attrs")) if target else {}
            facets: dict[str, Any] = {}
            version = _text(item.get("digest")) or _text(data.get("digest"))
            if version:
                facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)
            columns = [c for c in sequence(data.get("columns")) if isinstance(c, dict) and _text(c.get("name"))]
            if columns:
                facets["schema"] = schema_dataset.SchemaDatasetFacet(
                    fields=[
                        schema_dataset.SchemaDatasetFacetFields(name=c["name"], type=_text(c.get("type")))
                        for c in columns
                    ]
                )
            source = _map(data.get("source"))
            where = _text(source.get("url")) or _text(source.get("uri"))
            if source:
                # The source as recorded, by what names it best: the tool, a citation, the note
                # (free text), its kind (export, download, ...) only where it says nothing more.
                said = next((t for k in ("tool", "citation", "note", "kind") if (t := _text(source.get(k)))), None)
                facets["dataSource"] = datasource_dataset.DatasourceDatasetFacet(name=said or namespace, uri=where)
            inputs.append(ol.InputDataset(namespace=namespace, name=f"{kind}s/{name}", facets=facets))
        outputs = [
            ol.OutputDataset(
                namespace=namespace,
                name=f"models/{other.split(':', 1)[1].split('@', 1)[0]}",
                facets={
                    "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                        datasetVersion=other.split("@", 1)[1] if "@" in other else ""
                    )
                },
            )
            for other, edge in sorted(graph.down.get(node["id"], ()))
            if edge == "produced"
        ]
        code = {k: v for k, v in _map(attrs.get("code")).items() if isinstance(v, (str, bool, int))}
        own = facet(
            ref=node["id"],
            status=_text(attrs.get("status")),
            seed=attrs.get("seed") if isinstance(attrs.get("seed"), (int, str)) else None,
            params={str(k): v for k, v in _map(attrs.get("params")).items() if isinstance(v, (str, int, float, bool))},
            metrics={str(k): f for k, v in _map(attrs.get("metrics")).items() if (f := as_float(v)) is not None},
            code=code,
            config_hash=_text(attrs.get("config_hash")),
        )
        run_facets: dict[str, Any] = {"strataml": own}
        run = ol.Run(runId=run_uuid(workspace, node["id"]), facets=run_facets)
        started = _instant(attrs.get("started_at")) or _instant(attrs.get("created_at"))
        if started is None:  # no readable time: the doctor's finding; nothing a catalogue could place
            if left_out is not None:
                left_out.append(node["id"])
            continue
        out.append(
            ol.RunEvent(
                eventType=ol.RunState.START,
                eventTime=started,
                run=run,
                job=job,
                producer=PRODUCER,
                inputs=inputs,
                outputs=[],
            )
        )
        status = str(attrs.get("status") or "")
        if status in _ENDED:
            end_facets = dict(run_facets)
            error = attrs.get("error")
            if status == "failed":
                message = _text(_map(error).get("message")) or _text(error) or "the run failed"
                end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                    message=message, programmingLanguage="python"
                )
            out.append(
                ol.RunEvent(
                    eventType=getattr(ol.RunState, _ENDED[status]),
                    eventTime=_instant(attrs.get("ended_at")) or started,
                    run=ol.Run(runId=run.runId, facets=end_facets),
                    job=job,
                    producer=PRODUCER,
                    inputs=inputs,
                    outputs=outputs,
                )
            )
    return out


def _instant(value: Any) -> str | None:
    """A recorded time as the instant OpenLineage wants (date and time, UTC), or None when the
    record's text is no such time (a date alone, a made-up offset: the doctor reports those), or
    its instant lies outside the years 1-9999 once in UTC (`0001-01-01T00:00:00+05:00`)."""
    text = _text(value)
    if text is None or len(text.strip()) <= 10:
        return None
    when = parse_time(text)
    try:
        return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if when else None
    except OverflowError:
        return None


def lines(found: list[Any]) -> str:
    """The events as JSON lines (one event per line), as openlineage-python serialises them."""
    from openlineage.client.serde import Serde

    return "".join(Serde.to_json(e) + "\n" for e in found)


def redacted(url: str) -> str:
    """The URL as it may be printed: a password in it is not repeated on screen or in CI logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
        parts.port  # noqa: B018 (raises for a port past 65535: the netloc is not rebuilt then)
    except ValueError:  # not a URL urlsplit can take apart: whatever stands before an @ goes
        return re.sub(r"//[^/]*@", "//***@", url)
    if password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def endpoint_base(url: str) -> str:
    """The catalogue's base URL as the transport joins it (it appends api/v1/lineage): http or
    https with a host, no query or fragment, ending in '/' so a path prefix is kept."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port past 65535)
    except ValueError as exc:  # (http://[::1, http://[zz]:5000)
        raise StrataError(f"{redacted(url)!r} is not a URL ({exc})", "e.g. --url http://localhost:5000") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StrataError(
            f"{redacted(url)!r} is not an http(s) address with a host", "e.g. --url http://localhost:5000"
        )
    if parts.query or parts.fragment:
        raise StrataError(
            f"{redacted(url)!r} has a query or fragment",
            "give the catalogue's base URL; events go to URL/api/v1/lineage",
        )
    return url if url.endswith("/") else url + "/"


def post(found: list[Any], url: str, timeout: float = 10.0) -> int:
    """Send the events to a catalogue's OpenLineage endpoint (URL/api/v1/lineage) with the
    package's HTTP transport; the number sent. The first refusal stops it, naming the event."""
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    url = endpoint_base(url)
    transport = HttpTransport(
        HttpConfig(url=url, timeout=timeout, retry={"total": 2, "backoff_factor": 0.2, "status_forcelist": [502, 503]})
    )
    sent = 0
    for event in found:
        try:
            transport.emit(event)
        except Exception as exc:  # requests' errors and the transport's own: all mean "not accepted"
            # (The runId is derived: the user knows the run by its ref, which the event's facet holds.)
            ref = getattr((event.run.facets or {}).get("strataml"), "ref", None)
            raise StrataError(
                f"{redacted(url)} did not accept event {sent + 1} of {len(found)} ({event.eventType.value} of "
                f"{ref + ', runId ' if ref else 'run '}{event.run.runId}): {said(exc)}",
                "check the URL (the catalogue's base; events go to URL/api/v1/lineage) and that it is running",
            ) from None
        sent += 1
    return sent

"""The FastAPI application behind `strataml serve` (the `serve` extra): routes are thin, every
answer comes from strataml.read.query, and every error is problem+json (see strataml.read.api)."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strataml import __version__, contracts
from strataml.controls import json_text, json_utf8
from strataml.errors import StrataError
from strataml.read import api
from strataml.read.api import API, DEFAULT_LIMIT, JSON_CSP, MAX_LIMIT, FederatedLive, Live, Problem
from strataml.read.query import API_WORDS, detail, lineage_of, listed, overview, rows, rule_of
from strataml.read.query import rules as every_rule
from strataml.words import counted

GET = ["GET", "HEAD"]


class _JSON(JSONResponse):
    """JSONResponse, but written as the CLI's `--format json` writes it (controls.json_text): a
    file name that is not UTF-8 on disk (surrogate escapes) is its JSON escape, as the saved index
    writes it (Starlette's strict UTF-8 made every answer naming one a 500), and DEL, C1 controls
    and characters that print as nothing are escapes too (a record's U+009B reached a `curl` raw,
    where a terminal acts on it).

    Keys sorted, as `--format json` and the saved index write them: an answer's ETag is the index
    digest, so its bytes must be the same however the index came about. Built in this process
    (`--read-only`, or a rebuild), a node's attributes are in its metadata's order and a finding's
    keys in the doctor's; parsed from .strataml/index.json, both are sorted. Written as they came,
    two servers sent two bodies under one strong ETag, and a cache revalidating with one kept the
    other's bytes."""

    def render(self, content: Any) -> bytes:
        return json_utf8(json_text(content, allow_nan=False, separators=(",", ":"), sort_keys=True))


DIRECTIONS = ("up", "down", "both")


def create_app(
    root: Path | None,
    *,
    writable: bool = True,
    hosts: tuple[str, ...] = ("127.0.0.1",),
    any_address: bool = False,
    cors: tuple[str, ...] = (),
    members: list[str] | None = None,
) -> FastAPI:
    """The app for the workspace at `root`, or for the federation of `members` (read.federate).
    `hosts`: the Host header values accepted (the bound address and what --allowed-host adds);
    anything else is refused, against DNS rebinding. `any_address`: also every IP address (a
    server bound to all interfaces is reached by any of them; an address, unlike a name, cannot
    be rebound to another machine, so a page that names one is served from it)."""
    live: Live = FederatedLive(members) if members else Live(Path(str(root)), writable)
    build = _build()
    app = FastAPI(
        title="StrataML",
        version=__version__,
        description="The workspace's index, records, lineage, findings and rules, read-only. "
        "Every answer equals the matching `strataml ... --format json`.",
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load their code from a CDN: left out (no page reaches the internet)
        redoc_url=None,
        dependencies=[Depends(_known_parameters)],
    )
    allowed = {h.lower() for h in hosts}
    if cors:
        from starlette.middleware.cors import CORSMiddleware

        # Added before the guard, so the guard (added last) runs first: a preflight is checked
        # for its Host like any request, and only an allowed origin's reaches this. The page may
        # read what it revalidates with (ETag) and whether the answer is stale.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors),
            allow_methods=GET,
            allow_headers=["If-None-Match"],
            expose_headers=["ETag", "X-StrataML-Index"],
        )
    origins = frozenset(cors)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        if len(target) > api.MAX_URL:
            return _problem(
                Problem(414, "uri-too-long", f"the request target is {len(target):,} characters", "ask for less")
            )
        host = _host_of(request.headers.get("host", ""))
        if host not in allowed and not (any_address and _is_address(host)):
            return _problem(
                Problem(
                    400,
                    "unknown-host",
                    "the Host header names no address this server answers to",
                    "use the address `strataml serve` printed, or start it with --allowed-host NAME",
                )
            )
        preflight = (
            request.method == "OPTIONS"
            and request.headers.get("origin") in origins
            and "access-control-request-method" in request.headers
        )
        if request.method not in GET and not preflight:
            # (An allowed origin's preflight was refused here too, so its page could never send
            # If-None-Match: the browser blocks the request whose preflight fails.)
            allow = "GET, HEAD"
            return _problem(
                Problem(405, "read-only", f"{request.method} is not served: this API only reads", "use GET"),
                {"Allow": allow},
            )
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", JSON_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"  # revalidate with If-None-Match: the repository may change
        return response

    @app.exception_handler(Problem)
    async def on_problem(_request: Request, exc: Problem) -> Response:
        return _problem(exc)

    @app.exception_handler(StrataError)
    async def on_strata(_request: Request, exc: StrataError) -> Response:
        return _problem(Problem(400, "bad-request", exc.message, exc.hint or ""))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0].get("loc", ())) if errors else "request"
        why = str(errors[0].get("msg", "invalid")) if errors else "invalid"
        return _problem(Problem(400, "bad-parameter", f"{where}: {why}", "see /api/v1/openapi.json"))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "read-only"}.get(exc.status_code, "http-error")
        return _problem(
            Problem(exc.status_code, code, str(exc.detail), "see /api/v1/openapi.json"),
            {"Allow": "GET, HEAD"} if exc.status_code == 405 else None,
        )

    @app.exception_handler(Exception)
    async def on_crash(_request: Request, _exc: Exception) -> Response:
        # Never a traceback or a path of this machine in an answer; the server's log has the rest.
        return _problem(
            Problem(
                500,
                "internal-error",
                "the server could not answer this request",
                "run the matching `strataml` command to see the error",
            )
        )

    def answer(request: Request, make: Any, names_commit: bool = False, of_tool: bool = False) -> Response:
        """The answer `make` builds from the current index, with ETag and If-None-Match. The ETag is
        the index digest; answers that also name the commit (/workspace, the page) add it, since
        an empty commit changes no record, and this strataml's build (the page's script and
        style are its own); `of_tool`: an answer of the build alone (the rules). After an upgrade
        the page's 304 sent the new script's policy for the old cached page: "Loading…"."""
        snap, stale = live.get()
        if of_tool:
            etag = f'"{build}"'
        else:
            etag = f'"{snap.digest}.{snap.commit}.{build}"' if names_commit else f'"{snap.digest}"'
        headers = {"ETag": etag}
        if stale:
            headers["X-StrataML-Index"] = "stale"
        body = make(snap)  # first: what does not exist is a 404, whatever If-None-Match says
        if _matches(request.headers.get("if-none-match"), etag):
            # A 304's headers update the cached answer's: without the page's own policy it took
            # the API's (default-src 'none'), and a reload left the dashboard at "Loading…".
            policy = body.headers.get("content-security-policy") if isinstance(body, Response) else None
            if policy:
                headers["Content-Security-Policy"] = policy
            return Response(status_code=304, headers=headers)
        if isinstance(body, Response):
            body.headers.update(headers)
            return body
        return _JSON(body, headers=headers)

    @app.api_route("/", methods=GET, response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Response:
        from strataml.read import dashboard

        # Sent as a header, the policy can also forbid framing (a meta tag cannot).
        policy = dashboard.policy() + "; frame-ancestors 'none'"
        return answer(
            request,
            lambda s: HTMLResponse(s.page(live.root), headers={"Content-Security-Policy": policy}),
            names_commit=True,
        )

    @app.api_route(f"{API}/workspace", methods=GET, summary="The workspace: name, commit, index, counts, health")
    def workspace(request: Request) -> Response:
        def make(s: api.Snapshot) -> dict[str, Any]:
            seen = overview(s.graph)
            out = {
                "name": seen["name"],
                "commit": s.commit,
                "index": {"digest": s.digest, "fresh": s.key is not None},
                "counts": seen["counts"],
                "health": seen["health"],
            }
            if "workspaces" in s.index:
                out["workspaces"] = [m["name"] for m in s.index["workspaces"]]
            return out

        return answer(request, make, names_commit=True)

    @app.api_route(
        f"{API}/workspaces",
        methods=GET,
        summary="A federation's members: status, counts, health, production models (`strataml serve --federate`)",
    )
    def workspaces(request: Request) -> Response:
        def make(s: api.Snapshot) -> list[dict[str, Any]]:
            if "workspaces" not in s.index:
                raise Problem(
                    404,
                    "not-federated",
                    "this server shows one workspace, not a federation",
                    "see /api/v1/workspace; start `strataml serve --federate A B C` for many",
                )
            return list(s.index["workspaces"])

        return answer(request, make)

    def table(what: str) -> Any:
        def listing(
            request: Request,
            filter: list[str] = Query(default=[], description="KEY=VALUE, as `strataml list --filter`; repeatable"),  # noqa: B008
            sort: str | None = Query(default=None, max_length=256, description="a field, metric or tag"),
            desc: bool = False,
            limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
            cursor: str | None = Query(default=None, max_length=1024, description="`next` of the previous page"),
        ) -> Response:
            if len(filter) > api.MAX_FILTERS or any(len(f) > 512 for f in filter):
                raise Problem(
                    400, "too-many-filters", f"at most {api.MAX_FILTERS} filters of 512 characters", "narrow the query"
                )

            def make(s: api.Snapshot) -> dict[str, Any]:
                every = s.cached(("rows", what), lambda: rows(s.graph, what))

                def query() -> list[dict[str, Any]]:
                    return listed(what, every, filter, sort, desc, None, API_WORDS).records

                # (filter=age=3d is judged by the clock now: never kept with the snapshot)
                timed = any(f.partition("=")[0] == "age" for f in filter)
                found = query() if timed else s.cached(("select", what, tuple(filter), sort, desc), query)
                signature = hashlib.sha256(repr((what, filter, sort, desc)).encode()).hexdigest()[:16]
                return api.page_of(found, limit, cursor, signature)

            return answer(request, make)

        listing.__name__ = f"list_{what}"
        return listing

    for what in api.kinds():
        app.add_api_route(
            f"{API}/{what}",
            table(what),
            methods=GET,
            summary=f"{what.capitalize()}: `strataml list {what} --format json`, paged",
        )

    @app.api_route(f"{API}/records/{{ref:path}}", methods=GET, summary="One record: `strataml show REF --format json`")
    def record(request: Request, ref: str) -> Response:
        def make(s: api.Snapshot) -> dict[str, Any]:
            node = _node(s, ref)
            return s.cached(("record", node["id"]), lambda: detail(s.graph, node))

        return answer(request, make)

    @app.api_route(f"{API}/lineage/{{ref:path}}", methods=GET, summary="Lineage: `strataml lineage REF --format json`")
    def lineage(
        request: Request,
        ref: str,
        direction: Literal["up", "down", "both"] = Query(default="both"),
        depth: int | None = Query(default=None, ge=1, le=100),
    ) -> Response:
        def make(s: api.Snapshot) -> Any:
            from strataml.read.render import body

            def compute() -> dict[str, Any]:
                _node(s, ref)  # (a miss answered from the snapshot's cache)
                try:
                    start, steps, missing = lineage_of(s.graph, _ref(ref), direction, depth)
                except StrataError as exc:
                    raise api.not_found(exc, "record") from None
                return body(s.graph, start, steps, missing)

            return s.cached(("lineage", ref, direction, depth), compute)

        return answer(request, make)

    @app.api_route(f"{API}/findings", methods=GET, summary="The doctor's findings, filtered")
    def findings(
        request: Request,
        code: str | None = Query(
            default=None, max_length=64, description="a code or its prefix (TFC0006, TFC0006-E002)"
        ),
        severity: Literal["error", "warning", "info"] | None = Query(default=None),
        path: str | None = Query(default=None, max_length=1024, description="a workspace path or folder"),
    ) -> Response:
        def make(s: api.Snapshot) -> list[dict[str, Any]]:
            out = s.index.get("findings", [])
            if code:
                out = [f for f in out if f["code"].startswith(code)]
            if severity:
                out = [f for f in out if f["severity"] == severity]
            if path:
                out = [f for f in out if f["path"] == path or f["path"].startswith(path.rstrip("/") + "/")]
            return out

        return answer(request, make)

    @app.api_route(f"{API}/rules", methods=GET, summary="Every rule: `strataml doctor --list-rules`")
    def rules(request: Request) -> Response:
        return answer(request, lambda _s: every_rule(body=False), of_tool=True)

    @app.api_route(f"{API}/rules/{{code}}", methods=GET, summary="One rule: `strataml doctor --explain CODE`")
    def rule(request: Request, code: str) -> Response:
        found = contracts.registry().get(code.upper()) if len(code) <= 64 else None
        if found is None:
            close = contracts.closest_codes(code[:64])
            raise Problem(404, "unknown-rule", f"no rule {code[:64]}", "see /api/v1/rules", closest=close)
        return answer(request, lambda _s: rule_of(found), of_tool=True)

    @app.api_route(f"{API}/compare", methods=GET, summary="2 to 20 runs or model versions side by side")
    def compare(
        request: Request,
        refs: str = Query(max_length=4096, description="comma-separated refs"),
        diff_only: bool = Query(False, description="only the rows where the records differ"),
    ) -> Response:
        from strataml.read.compare import MAX_REFS
        from strataml.read.compare import compare as side_by_side

        wanted = [r.strip() for r in refs.split(",") if r.strip()]
        if not 2 <= len(wanted) <= MAX_REFS:
            raise Problem(
                400,
                "bad-refs",
                f"{counted(len(wanted), 'ref')}; compare takes 2 to {MAX_REFS}",
                "e.g. refs=run:A,run:B",
            )

        def make(s: api.Snapshot) -> dict[str, Any]:
            for ref in wanted:
                node = _node(s, ref)
                if node["kind"] not in ("run", "model"):
                    raise Problem(
                        400,
                        "bad-refs",
                        f"{node['id']} is not a run or a model version",
                        "compare takes runs and models",
                    )
            return side_by_side(s.graph, [_ref(r) for r in wanted], diff_only)

        return answer(request, make)

    @app.api_route(f"{API}/index", methods=GET, summary="The index itself (`strataml index -o -`)")
    def index(request: Request) -> Response:
        return answer(request, lambda s: Response(s.data, media_type="application/json"))

    @app.api_route(f"{API}/", methods=GET, summary="This API: its routes, and where its OpenAPI document is")
    def routes() -> dict[str, Any]:
        # The address `strataml serve` prints: what can be asked there, not a 404.
        from fastapi.routing import APIRoute

        listed = [
            {"path": r.path_format, "summary": r.summary or ""}
            for r in app.routes
            if isinstance(r, APIRoute) and r.include_in_schema and r.path.startswith(f"{API}/") and r.path != f"{API}/"
        ]
        return {"openapi": f"{API}/openapi.json", "routes": listed}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            import warnings

            from fastapi.openapi.utils import get_openapi

            with warnings.catch_warnings():
                # GET and HEAD of one route share its operationId; _documented drops the HEADs.
                warnings.filterwarnings("ignore", message="Duplicate Operation ID")
                schema = get_openapi(
                    title=app.title, version=app.version, description=app.description, routes=app.routes
                )
            app.openapi_schema = _documented(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "code", "message", "hint"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "what went wrong, e.g. unknown-record, bad-cursor"},
        "message": {"type": "string"},
        "hint": {"type": "string", "description": "what to do about it"},
        "closest": {
            "type": "array",
            "items": {"type": "string"},
            "description": "refs or codes close to the one asked for",
        },
    },
}
_ERRORS = {
    "400": "a parameter that is unknown or not valid (a ref, filter or cursor), or a Host this server does not answer to",
    "404": "no such record, rule or route",
    "405": "a method other than GET or HEAD",
    "410": "the record a cursor points after is gone: start again without `cursor`",
    "414": "a request target longer than 8,192 characters",
}


_FINDING = {
    "type": "object",
    "required": ["code", "severity", "path", "line", "message", "hint"],
    "properties": {
        "code": {"type": "string"},
        "severity": {"enum": ["error", "warning", "info"]},
        "path": {"type": "string"},
        "line": {"type": ["integer", "null"]},
        "message": {"type": "string"},
        "hint": {"type": "string"},
    },
}
_RULE_FIELDS: dict[str, Any] = {
    **{k: {"type": "string"} for k in ("code", "name", "contract", "document", "enforced_note", "checked", "summary")},
    "severity": {"enum": ["error", "warning", "info"]},
    "enforced": {"type": "boolean"},
    "since_only": {"type": "boolean"},
}
_RULE_LISTED = {"type": "object", "required": list(_RULE_FIELDS), "properties": _RULE_FIELDS}
_RULE = {
    "type": "object",
    "required": [*_RULE_FIELDS, "body"],
    "properties": {**_RULE_FIELDS, "body": {"type": "string"}},
}
_RECORD = {
    "type": "object",
    "required": ["id", "kind", "path", "attrs", "findings", "upstream", "downstream", "reported"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"enum": ["dataset", "experiment", "run", "model"]},
        "attrs": {"type": "object"},
        "reported": {"type": "array", "items": _FINDING},
    },
}
_ANSWERS: dict[str, dict[str, Any]] = {
    "workspace": {
        "type": "object",
        "required": ["name", "commit", "index", "counts", "health"],
        "properties": {
            "commit": {"type": ["string", "null"]},
            "index": {"type": "object", "required": ["digest", "fresh"]},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "health": {"type": "object", "required": ["errors", "warnings", "infos", "by_contract"]},
        },
    },
    "list": {
        "type": "object",
        "required": ["rows", "total", "next"],
        "properties": {
            "rows": {"type": "array", "items": {"type": "object", "required": ["id", "name", "health", "tags"]}},
            "total": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"]},
        },
    },
    "records": _RECORD,
    "lineage": {"type": "object", "required": ["ref", "edges"]},
    "findings": {"type": "array", "items": _FINDING},
    "rules": {"type": "array", "items": _RULE_LISTED},
    "rule": _RULE,
    "compare": {
        "type": "object",
        "required": ["refs", "better", "diff_only", "groups", "with_errors"],
        "properties": {
            "refs": {"type": "array", "items": {"type": "string"}},
            "with_errors": {"type": "array", "items": {"type": "string"}},
            "better": {"type": "object", "additionalProperties": {"enum": ["higher", "lower"]}},
            "diff_only": {"type": "boolean"},
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "rows"],
                    "properties": {
                        "name": {"enum": ["record", "metrics", "params", "inputs", "code", "environment"]},
                        "rows": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["key", "values", "same", "best"],
                                "properties": {
                                    "key": {"type": "string"},
                                    "values": {"type": "array"},
                                    "same": {"type": "boolean"},
                                    "best": {"type": "array", "items": {"type": "integer"}},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    # `strataml schema index`, or `strataml schema federation` when serving --federate
    "index": {"type": "object", "required": ["schema", "nodes", "edges"]},
    "workspaces": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "source", "status"],
            "properties": {
                "name": {"type": "string"},
                "source": {"type": "string"},
                "status": {"enum": ["fresh", "stale", "unverified", "missing", "invalid"]},
            },
        },
    },
}


def _answer_of(path: str) -> dict[str, Any] | None:
    name = path.removeprefix(API + "/").split("/", 1)[0]
    if name in api.KIND_OF_LIST:
        return _ANSWERS["list"]
    if name == "rules" and "{" in path:
        return _ANSWERS["rule"]
    return _ANSWERS.get(name)


def _documented(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI FastAPI derives, made true to what the server answers: HEAD is implied by GET
    (listing it too repeats every operationId), errors are problem+json with 400 for what
    FastAPI calls 422, and every error status the middleware and routes send is documented."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in schema.get("paths", {}).items():
        item.pop("head", None)
        answer = _answer_of(path)
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if answer is not None and "200" in responses:
                responses["200"]["content"] = {"application/json": {"schema": answer}}
            for status, why in _ERRORS.items():
                responses[status] = {"description": why, "content": problem}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _build() -> str:
    """This strataml's build, as answers of it alone (the page's script and style, the rules)
    are tagged: its code and contracts (identity) and the page's assets (their policy)."""
    import hashlib
    import json

    from strataml.identity import identity
    from strataml.read import dashboard

    made = json.dumps(identity(), sort_keys=True) + dashboard.policy()
    return hashlib.sha256(made.encode("utf-8")).hexdigest()[:16]


def _node(s: api.Snapshot, ref: str) -> dict[str, Any]:
    """The node `ref` names, or a 404 saying what was meant. The answer is kept per snapshot, a
    miss too: "did you mean" compares the ref with every record's name (0.6 s of CPU on 10k
    runs), and a client polling a stale link asked it again each time."""

    def find() -> dict[str, Any] | StrataError:
        try:
            return s.graph.find(_ref(ref))
        except StrataError as exc:
            return exc

    found = s.cached(("find", ref), find)
    if isinstance(found, StrataError):
        raise api.not_found(found, "record") from None
    return found


def _ref(text: str) -> str:
    """A ref as the request gave it: bounded, text only (never joined into a path)."""
    if len(text) > 512 or "\x00" in text:
        raise Problem(400, "bad-ref", "not a ref", "e.g. model:iris-classifier@1, run:ID, dataset:iris@1")
    return text


def _problem(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    return _JSON(
        problem.body(),
        status_code=problem.status,
        media_type="application/problem+json",
        headers={
            "Content-Security-Policy": JSON_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
            **(headers or {}),
        },
    )


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or etag in {t.strip().removeprefix("W/") for t in header.split(",")}


def _host_of(header: str) -> str:
    """The host part of a Host header ("[::1]:8765" -> "::1", "example.org:80" -> "example.org")."""
    header = header.strip().lower()
    if header.startswith("["):  # "[addr]" or "[addr]:port", nothing else
        addr, sep, rest = header[1:].partition("]")
        return addr if sep and (not rest or (rest.startswith(":") and rest[1:].isdigit())) else header
    host, _, port = header.rpartition(":")
    return host if host and port.isdigit() else header


_PARAMETERS: dict[int, tuple[frozenset[str], frozenset[str]]] = {}  # route: (the names it takes, those once only)


def _known_parameters(request: Request) -> None:
    """Refuse a query parameter the API route does not take: ignored, a misspelt `cursor` would
    answer the first page again and again, and a misspelt filter would quietly filter nothing."""
    route = request.scope.get("route")
    if route is None or not request.url.path.startswith(API):
        return
    taken = _PARAMETERS.get(id(route))
    if taken is None:
        params = list(_query_params(route.dependant))
        taken = _PARAMETERS[id(route)] = (
            frozenset(p.alias for p in params),
            frozenset(p.alias for p in params if not _repeatable(p.field_info.annotation)),
        )
    known, single = taken
    twice = sorted(k for k in single if len(request.query_params.getlist(k)) > 1)
    if twice:
        # (One value was kept and the others dropped without a word: limit=1&limit=3 gave 3 rows.)
        raise Problem(400, "repeated-parameter", f"query parameter {twice[0]!r} given more than once", "give it once")
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        from strataml.controls import shown
        from strataml.spelling import nearest

        name = unknown[0]
        close = nearest(name, sorted(known))
        hint = (
            "pass the `next` of the previous page as `cursor`"
            if name == "next" and "cursor" in known
            else f"did you mean {close[0]}?"
            if close
            else f"this takes {', '.join(sorted(known))}"
            if known
            else "this takes no parameters"
        )
        raise Problem(400, "unknown-parameter", f"unknown query parameter '{shown(name)}'", hint)


def _query_params(dependant: Any) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


def _repeatable(annotation: Any) -> bool:
    """Whether a parameter of this type takes several values (filter=a&filter=b): a list, or an
    optional one."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_repeatable(a) for a in typing.get_args(annotation))
    return False


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def every_interface(bound: str) -> bool:
    """Whether `bound` (--host) is the wildcard address, 0.0.0.0 or ::."""
    try:
        return ipaddress.ip_address(bound).is_unspecified
    except ValueError:
        return False


def hosts_for(bound: str, extra: tuple[str, ...]) -> tuple[str, ...]:
    """The Host header values to accept: the bound address, `localhost` when it is loopback, this
    machine's names when bound to every interface (with any address: create_app's any_address),
    and what the user adds with --allowed-host."""
    import socket

    out = {bound.lower(), *(h.lower() for h in extra)}
    try:
        if ipaddress.ip_address(bound).is_loopback:
            out |= {"localhost", "127.0.0.1", "::1"}
    except ValueError:
        pass
    if every_interface(bound):
        out |= {socket.gethostname().lower(), "localhost"}  # (no getfqdn: it may ask DNS, and wait)
    return tuple(sorted(out))

"""`strataml serve`: the dashboard and a read-only JSON API over HTTP (the `serve` extra)."""

from __future__ import annotations

import re
import signal

import click

from strataml.cli.given import from_start_members
from strataml.cli.main import State
from strataml.controls import shown
from strataml.errors import StrataError
from strataml.installed import extra_hint
from strataml.words import counted

MAX_CONNECTIONS = 256
# How long a connection may take to send a request's head once it is waiting for one: idle or
# dripping, past it the connection is closed (256 silent connections held every other client at 503).
HEAD_SECONDS = 10.0
# How long an answer may wait for a client that reads none of it (the socket's buffers full)
# before the connection is dropped: a client that read some of it meanwhile gets as long again.
WRITE_SECONDS = 20.0


@click.command(short_help="Serve the dashboard and a read-only API, live.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    callback=lambda _ctx, _param, value: _host(value),
    help="The address to bind (loopback unless you say).",
)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="0 picks a free port.",
)
@click.option("--open", "open_", is_flag=True, help="Open the dashboard in the default web browser.")
@click.option(
    "--read-only",
    is_flag=True,
    help="Write nothing at all, not even .strataml/ (the index and the doctor's cache live in memory).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    callback=lambda _c, _p, values: tuple(_allowed_host(v) for v in values),
    help="Also answer requests whose Host is NAME (a DNS name or address the server is reached by, no port, "
    "no wildcard); repeatable.",
)
@click.option(
    "--cors",
    "cors",
    multiple=True,
    metavar="ORIGIN",
    callback=lambda _c, _p, values: tuple(_origin(v) for v in values),
    help="Let pages from ORIGIN (scheme://host[:port], e.g. https://ui.example.org) read the API; "
    "repeatable, none by default.",
)
@click.option(
    "--federate",
    is_flag=True,
    help="Serve one federation of the workspaces (folders or index.json files) named after it.",
)
@click.argument("members", nargs=-1, metavar="[MEMBER]...", callback=from_start_members)
@click.pass_obj
def serve(
    state: State,
    host: str,
    port: int,
    open_: bool,
    read_only: bool,
    allowed_hosts: tuple[str, ...],
    cors: tuple[str, ...],
    federate: bool,
    members: tuple[str, ...],
) -> int:
    """Serve the dashboard and the read-only API: the same data as the commands, live.

    \b
    GET /                       the dashboard (`strataml dashboard`)
    GET /api/v1/workspace       name, commit, index digest, counts, health
    GET /api/v1/runs?filter=status=succeeded&sort=test_accuracy&desc=true&limit=20
                                `strataml list runs --format json`, paged: pass a
                                page's `next` as `cursor` for the next page
    GET /api/v1/records/REF     `strataml show REF --format json`
    GET /api/v1/lineage/REF?direction=up&depth=2
    GET /api/v1/findings?code=TFC0006&severity=error, /api/v1/rules[/CODE],
        /api/v1/compare?refs=A,B, /api/v1/index, /api/v1/openapi.json
    A change to the repository shows within seconds (a watcher looks every second, or every
    five times as long as a look takes).
    Only GET and HEAD; Ctrl-C stops it, the way a server is meant to end (exit 0; SIGTERM 143,
    SIGHUP 129).

    \b
    Many workspaces as one (see `strataml index --help` for what a federation is):
      strataml serve --federate team-a=../a team-b=../b ci=artifacts/index.json
    adds GET /api/v1/workspaces (every member: status, health, production models); refs are
    namespaced (team-a/run:ID); a member that changes is joined again within seconds.
    """
    from strataml.nogc import one_shot

    one_shot(False)  # a server keeps running: what it reads, first and per request, is collected as usual
    try:
        import uvicorn

        from strataml.read.server import create_app, every_interface, hosts_for
    except ImportError as exc:
        raise StrataError(
            f"`strataml serve` needs the serve extra ({exc.name} is not installed)",
            extra_hint("serve"),
        ) from None
    import socket

    if members and not federate:
        raise click.UsageError("MEMBER arguments only go with --federate (e.g. strataml serve --federate A B C)")
    if federate:
        from strataml.read.federate import read_members

        # Names checked, and what cannot be read said, before the port is taken.
        for member in read_members(list(members)):
            if member.status != "fresh" or member.message:
                click.echo(f"{member.name}: {member.status}: {shown(member.message or '')}", err=True)
        root = None
        shown_root = counted(len(members), "workspace")
    else:
        root = state.root()
        shown_root = str(root)
    app = create_app(
        root,
        writable=not read_only,
        hosts=hosts_for(host, allowed_hosts),
        any_address=every_interface(host),
        cors=cors,
        members=list(members) if federate else None,
    )
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, named: asyncio turns Nagle's algorithm off only on sockets that say so, and
        # with it on, every answer on a kept-alive connection waited ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        import errno

        taken = exc.errno in (errno.EADDRINUSE, errno.EACCES)
        raise StrataError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            "pick another --port (0: any free one)"
            if taken
            else "--host takes an address of this machine: 127.0.0.1 (the default), ::1, or one of its interfaces",
        ) from None
    bound = sock.getsockname()[1]
    # (The API only reads; what the server itself writes is said apart: --read-only is that, and
    # the banner said "read-only" with or without it.)
    writes = (
        "writes nothing"
        if read_only
        else "writes nothing in the members"  # (they are never written to)
        if federate
        else "keeps its index and cache in .strataml/"
    )
    address = f"[{host}]" if ":" in host else host
    url = f"http://{address}:{bound}/"
    click.echo(f"Serving {shown_root} at {url} (API: {url}api/v1/, GET only; {writes})")
    if every_interface(host):
        names = ", ".join(shown(h) for h in hosts_for(host, allowed_hosts) if h != host)
        click.echo(f"Listening on every interface: requests naming {names} or an address are answered;", err=True)
        click.echo("  add --allowed-host NAME for each other name clients reach this machine by.", err=True)
    click.echo("Ctrl-C stops it.", err=True)
    if open_:
        import threading
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    # Bounded: past MAX_CONNECTIONS open connections new ones get 503 at once, so a flood of
    # half-sent requests cannot take the file descriptors or the memory of the machine.
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024,
        http=_bounded_h11(),  # (named: with httptools installed, "auto" would pick it, unbounded)
    )
    server = uvicorn.Server(config)
    # uvicorn shuts down on SIGINT and SIGTERM; SIGHUP it leaves alone, and raised inside its
    # event loop (cli.main.Terminated) it was at times swallowed there: its default again, as
    # before StrataML handled it (the server ends, as a closed terminal ends it).
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) not in (signal.SIG_IGN, signal.SIG_DFL):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt as exc:  # (uvicorn shut down first, then raised the signal it took)
        from strataml.cli.main import Terminated

        if isinstance(exc, Terminated):
            return 128 + exc.signum  # stopped by SIGTERM or SIGHUP, as the shell would say
    return 0


_ORIGIN = re.compile(
    r"(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:[0-9]{1,5})?", re.IGNORECASE
)


def _host(value: str) -> str:
    """--host as given, or a usage error for an empty one (the system would bind every interface
    while the Host check answered no name at all)."""
    if not value.strip():
        raise click.BadParameter(
            "is empty; give an address of this machine: 127.0.0.1 (the default), ::1, or 0.0.0.0 for every interface",
            param_hint="'--host'",
        )
    return value


# DNS labels (an underscore allowed, as container names have one), dot-separated.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")


def _allowed_host(value: str) -> str:
    """An --allowed-host NAME as a Host header names it (compared exactly, case aside), or a usage
    error: a wildcard, port, scheme or path would be accepted and then match no request."""
    import ipaddress

    text = value.strip()
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if _HOSTNAME.fullmatch(text):
        return text.rstrip(".").lower()
    raise click.BadParameter(
        f"'{shown(value)}' is not a host name or address: give the name clients use, without scheme, port, "
        "path or wildcard (e.g. --allowed-host ml.example.org; repeat it for each name)",
        param_hint="'--allowed-host'",
    )


def _origin(value: str) -> str:
    """An --cors ORIGIN as browsers send it in their Origin header, or a usage error saying why not."""
    if value.strip() in ("*", "null"):
        raise click.BadParameter(
            f"{value.strip()!r} would let {'any site' if value.strip() == '*' else 'sandboxed and file:// pages'} "
            "read this workspace through the visitor's browser; name each origin, e.g. --cors https://ui.example.org",
            param_hint="'--cors'",
        )
    if not _ORIGIN.fullmatch(value):
        raise click.BadParameter(
            f"'{shown(value)}' is not an origin: scheme://host[:port], no path and no trailing slash, "
            "e.g. https://ui.example.org or http://localhost:3000",
            param_hint="'--cors'",
        )
    scheme, _, rest = value.lower().partition("://")
    host, colon, port = rest.rpartition(":") if not rest.endswith("]") else (rest, "", "")
    if colon and "]" not in port:
        if int(port) > 65535:
            raise click.BadParameter(f"'{shown(value)}': port {port} is past 65535", param_hint="'--cors'")
        if int(port) == {"https": 443, "http": 80}[scheme]:
            return f"{scheme}://{host}"  # (browsers send a default port as no port)
    return value.lower()


def _bounded_h11() -> type:
    """uvicorn's h11 protocol with a deadline for each request's head, and one for an answer the
    client does not read: uvicorn times out a kept-alive connection only after a response, so a
    connection that never sent a request, sent it a byte at a time, or asked for a page and read
    none of it, held one of the MAX_CONNECTIONS places for as long as it liked."""
    import asyncio
    import socket
    import struct

    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Bounded(H11Protocol):
        _head_by: asyncio.TimerHandle | None = None
        _write_by: asyncio.TimerHandle | None = None
        _left = 0  # bytes waiting for the client when its deadline was set

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._waiting():
                self._arm()  # (from its first byte, never pushed back by the next one)
            super().data_received(data)
            if not self._waiting():
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            self._unstall()
            super().connection_lost(exc)

        def pause_writing(self) -> None:
            super().pause_writing()
            if self._write_by is None:
                self._left = self._buffered()
                self._write_by = self.loop.call_later(WRITE_SECONDS, self._stalled)

        def _stalled(self) -> None:
            """WRITE_SECONDS after the socket filled: a client that read some of it since (less
            is waiting) gets as long again; one that read nothing is dropped, its queued bytes
            with it (no linger: an abort otherwise leaves the kernel holding them for it)."""
            self._write_by = None
            left = self._buffered()
            if left < self._left:
                self._left = left
                self._write_by = self.loop.call_later(WRITE_SECONDS, self._stalled)
                return
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.transport.abort()

        def _buffered(self) -> int:
            try:
                return int(self.transport.get_write_buffer_size())
            except (AttributeError, NotImplementedError):
                return 0

        def resume_writing(self) -> None:
            super().resume_writing()
            self._unstall()

        def _unstall(self) -> None:
            if self._write_by is not None:
                self._write_by.cancel()
                self._write_by = None

        def _waiting(self) -> bool:
            cycle = getattr(self, "cycle", None)
            # (uvicorn's own state: were it ever named otherwise, no deadline would cut a request short)
            return cycle is None or getattr(cycle, "response_complete", False) is True

        def _arm(self) -> None:
            if self._head_by is None:
                self._head_by = self.loop.call_later(HEAD_SECONDS, self._late)

        def _disarm(self) -> None:
            if self._head_by is not None:
                self._head_by.cancel()
                self._head_by = None

        def _late(self) -> None:
            self._head_by = None
            if self._waiting() and not self.transport.is_closing():
                self.transport.close()

    return Bounded

"""The one hashing path: sha256 of files and the dataset digest built from them."""

from __future__ import annotations

import _thread
import hashlib
import os
import stat  # (os imports it: free in a helper's start)
import sys
import time

# A helper process imports this module: it starts faster without pathlib, typing and threading
# (~8 ms of each helper's start; the caller imported them long before).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path
    from threading import Thread
    from typing import BinaryIO

# Reads of 128 KiB stay in the CPU's cache until hashed: over 2 GB, 1 MiB reads cost 0.9 s of
# kernel time (copies that miss the cache) against 0.24 s, and hashing took 2.3 s against 1.6 s.
_CHUNK = 131072
_local = _thread._local()


def _buffer() -> memoryview:
    """One read buffer per thread, reused: allocating (and zeroing) one per file costs more than hashing small files."""
    view = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(_CHUNK))
    return view


def sha256_file(path: Path | str | bytes) -> tuple[str, int]:
    """(hex sha256, size in bytes) of a regular file, read in a reused 128 KiB buffer."""
    with open(path, "rb", buffering=0) as fh:
        return sha256_stream(fh)


def sha256_stream(src: BinaryIO, sink: Callable[[memoryview], object] | None = None) -> tuple[str, int]:
    """(hex sha256, size) of what `src` holds from where it stands; every chunk also goes to
    `sink` (a copy hashes what it writes in the one pass that reads it)."""
    digest = hashlib.sha256()
    view = _buffer()
    size = 0
    while True:
        n = src.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        chunk = view[:n]
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
        size += n
    return digest.hexdigest(), size


def dataset_digest(files: Iterable[tuple[str, str]]) -> str:
    """`sha256:` over the sorted lines "SHA256  PATH\\n" (the format `sha256sum` prints).

    One value pins a whole dataset version; `sha256sum -c` can check the same lines.
    """
    lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(files))
    return "sha256:" + hashlib.sha256(lines.encode("utf-8")).hexdigest()


PARALLEL_BYTES = 64 * 1024 * 1024  # below this, threads or helper processes cost more than they save

Item = tuple[str, "Path | str", int]  # (key, path, size)
Results = dict[str, "tuple[str, int] | OSError"]


class Background:
    """Hashing that runs while the caller works, and takes every core once the caller waits.

    While the caller works (`start` > 0), helper processes hash (see _Helper), one a core, each
    taking the next files (biggest first) as it answers (_Share). A thread would wait for the
    caller's GIL after every chunk: at 10k records the doctor took 5.0 s with one hashing thread
    beside its parsing, 3.9 s hashing nothing early and 3.7 s with helpers.

    A `modest` caller has the cores' other work in hand (strataml.preload loads records on the
    second core meanwhile): its helpers run at the lowest priority (MODEST), so they take what
    that work leaves idle instead of slowing it (10k records, cold doctor: 0.93 -> 0.86 s; the
    hashing finishes while the rules run on one core). Once the caller waits for the hashes, a
    helper that other work keeps from running hands what it has left to a helper at the caller's
    priority: the machine may be busy with other work (a training job on every core), which a
    modest helper would give way to for good. Only where both can be done (Linux): elsewhere the
    helpers run at the caller's priority, as ever.

    When the caller only waits (hash_files), threads: files are taken biggest first from one
    shared list, a plain loop per thread (not a future per file): hashlib and file reads
    release the GIL, so threads overlap where bytes dominate, while per-file overhead stays
    that of a serial loop. The interpreter meanwhile switches threads more often, or a hashing
    thread would wait up to 5 ms for the GIL after each chunk.
    """

    SWITCH = 0.0005

    def __init__(
        self,
        items: Iterable[Item],
        progress: Callable[[int], None] | None = None,
        results: Results | None = None,
        *,
        threads: int | None = None,
        start: int = 1,
        modest: bool = False,
        head_start: HeadStart | None = None,
    ) -> None:
        self._items = sorted(items, key=lambda i: i[2], reverse=True)
        self.keys = {key for key, _path, _size in self._items}
        if results is None:
            results = head_start.results if head_start is not None else {}
        self._results: Results = results  # the caller's dict: no second copy of 100k hashes
        self._progress = progress
        self._next = 0
        self._lock = _thread.allocate_lock()
        self.total = total = sum(i[2] for i in self._items)  # bytes
        usable = max(1, min(threads or cores(), len(self._items)))
        self._threads = 1 if total < PARALLEL_BYTES else usable
        self._pool: list[Thread] = []
        self._helpers: list[_Helper] = []
        self._share: _Share | None = None
        nice = MODEST if modest and start > 0 and not _busy_elsewhere() else 0
        if head_start is not None and head_start.helpers and head_start.results is self._results:
            self._share = head_start.share
            self._helpers = head_start.adopt(self._items, progress, nice)
        else:
            if head_start is not None:
                head_start.close()  # (a caller's own results: started afresh)
            if start > 0 and total >= PARALLEL_BYTES and usable > 1:
                share = _Share(self._items)
                self._helpers = _Helper.spawn(usable, share, self._results, progress, nice)
                self._share = share if self._helpers else None
                for helper in self._helpers:
                    share.top_up(helper)
        self._previous = sys.getswitchinterval()
        if self._helpers:
            self._items = []
        else:
            sys.setswitchinterval(self.SWITCH)
            self._grow(min(start, self._threads))

    def _grow(self, count: int) -> None:
        while len(self._pool) < count:
            from threading import Thread

            thread = Thread(target=self._work, daemon=True)
            thread.start()
            self._pool.append(thread)

    def _work(self) -> None:
        items, results, progress = self._items, self._results, self._progress
        while True:
            with self._lock:
                if self._next >= len(items):
                    return
                key, path, size = items[self._next]
                # Its full path is not needed again: 100k of them are ~20 MB.
                items[self._next] = None  # type: ignore[call-overload]
                self._next += 1
            results[key] = _one(path)
            if progress:
                progress(size)

    def close(self) -> None:
        """Stop whatever still runs (the caller failed, or has its results): helpers are killed,
        threads finish their file and stop, the switch interval is restored."""
        for helper in self._helpers:
            helper.finish(kill=True)
        self._helpers = []
        with self._lock:
            self._next = len(self._items)
        for thread in self._pool:
            thread.join()
        sys.setswitchinterval(self._previous)

    def results(self) -> Results:
        """Every file's (sha256, size) or the OSError that stopped it, once all are hashed."""
        if self._helpers:
            if any(h.yielding for h in self._helpers):
                self._unyielding()
            # What no helper answered (none could start, or they died) is hashed here.
            unanswered = [i for h in self._helpers for i in h.finish()]
            left = self._share.drain() if self._share is not None else []
            self._items = sorted((*left, *unanswered), key=lambda i: i[2], reverse=True)
            self._helpers = []
            self._next = 0
            sys.setswitchinterval(self.SWITCH)
        self._grow(self._threads if self._items else 0)
        for thread in self._pool:
            thread.join()
        sys.setswitchinterval(self._previous)
        results, self._results = self._results, {}
        return results

    def _unyielding(self) -> None:
        """Wait for the modest helpers while they run. One that other work keeps from running
        (ready to run, yet on a core less than half the time, at two looks in a row) is let go
        and its files go back to be taken by helpers at this process's priority (started in its
        place); what none takes (they could not start) is left for the caller to hash. A helper
        left running keeps the work it did: on an idle machine, or one waiting for its disk,
        nothing is handed over."""
        share = self._share
        assert share is not None
        watched = {h: (_running(h.pid), 0) for h in self._helpers if h.yielding and not h.over()}
        last = time.monotonic()
        while watched:
            next(iter(watched)).wait(LOOK)
            now = time.monotonic()
            let_go = 0
            for helper, (before, strikes) in list(watched.items()):
                if helper.over():
                    del watched[helper]
                    continue
                seen = _running(helper.pid)
                kept_back = (
                    seen is None or before is None or (seen[0] == "R" and seen[1] - before[1] < (now - last) * 1e9 / 2)
                )
                strikes = strikes + 1 if kept_back else 0
                if strikes < 2:
                    watched[helper] = (seen, strikes)
                    continue
                share.put_back(helper.let_go())
                let_go += 1
                del watched[helper]
            last = now
            if let_go and share.left():
                more = _Helper.spawn(let_go, share, self._results, self._progress) if self._threads > 1 else []
                self._helpers.extend(more)
                for helper in more:
                    share.top_up(helper)


LOOK = 0.02  # how often a modest helper is looked at while the caller waits for it (seconds)


def _busy_elsewhere() -> bool:
    """Whether more processes are ready to run right now than there are cores (Linux's
    /proc/loadavg; False where that cannot be told). Other work that keeps every core busy
    (a training job) would keep a modest helper from running until it is handed over: on
    such a machine the hashing is not modest to begin with (10k records beside two processes
    that spin: 1.57-1.63 s as before, against 1.61-1.94 s modest and handed over)."""
    try:
        with open("/proc/loadavg", "rb") as fh:
            ready = int(fh.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return False
    return ready > cores()


def _running(pid: int) -> tuple[str, int] | None:
    """(its state: "R" when it runs or is ready to, the time it has spent on a core in
    nanoseconds) of process `pid`, from Linux's /proc; None where that cannot be told."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rpartition(b")")[2].split()[0].decode("ascii")
        with open(f"/proc/{pid}/schedstat", "rb") as fh:
            return state, int(fh.read().split()[0])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None


# The package's folder goes last on the helper's path: -I leaves out the current folder, the
# user's site-packages and PYTHON* variables, -S the site (its .pth files cost most of a start).
_SERVE = "import sys; sys.path.append(sys.argv[1]); from strataml.hashing import serve; serve()"
_FLUSH = 8 * 1024 * 1024  # a helper reports this often (bytes hashed): progress, and its share's top-ups


class _Share:
    """The files no helper was sent yet, biggest first: each helper is kept WINDOW bytes (at most
    WINDOW_FILES files) ahead of what it has answered, topped up by the thread reading its
    answers, so helpers that other work slows take fewer and all end together (a bin fixed
    up front ended one helper 15-64 ms before the other, 2,000 files of 1 MB). A modest helper
    takes from the small end: let go (Background._unyielding), it leaves the big files whole.
    Open while a walk still adds what it finds (HeadStart): a helper's input ends only once the
    share is closed and empty."""

    WINDOW = 32 * 1024 * 1024
    WINDOW_FILES = 4096

    def __init__(self, items: Iterable[Item] = (), *, open: bool = False) -> None:
        from collections import deque

        self.lock = _thread.allocate_lock()
        self._items = deque(items)
        self._open = open

    def add(self, items: Iterable[Item]) -> None:
        # Without the lock: a deque's extend and pops are atomic, and only the caller's thread
        # adds or replaces the deque. (Taken, the walk waited on talk threads for it: 20 ms on 2,000 files.)
        self._items.extend(items)

    def close(self, items: Iterable[Item], but: Iterable[_Helper] = ()) -> None:
        """Nothing more comes: what it holds is `items` (biggest first), but those sent already
        to a helper of `but`."""
        from collections import deque

        with self.lock:
            sent = {key for helper in but for key, _path, _size in helper._items}
            self._items = deque(i for i in items if i[0] not in sent)
            self._open = False

    def put_back(self, items: list[Item]) -> None:
        from collections import deque

        with self.lock:
            self._items = deque(sorted((*self._items, *items), key=lambda i: i[2], reverse=True))

    def left(self) -> bool:
        return bool(self._items)

    def drain(self) -> list[Item]:
        from collections import deque

        with self.lock:
            items, self._items = list(self._items), deque()
        return items

    def top_up(self, helper: _Helper) -> None:
        """Send `helper` what keeps it a window ahead; its input ended once nothing more comes."""
        with self.lock:
            if helper.gone:
                return
            items, room, count = self._items, self.WINDOW - helper.ahead, self.WINDOW_FILES - helper.ahead_files
            more: list[Item] = []
            while items and room > 0 and count > 0:
                item = items.pop() if helper.yielding else items.popleft()
                more.append(item)
                room -= item[2]
                count -= 1
            helper.send(more)
            if not items and not self._open:
                helper.seal()


class _Helper:
    """One helper process hashing the files it is sent: paths in on stdin, one line per file
    out, in order.

    A thread here reads its answers as they come (the caller's progress moves with them) and
    tops it up from its _Share. Anything it does not answer is left to the caller: finish()
    returns it.
    """

    def __init__(self, share: _Share, results: Results, progress: Callable[[int], None] | None, nice: int = 0) -> None:
        import subprocess

        from strataml.spawn import widen

        self._share = share
        self._items: list[Item] = []
        self._results = results
        self._progress = progress
        self._keep: set[str] | None = None  # the keys to record answers for (None: all)
        self._answered = 0
        self.ahead = 0  # bytes sent and not answered yet
        self._taking = _thread.allocate_lock()  # an answer is recorded, or the helper let go: not both
        self.gone = False  # let go, ended, or its input ended: sent nothing more
        self._out = bytearray()  # paths sent that its input could not take yet
        self._sealed = False
        # Yielding only where the priority was set and it can be told when other work holds the
        # helper back (then it is handed over: Background._unyielding); elsewhere, as ever.
        self.yielding = False
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SERVE, _HOME],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.pid = self._proc.pid
        try:
            assert self._proc.stdin is not None
            self._feed = self._proc.stdin.fileno()
            widen(self._feed)
            # Never waited on: a full pipe (the helper reads its input as it comes, so rarely)
            # keeps the rest here, sent after its next answer.
            os.set_blocking(self._feed, False)
            self.lower(nice)
            from threading import Thread

            self._thread = Thread(target=self._talk, daemon=True)
            self._thread.start()
        except BaseException:  # (no thread to start, interrupted...): no process left behind
            self._proc.kill()
            self._proc.wait()
            talking = getattr(self, "_thread", None) is not None and self._thread.is_alive()
            # A talk thread that started reads the answers' descriptor by its number: it sees their
            # end (the helper is killed) and stops; closed under it, the number could name another file.
            for stream in (self._proc.stdin, None if talking else self._proc.stdout):
                if stream is not None:
                    stream.close()
            raise

    @property
    def ahead_files(self) -> int:
        return len(self._items) - self._answered

    def lower(self, nice: int) -> None:
        """Run `nice` above this process's priority from now on, where that can be told (see yielding)."""
        if nice and _running(self.pid) is not None:
            # Set here, not by the helper: its own start then already yields to this process.
            try:
                mine = os.getpriority(os.PRIO_PROCESS, 0)
                os.setpriority(os.PRIO_PROCESS, self.pid, min(MODEST, mine + nice))
                self.yielding = True
            except (AttributeError, OSError):
                pass  # (no priorities here, or it has ended: the work is the same)

    @classmethod
    def spawn(
        cls, count: int, share: _Share, results: Results, progress: Callable[[int], None] | None, nice: int = 0
    ) -> list[_Helper]:
        """`count` helpers taking from `share`, nothing sent yet; none when they cannot start."""
        helpers: list[_Helper] = []
        try:
            if not sys.executable or getattr(sys, "frozen", False):  # a frozen app's executable is not python
                raise OSError("no interpreter to start")
            if os.name != "posix":  # (pipes written without waiting: POSIX's; elsewhere threads hash)
                raise OSError("helpers need POSIX pipes")
            for _ in range(count):
                helpers.append(cls(share, results, progress, nice))
        except OSError:
            for helper in helpers:
                helper.finish(kill=True)
            return []
        return helpers

    def send(self, items: list[Item]) -> None:
        """Hand it `items` (after those sent before), written as far as its input takes them now.
        Called with its share's lock held, as _push() and seal() are."""
        if items:
            with self._taking:
                self._items.extend(items)
                self.ahead += sum(i[2] for i in items)
            self._out += b"".join(os.fsencode(path) + b"\0" for _key, path, _size in items)
        self._push()

    def _push(self) -> None:
        if self._out and not self.gone:
            try:
                del self._out[: os.write(self._feed, self._out)]
            except BlockingIOError:
                pass
            except OSError:  # (it has ended: what it did not answer is the caller's)
                self._out.clear()
                self.gone = True
        if self._sealed and not self._out:
            self._end_input()

    def seal(self) -> None:
        """Nothing more to send: its input ends after what was sent (once its pipe took it all)."""
        self._sealed = True
        self._push()

    def _end_input(self) -> None:
        self.gone = True
        stdin = self._proc.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except OSError:
                pass

    def _talk(self) -> None:
        proc, items, results, share = self._proc, self._items, self._results, self._share
        low, few = share.WINDOW // 2, share.WINDOW_FILES // 2
        assert proc.stdout is not None
        answers = proc.stdout.fileno()
        rest = b""
        try:
            # A helper writes its answers in bursts (every _FLUSH bytes hashed, or when it has
            # nothing left to hash): each burst is taken in one step, under one lock. This thread
            # holds the GIL meanwhile, which the rules wait for (10k records, cold doctor: the two talk
            # threads' CPU 18-26 -> 17-19 ms).
            while chunk := os.read(answers, 1 << 16):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()  # (the start of an answer still being written)
                ticks: list[int] = []  # the sizes of the answers recorded, for the progress
                wrong = False  # an answer it never gives (or one too many): the rest is the caller's
                with self._taking:
                    if self._let_go:
                        break
                    keep, progress, at, done = self._keep, self._progress, self._answered, 0
                    for line in lines:
                        if at >= len(items):
                            wrong = True
                            break
                        key, path, size = items[at]
                        if keep is None or key in keep:
                            try:
                                results[key] = _answer(line, path)
                            except ValueError:
                                wrong = True
                                break
                            ticks.append(size)
                        at += 1
                        done += size
                    self._answered = at
                    self.ahead -= done
                if progress:
                    for size in ticks:
                        progress(size)
                if wrong:
                    break
                # Topped up once half its window is answered (bytes and files), or when it has
                # nothing left: not after every answer (100k small files, 100k writes).
                if self._out or (
                    not self.gone and (self._answered == len(items) or (self.ahead < low and self.ahead_files < few))
                ):
                    share.top_up(self)
        except OSError:
            pass  # whatever is left unanswered is hashed by the caller
        with self._taking:
            self._talked = True
            let_go = self._let_go
        if let_go:  # (not waited for by finish(): its answers are closed here, or by let_go())
            proc.stdout.close()

    _let_go = False
    _talked = False  # its talk thread has ended

    def adopt(self, keep: set[str], progress: Callable[[int], None] | None) -> int:
        """From now on only answers for `keep` count, and go to `progress`; returns the bytes of
        those answered so far (answers for other keys are taken back)."""
        with self._taking:
            self._keep, self._progress = keep, progress
            done = 0
            for key, _path, size in self._items[: self._answered]:
                if key in keep:
                    done += size
                else:
                    self._results.pop(key, None)
        return done

    def _unanswered(self) -> list[Item]:
        keep = self._keep
        return [i for i in self._items[self._answered :] if keep is None or i[0] in keep]

    def done(self) -> bool:
        """Whether its input has ended and it has answered for every file it was sent."""
        return self.gone and self._answered >= len(self._items)

    def over(self) -> bool:
        """Whether it will answer no more: done, or its answers ended (it died, or said what it
        never says); finish() then returns what it left."""
        return self.done() or not self._thread.is_alive()

    def wait(self, timeout: float) -> None:
        """Until it has answered all it will (it ended), or `timeout` seconds."""
        self._thread.join(timeout)

    def let_go(self) -> list[Item]:
        """The items it has not answered, taken now: it is killed, and nothing it answered after
        is taken (a process of the lowest priority may take a while to end on a busy machine:
        finish() does not wait for it then)."""
        with self._share.lock:
            self._end_input()  # (nothing more sent)
            with self._taking:
                self._let_go = True
                left = self._unanswered()
                talked = self._talked
        self._proc.kill()
        if talked and self._proc.stdout is not None:
            self._proc.stdout.close()
        return left

    def finish(self, kill: bool = False) -> list[Item]:
        """Wait for the helper (or stop it); the items it did not answer."""
        if self._let_go:
            self._proc.poll()  # (reaped if it has ended; else it is reaped when its object goes)
            return []
        # A modest one that has answered all it was sent has nothing more to say: not waited
        # for to exit (it may wait long for a core to do that on).
        if (kill or (self.yielding and self.done())) and self._proc.poll() is None:
            self._proc.kill()
        self._thread.join()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        with self._share.lock:
            self._end_input()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        return self._unanswered()


class HeadStart:
    """Hashing begun while the walk still lists the tree: preload.Stream adds each file a full
    run will hash as the walk finds it, and feed()s once it has found PARALLEL_BYTES to hash,
    more than the loading would gain from the second core. The helpers, one a core, start
    then and take from an open _Share in the walk's order. Background(head_start=...)
    then takes them over with every file the run hashes (adopt); what was sent for a file the
    run does not hash after all is answered and not counted. One never taken over is close()d."""

    def __init__(self) -> None:
        self.results: Results = {}
        self.share = _Share(open=True)
        self.helpers: list[_Helper] = []
        self._held: list[Item] = []  # found, not handed to the helpers yet
        self._held_bytes = 0
        self._over = False  # taken over, closed, or the helpers could not start

    def add(self, item: Item) -> None:
        if not self._over:
            self._held.append(item)
            self._held_bytes += item[2]

    def feed(self) -> None:
        """Start the helpers (the caller has found enough to hash: preload.Stream decides), and
        hand them what was found since."""
        if self._over:
            return
        if not self.helpers:
            count = cores()
            if count < 2:
                return
            self.helpers = _Helper.spawn(count, self.share, self.results, None)
            if not self.helpers:
                self.close()
                return
        # Handed over in batches (a walk lists thousands of folders), or at once to a helper
        # running low.
        low = _Share.WINDOW // 4
        if self._held and (self._held_bytes >= low or min(h.ahead for h in self.helpers) < low):
            self.share.add(self._held)
            self._held, self._held_bytes = [], 0
            for helper in self.helpers:
                if helper.ahead <= _Share.WINDOW // 2:
                    self.share.top_up(helper)

    def adopt(self, items: list[Item], progress: Callable[[int], None] | None, nice: int = 0) -> list[_Helper]:
        """The helpers, to hash `items` (biggest first: every file the run hashes), those sent
        already counted; `progress` gets what they have answered so far."""
        helpers, self.helpers = self.helpers, []
        self._over = True
        keep = {key for key, _path, _size in items}
        # What was sent and what is left are settled in one step: a talk thread topping its
        # helper up in between would take a file that is then also left to send.
        self.share.close(items, but=helpers)
        for helper in helpers:
            done = helper.adopt(keep, progress)
            if progress and done:
                progress(done)
            helper.lower(nice)
        for helper in helpers:
            self.share.top_up(helper)
        self._held = []
        return helpers

    def yield_to_loading(self) -> None:
        """Records are loaded on the other core from now on: the helpers give way to that (and
        to the walk) until the run waits for them (Background._unyielding)."""
        for helper in self.helpers:
            helper.lower(MODEST)

    def close(self) -> None:
        """Never taken over: the helpers are stopped."""
        self._over = True
        for helper in self.helpers:
            helper.finish(kill=True)
        self.helpers, self._held = [], []


_HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_HELPERS = 8
MODEST = 19  # a modest Background's helpers' niceness: they run only where nothing else would


def cores() -> int:
    """The cores this process may run on (a CI container's quota, not the host's count)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(count, MAX_HELPERS))


def _answer(line: bytes, path: Path | str) -> tuple[str, int] | OSError:
    """A helper's line (without its end): "SHA256 SIZE", or "! ERRNO MESSAGE" for a file it
    could not read. (A line cut short, the helper having died while writing it, never gets here.)"""
    text = line.decode("utf-8", "replace")
    if text.startswith("! "):
        number, _, message = text[2:].partition(" ")
        return OSError(int(number), message, os.fsdecode(path))
    sha, size = text.split(" ")
    if len(sha) != 64 or not size.isdigit():
        raise ValueError(f"not a helper's answer: {text[:80]!r}")
    return sha, int(size)


def serve() -> None:
    """A helper process's work: hash each path on stdin (NUL-terminated) as it comes, a line
    each on stdout. A thread reads the input meanwhile, so a caller writing more never waits
    for an answer to be read (nor the helper for more to be written)."""
    import _thread
    from _queue import SimpleQueue

    src = sys.stdin.buffer
    chunks: SimpleQueue[bytes] = SimpleQueue()

    def read() -> None:
        try:
            while chunk := src.read1(1 << 16):  # type: ignore[union-attr]  # (a BufferedReader)
                chunks.put(chunk)
        finally:
            chunks.put(b"")

    _thread.start_new_thread(read, ())
    out = sys.stdout.buffer
    way = _Way()
    _no_core_dump()
    since_flush = 0
    rest = b""
    while chunk := chunks.get():
        *paths, rest = (rest + chunk).split(b"\0")
        for raw in paths:
            try:
                sha, size = _sha256_big(raw, way)
                out.write(b"%s %d\n" % (sha.encode(), size))
            except OSError as exc:
                size = _CHUNK  # an error is news too
                message = (exc.strerror or type(exc).__name__).replace("\n", " ")
                out.write(b"! %d %s\n" % (exc.errno or 0, message.encode("utf-8", "replace")))
            since_flush += size
            if since_flush >= _FLUSH:
                out.flush()
                since_flush = 0
        if chunks.empty():
            out.flush()  # all it has answered is readable before it waits for more
            since_flush = 0
    out.flush()


# A helper may map files from this size on instead of reading them (smaller ones cost more to
# map than to copy). Whether mapping pays depends on the machine: on one kind it hashed 2 GB with
# ~0.15 CPU-s less than reads into a buffer; on a VM whose page walks cost more, 30% more.
MAPPED = 1 << 20
MAP_WINDOW = 64 << 20  # mapped at most at once (a multiple of every page size)
TRIALS = 2  # big files hashed each way before a helper keeps the cheaper one


class _Way:
    """Which way a helper hashes its big files: it tries each on its first ones (alternately),
    then keeps the one that cost less CPU per byte (the thread's own time: user and kernel,
    page faults and copies alike, whatever else runs on the machine)."""

    def __init__(self) -> None:
        self.costs: dict[bool, list[float]] = {True: [], False: []}  # mapped? -> ns per byte

    def mapped(self) -> bool:
        mapped, read = self.costs[True], self.costs[False]
        if len(mapped) < TRIALS or len(read) < TRIALS:
            return len(mapped) <= len(read)
        return sum(mapped) / len(mapped) < sum(read) / len(read)

    def note(self, mapped: bool, nanoseconds: int, size: int) -> None:
        if len(self.costs[mapped]) < TRIALS:
            self.costs[mapped].append(nanoseconds / size)


def _sha256_big(path: bytes, way: _Way) -> tuple[str, int]:
    """sha256_file() for a helper process only: a regular file of MAPPED bytes or more may be
    hashed through a read-only mapping (_Way). A file cut shorter meanwhile makes its pages past
    the new end raise SIGBUS, which ends this process: its caller hashes what it did not answer
    by reading (Background.results), and so finds the file as it is. Never in the caller's own
    process."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with open(fd, "rb", buffering=0, closefd=False) as fh:  # (a folder: IsADirectoryError, as sha256_file)
            info = os.fstat(fd)
            size = info.st_size
            if size < MAPPED or not stat.S_ISREG(info.st_mode):
                return sha256_stream(fh)
            mapped = way.mapped()
            began = time.thread_time_ns()
            sha = _sha256_mapping(fd, size) if mapped else None
            if sha is None:
                sha, size = sha256_stream(fh)
            elif os.fstat(fd).st_size != size:  # (it grew meanwhile: hashed to its end, as a read does)
                fh.seek(0)
                return sha256_stream(fh)
            way.note(mapped, time.thread_time_ns() - began, size)
            return sha, size
    finally:
        os.close(fd)


def _no_core_dump() -> None:
    """A helper that a file cut short ends (SIGBUS) leaves no core file: where the system writes
    them into the current folder, that is the user's workspace."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ImportError, OSError, ValueError):
        pass


def _sha256_mapping(fd: int, size: int) -> str | None:
    """The hex sha256 of the first `size` bytes of `fd` through read-only mappings; None where
    the file system cannot map it."""
    import mmap

    digest = hashlib.sha256()
    try:
        # A window at a time: the pages a mapping touched count in the helper's resident memory
        # until it is unmapped (a 10 GB file would look like a 10 GB helper).
        for at in range(0, size, MAP_WINDOW):
            with mmap.mmap(fd, min(MAP_WINDOW, size - at), prot=mmap.PROT_READ, offset=at) as window:
                if hasattr(mmap, "MADV_SEQUENTIAL"):
                    window.madvise(mmap.MADV_SEQUENTIAL)
                digest.update(window)
    except (OSError, ValueError):
        return None
    return digest.hexdigest()


def hash_files(
    items: Iterable[Item],
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    results: Results | None = None,
) -> Results:
    """Hash many files now, on every core when they are big enough to pay for threads (see Background).

    Returns key -> (sha256, size), or the OSError that stopped a file from being read.
    """
    return Background(items, progress, results, threads=threads, start=0).results()


def _one(path: Path | str) -> tuple[str, int] | OSError:
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc

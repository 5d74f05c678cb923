"""Run exports in a child process that is replaced once it keeps too much memory.

Exporting model after model in one process keeps memory that nothing in Python can release:
MXNet's native allocations grow with every model (from 0.35 GB after the first to 1.5-1.8 GB by
the 59th, with no array or session alive; docs/performance.md, Memory), so ``tools/export.py --all`` peaked
at 1.35x its largest single model. A worker process that is replaced when it has grown bounds a
batch export by about its largest model, at the cost of one process start (3 s) per replacement.

Spawn, not fork: MXNet's fork handler makes a forked child single-threaded (OpenMP disabled)
and CUDA does not survive a fork. ``func`` must be importable by the child (a module-level
function of an importable module or of the main script).
"""
import multiprocessing
import os
import pickle
import signal

import time

from .errors import WorkerError, WorkerTimeoutError

GROWTH = 256 * 2 ** 20  # bytes a worker may keep beyond what it kept after its first job


def _resident_bytes():
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: never replaced for memory
        return 0


class _Relay:
    """Stands in for an object of the parent's (a progress bar): every method call is sent to it."""

    def __init__(self, send):
        self._send = send

    def __getattr__(self, method):
        return lambda *args, **kwargs: self._send(("call", (method, args, kwargs)))


def _picklable(err):
    """``err`` if it survives pickling (the parent re-raises it), else a ValueError with its text."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:  # e.g. an exception whose constructor takes other arguments than its message
        return ValueError(f"{type(err).__name__}: {err}")


def _interrupt_once(signum, frame):
    """Ctrl-C in the worker: one KeyboardInterrupt, then none that could cut its cleanup short
    (a terminal's Ctrl-C reaches it and the parent forwards its own)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _serve(conn):
    """The worker: run each job sent, answer with its result or exception and the memory kept."""
    from export.memory import release_memory

    signal.signal(signal.SIGINT, _interrupt_once)  # started with Ctrl-C ignored
    try:
        conn.send(("ready", None))
        for func, args in iter(conn.recv, None):
            try:
                result = ("result", func(*args, _Relay(conn.send)))
            except KeyboardInterrupt:
                raise
            except BaseException as err:  # noqa: BLE001 - every failure goes back to the parent
                result = ("error", _picklable(err))
            release_memory()
            conn.send(result + (_resident_bytes(),))
    except KeyboardInterrupt:  # the job's own cleanup has run; the parent says "interrupted" once
        try:
            conn.send(("interrupted", None))
        except OSError:
            pass


class Worker:
    """``run(func, *args, target=...)`` calls ``func(*args, relay)`` in a child process, where
    method calls on ``relay`` are made on ``target`` here (a progress bar, say); returns its
    result or raises its exception here. The child is replaced when the memory it keeps after a
    job exceeds what it kept after its first by ``growth`` bytes. Use as a context manager."""

    def __init__(self, growth=GROWTH, env=None):
        self.growth, self.env = growth, dict(env or {})
        self._process = self._conn = self._first = None
        self._ready = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self):
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_conn,), daemon=True)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child ignores Ctrl-C until it can
        saved = {k: os.environ.get(k) for k in self.env}       # handle it (no traceback mid-import)
        os.environ.update(self.env)  # the child's environment (read before it imports MXNet)
        try:
            self._process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        child_conn.close()
        self._first, self._ready = None, False

    def close(self):
        if self._process is not None:
            try:
                self._conn.send(None)
            except OSError:
                pass
            self._process.join()
            self._conn.close()
            self._process = None

    def _receive(self, deadline=None):
        while True:
            if deadline is not None and not self._conn.poll(max(0.0, deadline - time.monotonic())):
                self._process.kill()
                self._process.join()
                self._conn.close()
                self._process = None
                raise WorkerTimeoutError("the job ran past its time limit; its process was ended")
            try:
                message = self._conn.recv()
            except EOFError:
                self._process.join()
                self._conn.close()
                code, self._process = self._process.exitcode, None
                raise WorkerError(f"the export process ended without a result (exit status {code}; "
                                        "killed for lack of memory?)") from None
            if message[0] != "ready":
                return message
            self._ready = True

    def run(self, func, *args, target=None, timeout=None):
        """``func(*args, relay)`` in the child; ``timeout`` seconds at most (then
        :class:`~export.errors.WorkerTimeoutError`, and the next job gets a new process)."""
        if self._process is None:
            self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        self._conn.send((func, args))
        try:
            while True:
                kind, payload, *kept = self._receive(deadline)
                if kind == "call":
                    method, call_args, kwargs = payload
                    if target is not None:
                        getattr(target, method)(*call_args, **kwargs)
                    continue
                if kind == "interrupted":
                    raise KeyboardInterrupt
                self._recycle(kept[0])
                if kind == "error":
                    raise payload
                return payload
        except KeyboardInterrupt:
            self._interrupted()
            raise

    def _recycle(self, kept):
        if self._first is None:
            self._first = kept
        elif kept - self._first > self.growth:
            self.close()

    def _interrupted(self):
        """Ctrl-C: a child running the job was interrupted too and removes what it was writing;
        one still starting up ignored it and has written nothing."""
        if self._process is None:
            return
        try:
            while not self._ready and self._conn.poll():
                self._ready = self._conn.recv()[0] == "ready"
        except EOFError:  # it is gone already
            pass
        if self._ready:
            try:
                os.kill(self._process.pid, signal.SIGINT)  # in case only this process got it
            except ProcessLookupError:
                pass
        else:
            self._process.terminate()
        self._process.join()
        self._conn.close()
        self._process = None

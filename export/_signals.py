"""SIGTERM handled as Ctrl-C: ``kill``, a CI timeout or a closing container then take the same way
out as an interrupted export (the staging folder removed, nothing half-written), where Python's
default would end the process at once and leave the staging folder behind."""
import signal
import threading
from contextlib import contextmanager


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt in the main thread (elsewhere: no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

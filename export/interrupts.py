"""Ctrl-C and SIGTERM as ``KeyboardInterrupt``, delivered where Python will not drop it.

A signal handler runs between two bytecodes of whatever the main thread executes, destructors
(``__del__``) included, and an exception raised in a destructor is printed and dropped: with an
MXNet array's ``__del__`` running as SIGTERM arrives, the interrupt was lost and the export went
on to exit 0. These handlers notice a destructor on the stack and deliver the interrupt again a
moment later (SIGALRM), outside it.
"""
import signal

RETRY_SECONDS = 0.05


def in_destructor(frame):
    """Whether ``frame`` or a frame that called it is a ``__del__``."""
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def retry_later(handler):
    """Call ``handler`` again in ``RETRY_SECONDS`` (as a SIGALRM); False where there is no timer."""
    if not hasattr(signal, "setitimer"):
        return False
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
    return True


def raise_interrupt(signum, frame):
    """The handler: ``KeyboardInterrupt`` now, or soon when a destructor is running."""
    if in_destructor(frame) and retry_later(raise_interrupt):
        return
    raise KeyboardInterrupt

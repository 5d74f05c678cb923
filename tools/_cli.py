"""What every tool shares: its folder kept off ``sys.path``, a parser built from the tool's
docstring, the one-line error, and the exit-status wrapper.

Exit status, for every tool: 0 done, 1 an error named in one line on stderr, 2 a usage error
(argparse), 130 interrupted (Ctrl-C, or SIGTERM, which a tool treats as Ctrl-C so that nothing is
left half-written).

A tool imports this module before ``export`` or ``hybridzoo``: run as ``python tools/x.py``, this
folder is ``sys.path[0]``, and its ``export.py`` would shadow the ``export`` package.
"""
import argparse
import os
import re
import signal
import sys

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != TOOLS_DIR]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def parser_from_doc(doc, usage=None, epilog_title=None, epilog_extra=""):
    """An ``ArgumentParser`` whose description is the docstring's first paragraph and whose epilog
    (shown after the options) is the rest: the examples and the exit statuses."""
    head, *rest = doc.strip().split("\n\n")
    epilog = "\n\n".join(rest)
    if epilog_title:
        epilog = f"{epilog_title}:\n{epilog}"
    return argparse.ArgumentParser(description=head, usage=usage, epilog=epilog + epilog_extra,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def user_errors():
    """The exception types that are a user's input, not a bug: the compiler's family, ValueError
    (the zoo's unknown model, weights that do not fit), the file system's, and MXNet's own when
    MXNet is loaded. Anything else keeps its traceback."""
    from export.errors import ExportError  # imports nothing: the deployment side stays MXNet-free
    errors = (ExportError, ValueError, OSError)
    mxnet = sys.modules.get("mxnet")
    if mxnet is not None and hasattr(mxnet, "base"):
        errors += (mxnet.base.MXNetError,)
    return errors


# MXNet's C++ text inside a message: "[13:10:23] ../src/x.cc:202: ", "Stack trace:" and what follows.
_CPP_LOCATION = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ")
_CPP_STACK = re.compile(r"\s*Stack trace:.*", re.S)


def one_line(err, where=None):
    """``err`` as the one line a user reads: the file and its problem for an OSError, MXNet's C++
    locations and stack dropped, whitespace collapsed, prefixed by ``where`` (e.g. the model)."""
    if isinstance(err, OSError) and err.filename and err.strerror:
        message = f"{err.filename}: {err.strerror}"
    else:
        message = _CPP_LOCATION.sub("", _CPP_STACK.sub("", str(err)))
        message = re.sub(r"^MXNetError: ", "", message.strip())
    message = " ".join(message.split()) or type(err).__name__
    if where and not message.startswith(str(where)):
        message = f"{where}: {message}"
    return message


def print_error(err, where=None):
    print(f"error: {one_line(err, where)}", file=sys.stderr)


def _sigterm_as_ctrl_c(signum, frame):
    raise KeyboardInterrupt


def run_main(run, args, interrupted="interrupted"):
    """Call ``run(args)`` and turn what escapes into the tool's exit status: a user error into one
    line and 1, Ctrl-C or SIGTERM into ``interrupted`` (a string, or a function returning one) and
    130. ``run`` returns the status when it ends by itself."""
    previous = _catch_sigterm()
    try:
        return run(args)
    except KeyboardInterrupt:
        print(interrupted() if callable(interrupted) else interrupted, file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 (filtered just below: a bug keeps its traceback)
        if not isinstance(err, user_errors()):
            raise
        print_error(err)
        return EXIT_ERROR
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _catch_sigterm():
    """SIGTERM raises KeyboardInterrupt from here on; returns the handler it replaced (None when
    it replaced none: another handler is set, or this is not the main thread)."""
    if not hasattr(signal, "SIGTERM") or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    try:
        return signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
    except ValueError:  # not the main thread (a test calling main()): leave it alone
        return None


def available_cores():
    """Cores this process may run on (taskset / cgroup affinity respected)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def at_most_cores(count, flag, what):
    """``count`` bounded by the cores here, with a warning line when it was more: more threads or
    processes than cores only wait for each other (2000 ONNX Runtime threads: 88 s per image)."""
    cores = available_cores()
    if count <= cores:
        return count
    print(f"warning: {flag} {count} is more than the {cores} cores here; using {cores} {what}", file=sys.stderr)
    return cores


def _without_relay(func, args, relay):
    return func(*args)


def run_isolated(func, *args, timeout=None, env=None):
    """``func(*args)`` in a fresh child process (:class:`export.worker.Worker`), so a crash, a
    hang or leaked native memory ends with the job: its result, or ``{"status": "timeout" |
    "crash", "detail": one line}``. ``env`` is added to the child's environment (read before it
    imports MXNet, e.g. ``OMP_NUM_THREADS``). ``func`` must be a module-level function."""
    from export.errors import WorkerTimeoutError
    from export.worker import Worker
    with Worker(env=env) as worker:
        try:
            return worker.run(_without_relay, func, args, timeout=timeout)
        except WorkerTimeoutError:
            return {"status": "timeout", "detail": f"over {timeout} s"}
        except Exception as err:  # noqa: BLE001 (a WorkerError or the job's own: its result)
            return {"status": "crash", "detail": one_line(err)[:300]}

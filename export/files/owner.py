"""Hidden work folders that say who owns them, so a killed export's leftovers can be removed.

An export builds its files in a hidden folder beside the output (``.<name>-xxxx``). When the
process is killed (SIGKILL, a lost terminal, out of memory) nothing removes that folder: for
resnet50 it holds 196 MB. Each work folder therefore holds an owner record (``.owner``: pid,
process start time, the folder it builds); the next export into the same parent removes the
folders whose owner is gone. A folder without our record is never touched.
"""
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager

from ..errors import WriteError

OWNER_FILE = ".owner"
KIND = "hybridzoo-staging/1"
# :func:`export.files.io.atomic_path`'s temporary files: ``.<name>.<pid>.<8 hex>.tmp``
PID_MAX = 2 ** 22  # Linux's largest pid_max
ATOMIC_TMP = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")


def _start_time(pid):
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), or
    None where ``/proc`` is missing. With the pid it names one process: pids are reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid, start):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return start is None or _start_time(pid) in (None, start)


def make_work_dir(parent, prefix, target=None):
    """A new hidden folder in ``parent`` holding this process's owner record; returns its path.
    ``target``: the path the folder's content will be renamed to (restored from it if killed)."""
    record = {"kind": KIND, "pid": os.getpid(), "start": _start_time(os.getpid()),
              "target": os.path.basename(target) if target else None}
    try:
        os.makedirs(parent, exist_ok=True)
        work = tempfile.mkdtemp(prefix=prefix, dir=parent)
        with open(os.path.join(work, OWNER_FILE), "w", encoding="utf-8") as f:
            json.dump(record, f)
    except OSError as err:
        raise WriteError(f"cannot write into {parent}: {err.strerror or err}; choose a writable folder") from None
    return work


def _owner(folder):
    """The owner record of ``folder`` when it is one of our work folders, else None."""
    try:
        with open(os.path.join(folder, OWNER_FILE), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("kind") != KIND or not _is_pid(record.get("pid")):
        return None
    return record


def _is_pid(value):
    return isinstance(value, int) and 0 < value <= PID_MAX


def clean_stale(parent):
    """Remove the work folders (and atomic writes' temporary files) in ``parent`` whose owner
    process has ended; returns their names.

    A folder killed between moving the old output aside (``old``) and moving the new one in puts
    the old output back first, so a kill never leaves the user with neither.
    """
    removed = []
    try:
        names = [n for n in os.listdir(parent) if n.startswith(".")]
    except OSError:
        return removed
    for name in names:
        try:
            if _remove_if_stale(parent, name):
                removed.append(name)
        except OSError:  # another export cleaning the same folder at the same time
            continue
    return removed


def _remove_if_stale(parent, name):
    path = os.path.join(parent, name)
    if _stale_atomic_file(path):
        os.remove(path)
        return True
    record = _owner(path) if os.path.isdir(path) and not os.path.islink(path) else None
    if record is None or _alive(record["pid"], record.get("start")):
        return False
    old, target = os.path.join(path, "old"), os.path.basename(str(record.get("target") or ""))
    if target not in ("", ".", "..") and os.path.isdir(old) and not os.path.lexists(os.path.join(parent, target)):
        os.replace(old, os.path.join(parent, target))
    shutil.rmtree(path, ignore_errors=True)
    return True


def _stale_atomic_file(path):
    """An atomic write's temporary file whose writer has ended (its name holds the pid; a reused
    pid only ever keeps a file, never removes a live writer's)."""
    found = ATOMIC_TMP.match(os.path.basename(path))
    if not found or not _is_pid(int(found.group(1))) or not os.path.isfile(path) or os.path.islink(path):
        return False
    return not _alive(int(found.group(1)), None)


@contextmanager
def work_dir(parent, prefix):
    """A hidden owned folder in ``parent`` for the block's temporary files, removed after it;
    stale ones of killed exports are cleaned first."""
    clean_stale(parent)
    work = make_work_dir(parent, prefix)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)

"""Atomic file writes and file digests: a reader never sees a half-written artifact."""
import hashlib
import os
import uuid
from contextlib import contextmanager

from .owner import clean_stale
from ..errors import InvalidInputError, WriteError


@contextmanager
def atomic_path(path):
    """Yield a temporary path in ``path``'s directory; on success rename it over ``path``.

    On any error the temporary file is removed and ``path`` is left as it was; a killed
    writer's is removed by the next write into that folder (:func:`.owner.clean_stale`). The
    file system's refusals (a folder in the way, no permission, a full disk) raise
    :class:`WriteError` naming ``path``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    # Not mkstemp: its 0600 mode would stick to the published file; the writer creates it.
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.makedirs(directory, exist_ok=True)
        clean_stale(directory)  # what killed writers left here
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        if err.filename not in (tmp, path, directory) or isinstance(err, WriteError):
            raise
        raise WriteError(f"cannot write {path}: {err.strerror or err}; choose another output path or free "
                         "some space") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path, data):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return os.fspath(path)


def atomic_write_text(path, text):
    return atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file (links and ``..`` resolved)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): compare where they would be
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting_inputs(out, inputs):
    """Raise :class:`InvalidInputError` when the output path ``out`` is one of the ``inputs``
    (``{role: path}``): writing it would destroy what is being read."""
    for role, path in inputs.items():
        if path is not None and same_file(os.fspath(out), os.fspath(path)):
            raise InvalidInputError(f"the output path {os.fspath(out)!r} is the {role} file being exported; "
                                    "choose another output path (e.g. model.onnx)")

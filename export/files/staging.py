"""Build a folder under a hidden temporary name and move it into place only when complete.

An output folder may hold the user's own files beside ours (notes, the ``.params`` they
exported from, their own subfolders). We keep them, as ``torch.onnx.export`` and ``tf2onnx
--output`` do: those write their own file and leave everything else in the folder alone, so a
user expects a second export into the same folder to replace the export, not the folder.
Refusing instead would make every export into a folder with a README fail. Only a file of the
user's that the export would overwrite stops it, with one line naming the file and the way out.
"""
import os
import shutil
from contextlib import contextmanager

from .io import sha256_file
from .manifest import MANIFEST_NAME
from .owner import clean_stale, make_work_dir
from ..errors import OutputFolderError


@contextmanager
def staged_dir(target, owned=None):
    """Yield a temporary folder; on success its files replace the export in ``target``.

    ``owned(target)`` returns ``{relative path: sha256 or None}`` of the files a previous export
    wrote there (``None``: ours whatever the content); only those are replaced or removed.
    ``target`` holding nothing else is swapped whole, so readers see the old folder or the new
    one. Holding files of the user's, ours are replaced one by one (each rename atomic, the
    manifest last) and theirs kept; a file of theirs in the way raises :class:`OutputFolderError`.
    On any error the temporary folder is removed and ``target`` is left as it was. The temporary
    folder records its owner: one left by a killed export is removed by the next (:mod:`.owner`).
    """
    parent, base = os.path.split(os.path.abspath(target))
    clean_stale(parent)
    work = make_work_dir(parent, f".{base}-", target)
    try:
        staging = os.path.join(work, "new")
        os.mkdir(staging)
        os.chmod(staging, 0o755)  # artifacts are meant to be shared
        yield staging
        _publish(staging, target, work, owned)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _entries(root):
    """Relative paths of the files, links and empty folders under ``root``."""
    found = set()
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        names = files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        if folder != root and not dirs and not files:
            found.add(rel)
        found.update(os.path.normpath(os.path.join(rel, n)) for n in names)
    return found


def _ours(target, owned):
    """The entries of ``target`` a previous export wrote and nobody changed since."""
    recorded = owned(target) if owned else {}
    return {p for p in _entries(target) if p in recorded and os.path.isfile(os.path.join(target, p))
            and (recorded[p] is None or sha256_file(os.path.join(target, p)) == recorded[p])}


def _in_the_way(target, path, ours):
    """Whether writing ``path`` into ``target`` would replace something that is not ours."""
    parts = path.split(os.sep)
    for depth in range(1, len(parts) + 1):
        rel = os.path.join(*parts[:depth])
        full = os.path.join(target, rel)
        if not os.path.lexists(full):
            return False
        if depth < len(parts) and os.path.isdir(full) and not os.path.islink(full):
            continue
        return rel not in ours
    return False


def _publish(staging, target, work, owned):
    if not os.path.lexists(target):
        os.replace(staging, target)
        return
    if not os.path.isdir(target):
        raise OutputFolderError(f"{target} exists and is not a folder: move it away or pass another --out")
    ours = _ours(target, owned)
    theirs = _entries(target) - ours
    if not theirs and not os.path.islink(target):  # a link to a folder stays: its files are replaced
        os.replace(target, os.path.join(work, "old"))  # the owner record restores it if killed here
        os.replace(staging, target)
        return
    new = sorted(_entries(staging), key=lambda p: (p == MANIFEST_NAME, p))  # the manifest last
    blocked = sorted(p for p in new if _in_the_way(target, p, ours))
    if blocked:
        shown = ", ".join(blocked[:3]) + (", ..." if len(blocked) > 3 else "")
        raise OutputFolderError(f"{target} holds {len(blocked)} file(s) this tool did not write that the "
                                f"export would replace ({shown}); nothing was changed: move them away or "
                                "pass another --out")
    for path in new:
        os.makedirs(os.path.dirname(os.path.join(target, path)), exist_ok=True)
        os.replace(os.path.join(staging, path), os.path.join(target, path))
    for path in sorted(ours - set(new)):  # our files of the previous export this one no longer makes
        os.remove(os.path.join(target, path))
        _remove_empty_parents(target, os.path.dirname(path))


def _remove_empty_parents(target, rel):
    while rel:
        try:
            os.rmdir(os.path.join(target, rel))  # only ever removes an empty folder
        except OSError:
            return
        rel = os.path.dirname(rel)

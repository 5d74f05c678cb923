"""Build a folder under a hidden temporary name and rename it into place only when complete."""
import os
import shutil
import tempfile
from contextlib import contextmanager


@contextmanager
def staged_dir(target):
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` whole.

    On any error the temporary folder is deleted and an existing ``target`` is left as it was,
    so readers see the old folder or the new one, never a half-written one.
    """
    parent, base = os.path.split(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{base}-", dir=parent)
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; artifacts are meant to be shared
        yield staging
        old = None
        if os.path.lexists(target):
            old = staging + ".old"
            os.replace(target, old)
        os.replace(staging, target)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

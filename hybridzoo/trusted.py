"""What a run may load: files its manifest names inside its folder, with the sha256 it recorded.

A manifest is data anyone can edit, so a name in it is followed only when it resolves (symlinks
included) inside the manifest's folder, and a file is loaded only when its bytes hash to what the
run recorded. Optimizer states are a pickle, which runs code when loaded: MXNet's
``Trainer.load_states`` only ever sees a private copy of bytes whose hash was recorded.
"""
import hashlib
import os
import pickle
import tempfile


class UntrustedFileError(ValueError):
    """A manifest names a file outside its folder, or a file's bytes are not the recorded ones."""


def inside(folder, name, manifest):
    """The path of file ``name`` (as ``manifest`` names it) in ``folder``; refused when the name
    is not a plain string or resolves outside the folder."""
    if not isinstance(name, str) or not name:
        raise UntrustedFileError(f"{manifest} names no file ({name!r}); re-create it with tools/train.py")
    path = os.path.join(folder, name)
    root = os.path.realpath(folder)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise UntrustedFileError(f"{manifest} names {name!r}, which is outside its folder {folder}; "
                                 "a run only loads files beside its manifest: copy the file there")
    return path


def sha256_bytes(raw):
    return hashlib.sha256(raw).hexdigest()


def read_verified(path, expected, manifest):
    """``path``'s bytes when they hash to ``expected`` (the sha256 ``manifest`` recorded)."""
    if not expected:
        raise UntrustedFileError(f"{manifest} records no sha256 for {path}, so it is not loaded (a changed "
                                 "file could run code); move the file out of the run folder to go on without it")
    with open(path, "rb") as f:
        raw = f.read()
    actual = sha256_bytes(raw)
    if actual != expected:
        raise UntrustedFileError(f"sha256 mismatch for {path}: {manifest} says {expected}, file is {actual}; "
                                 "the file was changed or truncated, re-train or re-copy the run")
    return raw


def load_trainer_states(trainer, path, expected, manifest):
    """``trainer.load_states`` on a private copy of ``path``'s bytes, verified against ``expected``."""
    raw = read_verified(path, expected, manifest)
    with tempfile.TemporaryDirectory(prefix="hybridzoo-states-") as private:
        copy = os.path.join(private, os.path.basename(path))
        with open(copy, "wb") as f:
            f.write(raw)
        try:
            trainer.load_states(copy)
        except (pickle.UnpicklingError, EOFError, AttributeError, KeyError, IndexError, TypeError) as err:
            raise UntrustedFileError(f"{path} holds no optimizer state this trainer can take "
                                     f"({type(err).__name__}); resume with another --optimizer") from None

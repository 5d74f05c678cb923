"""Versions recorded in manifests and ONNX metadata."""
from importlib import metadata


def package_version(name="hybridzoo"):
    """Installed distribution version (``export`` ships in the hybridzoo distribution), or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions():
    """``{"mxnet", "onnx", "onnxruntime"}`` versions of the installed libraries (None if absent)."""
    return {name: package_version(name) for name in ("mxnet", "onnx", "onnxruntime")}

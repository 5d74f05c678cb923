"""Import MXNet without the 1.5 s it spends importing scikit-learn.

``mxnet.model`` imports scikit-learn only to give the deprecated ``FeedForward`` class a
``BaseEstimator`` base (falling back to ``object`` without it), and scikit-learn pulls in SciPy's
statistics and pandas: 1.5 of the 5 s every ``import mxnet`` takes here, paid by each command
line tool and each subprocess of the tests. While MXNet loads, a finder at the front of
``sys.meta_path`` reports scikit-learn as absent; it is removed at once, so a later
``import sklearn`` (``hybridzoo.data`` reads its bundled digits) loads it as usual. Nothing is
skipped when scikit-learn or MXNet is already imported.
"""
import importlib.abc
import sys


class _HideDuringImport(importlib.abc.MetaPathFinder):
    def __init__(self, *names):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is skipped while mxnet loads", name=fullname)
        return None


def import_mxnet():
    """``import mxnet`` with scikit-learn hidden from it; returns the module."""
    if "mxnet" in sys.modules:
        return sys.modules["mxnet"]
    finder = _HideDuringImport("sklearn")
    sys.meta_path.insert(0, finder)
    try:
        import mxnet
    finally:
        sys.meta_path.remove(finder)
    return mxnet

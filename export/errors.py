"""The compiler's one exception family.

Every error ``export`` raises on purpose is an :class:`ExportError` (torch.onnx has
``OnnxExporterError``), so a caller catches the family and nothing else; each subclass keeps the
stdlib base that callers already catch (``ValueError``, ``TypeError``, ``NotImplementedError``,
``FileNotFoundError``, ``RuntimeError``). Messages are one line: the problem, then the fix.

This module imports nothing but ``re``, so the deployment side (``export.deploy``) can raise the
family without loading MXNet or the converter.
"""
import re


class ExportError(Exception):
    """Base of every error the compiler raises on purpose."""


class InvalidInputError(ExportError, ValueError):
    """A bad value from the caller: a shape, a file's content, an option."""


class InvalidTypeError(ExportError, TypeError):
    """An argument of a type the compiler does not take."""


class MissingFileError(ExportError, FileNotFoundError):
    """A file the caller named does not exist."""


class MissingDependencyError(ExportError, ImportError):
    """An optional package the asked-for feature needs is not installed; the message names it."""


class WorkerError(ExportError, ChildProcessError):
    """The process exporting a model ended without a result (killed, out of memory)."""


class WorkerTimeoutError(WorkerError):
    """A job ran past its time limit; its process was ended."""


class NonFiniteError(InvalidInputError):
    """The weights or the net's outputs hold NaN or Inf, or outputs too large to check: a diverged
    training run. Not an exporter bug: the message names the params and says to retrain."""


class OutputFolderError(ExportError, FileExistsError):
    """The output folder holds a file of the user's where the export would write one of its own."""


class InsufficientMemoryError(ExportError, MemoryError):
    """The export would need more memory than the machine has available (estimated from shapes)."""


class WriteError(ExportError, OSError):
    """A file could not be written (disk full, no permission); the message names the file."""


class InputTooSmallError(InvalidInputError):
    """The input is smaller than the net's layers (kernels, pooling windows) can take."""


class UnsupportedOperatorError(ExportError, NotImplementedError):
    """An MXNet op with no converter at the requested opset."""


class PrecisionError(ExportError, RuntimeError):
    """A variant could not be made, or disagrees with FP32 beyond its precision's tolerance."""


class AgreementError(ExportError, RuntimeError):
    """An exported backend's output differs from MXNet's (the imperative net's) beyond the tolerance."""

    def __init__(self, name, report):
        self.name, self.report = name, report
        failed = [(b, r) for b, r in report["backends"].items() if not r["passed"]]
        detail = ", ".join(f"{b} max error {r['max_abs_error']:.3g}" for b, r in failed)
        reference = next(iter(report["backends"]), "imperative")  # the reference backend: a net's imperative run
        super().__init__(f"{name}: exported outputs disagree with MXNet ({reference}) ({detail} > "
                         f"tolerance {report['tolerance']:.3g}); nothing was written. This is an exporter "
                         "bug: please report it with the model name and options")

    def __reduce__(self):  # crosses the pipe from tools/export.py's worker process (export/worker.py)
        return type(self), (self.name, self.report)


def mxnet_reason(err):
    """MXNet's error text as its one-line reason: no C++ traceback, source location or check
    expression (``Check failed: a <= b: kernel size (2) exceeds input`` -> ``kernel size ...``)."""
    lines = [ln.strip() for ln in str(err).strip().splitlines()
             if ln.strip() and not ln.strip().startswith(("Traceback", 'File "'))]
    if any(ln.startswith("-----") for ln in lines):  # a bad op parameter, then the op's documentation
        lines = [lines[0] + (lines[-1] if lines[-1].startswith(", in operator") else "")]
    text = re.sub(r"^\w*Error: ", "", lines[-1] if lines else str(err))
    text = re.sub(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ", "", text)  # [13:10:23] ../src/x.cc:202:
    explained = re.sub(r"Check failed: (.*?)\s?:\s+(?=\S)", "", text, count=1)
    if explained != text and not re.search(r":\s+in operator \S+$", text):
        return explained
    # no explanation after the check: the condition is all there is (``a == b (1 vs. 2)``)
    return re.sub(r"Check failed: (.*?)\s?:?\s*(in operator \S+)?$", r"\1 does not hold", text, count=1)


__all__ = ["ExportError", "InvalidInputError", "InvalidTypeError", "MissingFileError", "MissingDependencyError",
           "WorkerError", "WorkerTimeoutError", "InputTooSmallError", "NonFiniteError", "OutputFolderError",
           "InsufficientMemoryError", "WriteError",
           "UnsupportedOperatorError", "PrecisionError", "AgreementError", "mxnet_reason"]

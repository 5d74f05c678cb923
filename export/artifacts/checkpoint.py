"""``export_checkpoint``: your own MXNet checkpoint -> a verified artifact folder.

The checkpoint becomes one :class:`~export.checkpoint.model.Checkpoint` (symbol, params, input
specs, what deployment needs: :mod:`export.checkpoint`) and goes through :func:`export_artifact`,
as zoo nets do: same files, same agreement check, nothing written when it fails.
"""
from ..checkpoint import load_checkpoint
from ..checkpoint.model import Checkpoint
from . import package  # called through the module: a patched export_artifact (tests) is the one used


def export_checkpoint(source, params=None, inputs=None, out_dir="artifacts", name=None, epoch=None,
                      preprocess=None, labels=None, task=None, **options):
    """Export a checkpoint into ``out_dir/<name>`` and return the :class:`Artifact`.

    ``source``: a prefix (``model`` for ``model-symbol.json`` + ``model-NNNN.params``, the newest
    epoch unless ``epoch``), a ``-symbol.json`` file or a ``Symbol`` with ``params`` (a ``.params``
    file or a dict; or ``mx.model.load_checkpoint``'s ``(Symbol, arg, aux)``), a Gluon
    ``HybridBlock`` with its weights loaded (e.g. a fine-tuned GluonCV/GluonNLP net), or the
    :class:`~export.checkpoint.model.Checkpoint` :func:`~export.checkpoint.load_checkpoint` made of one
    of those.
    ``inputs``: ``"NAME:SHAPE[:DTYPE]"`` texts, :class:`~export.checkpoint.CheckpointInput`\\ s or ``{name: shape}``;
    a symbol's inputs left out are read from what was recorded with it (the manifest.json of
    :func:`export.export_symbol`, ``__shape__`` attrs); a block's are its forward arguments, in
    order. ``preprocess`` (``mean``, ``std``, ``scale``, ``resize``, ``layout``), ``labels`` (class
    names) and ``task`` (``"detection"`` for GluonCV's ids/scores/boxes) go into the manifest and
    the ONNX metadata for tools/infer.py. ``name`` defaults to the prefix's basename. Other
    ``options`` are :func:`export_artifact`'s (``formats``, ``opset``, ``batch``, ``dynamic_axes``,
    ``precision``, ``check``, ``ctx``, ``providers``, ``progress``, ``finish``...).
    """
    if not isinstance(source, Checkpoint):
        source = load_checkpoint(source, params, inputs, name, epoch, preprocess, labels, task)
    return package.export_artifact(source, out_dir, source.zoo_name, weights=source.weights, **options)

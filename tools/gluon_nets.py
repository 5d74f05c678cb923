"""Fine-tuned GluonCV / GluonNLP nets rebuilt offline for tools/export.py: the named architecture
(``pretrained=False``, nothing downloaded) with the user's ``.params`` loaded, and what exporting
it needs by default (inputs, GluonCV's preprocessing, the dataset's class names, the task).
"""
import difflib
import os
import re

import mxnet as mx

from export.deploy.detection import IMAGENET_MEAN, IMAGENET_STD  # GluonCV's test-time normalisation

DETECTORS = ("ssd_", "yolo3_", "faster_rcnn_", "mask_rcnn_", "center_net_")
SEQUENCE = 128  # default sequence length of a GluonNLP net's inputs


def gluoncv_net(name, params, labels=None, kwargs=None, ctx=None):
    """``(net, defaults)``: GluonCV's ``name`` with ``params`` loaded; ``labels`` of another count
    than the net's classes re-head a detector first (``reset_class``), as fine-tuning did."""
    import gluoncv
    try:
        net = gluoncv.model_zoo.get_model(name, pretrained=False, pretrained_base=False, **(kwargs or {}))
    except TypeError:  # constructors without pretrained_base
        net = gluoncv.model_zoo.get_model(name, pretrained=False, **(kwargs or {}))
    detector = name.startswith(DETECTORS)
    if detector and labels and len(labels) != len(net.classes):
        net.reset_class(labels)
    _load(net, params, ctx)
    found = re.search(r"_(\d{3})_", name)  # ssd_512_...: the input size it was trained at
    size = int(found.group(1)) if found else 416 if name.startswith("yolo3") else 224
    classes = getattr(net, "classes", None)
    defaults = {"inputs": [f"data:1x3x{size}x{size}"],
                "preprocess": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                               "resize": None if detector else round(size / 0.875)},
                "labels": list(classes) if classes and all(isinstance(c, str) for c in classes) else None,
                "task": "detection" if detector else "classification"}
    return net, defaults


def gluonnlp_net(name, params, labels=None, kwargs=None, ctx=None):
    """``(net, defaults)``: GluonNLP's ``name`` (its vocabulary sized from ``params``) with ``params``
    loaded; a BERT classifier (``nlp.model.BERTClassifier``) when the file holds one."""
    import gluonnlp as nlp
    saved = mx.nd.load(_existing(params))
    embedding = next((k for k in saved if k.endswith("word_embed.0.weight")), None)
    if embedding is None:
        raise ValueError(f"--params {params}: no word embedding (…word_embed.0.weight) in it; is it a GluonNLP "
                         "BERT-style net's save_parameters file?")
    vocab = nlp.Vocab({f"w{i}": 1 for i in range(saved[embedding].shape[0] - 4)})  # + 4 special tokens
    options = dict(kwargs or {})
    if options:
        options.setdefault("hparam_allow_override", True)
    classifier = [k for k in saved if k.startswith("classifier.") and k.endswith("weight")]
    if name.startswith("bert_"):  # the encoder (and the pooler a classifier reads), not the pre-training heads
        options.update(use_decoder=False, use_classifier=False, use_pooler=bool(classifier))
    net, _ = nlp.model.get_model(name, pretrained=False, dataset_name=None, vocab=vocab, **options)
    if classifier:
        dense = sorted(classifier)[-1]  # classifier.1.weight: a Dropout came first (identity at inference)
        net = nlp.model.BERTClassifier(net, num_classes=saved[dense].shape[0],
                                       dropout=0.1 if dense != "classifier.0.weight" else 0.0)
    _load(net, params, ctx)
    segments = [f"token_types:1x{SEQUENCE}:int32"] if name.startswith("bert_") else []  # RoBERTa, DistilBERT: none
    return net, {"inputs": [f"inputs:1x{SEQUENCE}:int32", *segments, "valid_length:1:float32"]}


def check_name(source, name):
    """Raise ValueError naming the closest names when ``source`` ("gluoncv"/"gluonnlp") has no ``name``."""
    if source == "gluoncv":
        import gluoncv
        library, known = "GluonCV", gluoncv.model_zoo.get_model_list()
    else:
        import gluonnlp
        library, known = "GluonNLP", gluonnlp.model.list_models()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"{len(known)} names, e.g. {', '.join(sorted(known)[:3])}"
        raise ValueError(f"unknown {library} model {name!r}: {hint}")


def _existing(params):
    if not os.path.isfile(params):
        raise ValueError(f"--params {params}: no such file; give the .params file save_parameters wrote")
    return params


def _load(net, params, ctx):
    """The fine-tuned weights, every one of them (a file of another architecture fails here)."""
    try:
        net.load_parameters(_existing(params), ctx=ctx or mx.cpu())
    except (AssertionError, mx.base.MXNetError) as err:
        raise ValueError(f"--params {params} does not fit this net: {str(err).splitlines()[0]}") from None
    net.collect_params().setattr("grad_req", "null")

"""Zoo model -> artifact, the policy ``tools/export.py`` applies (a library above both
``hybridzoo`` and ``export``, which may not import each other):

- which weights a zoo model is exported with (:func:`net_with_weights`): the params given, else
  the newest trained run of ``tools/train.py``, else seeded untrained weights with realistic
  BatchNorm statistics — and a line saying which;
- the INT8/FP16 plan (:func:`precision_plan`): calibration data (a folder given, else the
  training split of the weights' dataset, never its test split; nothing for sequence models,
  which are quantized dynamically) and the data the variants are judged on.
"""


def net_with_weights(name, ctx, params=None, untrained=False, seed=0, **net_kwargs):
    """``(net, weights record for the manifest, line saying which weights)`` for zoo model
    ``name`` built with ``net_kwargs`` (classes, in_channels, input_size: None keeps the config's)."""
    import hybridzoo
    from export.block_inputs import zoo_input_dtypes
    from export.blocks import check_block_input
    from hybridzoo import weights
    from hybridzoo.seeded import init_model

    net = hybridzoo.get_model(name, **{k: v for k, v in net_kwargs.items() if v is not None})
    net.collect_params().setattr("grad_req", "null")  # no gradient buffers: one copy of the weights less
    if len(zoo_input_dtypes(net) or [None]) == 1:  # one input: too small names the smallest size
        check_block_input(net, (1,) + tuple(net.zoo_config.input_shape))
    source = params or (None if untrained else weights.find_trained_run(name))
    if source is None:
        # Seeded init with BatchNorm statistics randomized, so the agreement check exercises
        # them (identity BatchNorm would hide conversion bugs).
        init_model(net, seed, ctx=ctx)
        return net, {"trained": False, "source": None, "seed": seed}, f"untrained (seed {seed}) weights"
    try:
        record, origin = weights.load_weights(net, name, source, ctx)
    except ValueError as err:
        if params:
            raise
        raise ValueError(f"{err}; or pass --untrained for seeded weights") from None
    return net, record, origin


def untrained_note(names):
    """The hint after exporting untrained weights that no trained run replaced."""
    from hybridzoo import get_config
    from hybridzoo.sequence_train import TRAINABLE
    if len(names) == 1 and names[0] in TRAINABLE:
        return (f"note: no trained weights in runs/{names[0]}-*/; for real ones run python tools/train_sequence.py "
                f"--model {names[0]}, then this again")
    if len(names) == 1 and get_config(names[0]).inputs:  # the tiny SSD, FCN, BERT: no bundled data
        return f"note: no trained weights in runs/{names[0]}-*/ and no bundled data trains {names[0]}; pass --params"
    if len(names) == 1:
        which, model = f"runs/{names[0]}-*/", names[0]
    else:
        which, model = f"runs/ for {len(names)} models ({', '.join(names[:3])}, ...)", "NAME"
    return (f"note: no trained weights in {which}; for real ones run python tools/train.py --model {model} "
            "--dataset digits, then this again")


def precision_plan(net, weights, int8=False, fp16=False, calib=None, calib_samples=None, calib_method=None,
                   keep_fp32=(), method=None):
    """The INT8/FP16 variants asked for, with calibration and evaluation data (None when none).

    Calibration: ``calib`` (a folder), else the training split of the weights' dataset (never its
    test split); evaluation: that dataset's test split when the weights are trained; a sequence
    model (token ids, lengths, states) calibrates nothing and is judged on held-out data.
    """
    if not (int8 or fp16):
        return None
    from export.files.manifest import preprocess
    from export.precision.calibrate import Calibration, from_folder
    from export.precision.plan import Evaluation, PrecisionPlan
    from hybridzoo import data

    config, dataset = net.zoo_config, data.reference_dataset(net)
    options = {k: v for k, v in (("samples", calib_samples), ("method", calib_method)) if v is not None}
    calibration = evaluation = None
    if config.inputs and calib:
        raise ValueError(f"--calib: {net.zoo_name} takes {len(config.inputs)} inputs (token ids, lengths, states...) "
                         "and is quantized dynamically, which calibrates nothing; drop --calib")
    if config.inputs:  # token ids, lengths, states: judged on held-out data, quantized dynamically
        evaluation = sequence_evaluation(config.dataset)
    elif calib:
        calibration = from_folder(calib, config.input_shape, preprocess(config), **options)
    elif dataset:
        calibration = Calibration(data.split_arrays(dataset, config, train=True)[0],
                                  f"{dataset} training split", **options)
    if weights["trained"] and dataset and not config.inputs:
        images, labels = data.split_arrays(dataset, config, train=False)
        evaluation = Evaluation(images, f"{dataset} test split", labels)
    return PrecisionPlan(int8=bool(int8), fp16=fp16, calibration=calibration, keep_fp32=keep_fp32,
                         evaluation=evaluation, trained=weights["trained"], method=method,
                         calibration_hint=f"the {config.dataset} dataset is not available here")


def sequence_evaluation(dataset):
    """Held-out data of a sequence model's dataset (digits rows, held-out text), else None."""
    from export.precision.sequence import FeedEvaluation, PerplexityEvaluation
    from hybridzoo.sequence_train import held_out
    found = held_out(dataset)
    if found is None:
        return None
    if found[1] is None:
        return PerplexityEvaluation(found[0], f"{dataset} held-out text")
    return FeedEvaluation(dict(enumerate(found[0])), f"{dataset} test split", found[1])

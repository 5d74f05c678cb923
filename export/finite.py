"""Refuse what a diverged training run leaves: weights or outputs holding NaN or Inf, or outputs
so large that the agreement check could not tell a right export from a wrong one.

The check's tolerance is relative to the largest output (``export.verify.tolerance``): a net
whose outputs reach 1e27 passes with an absolute error of 7.6e22. No working net we export
comes near ``OUTPUT_LIMIT`` (logits, probabilities, boxes in pixels, token scores), so outputs
beyond it are called diverged rather than checked.
"""
import numpy as np

from .errors import NonFiniteError

OUTPUT_LIMIT = 1e12
VARIANCES = ("running_var", "moving_var")  # BatchNorm's, as Gluon and the Module API name them
SHOWN = 3


def _listing(names):
    return ", ".join(names[:SHOWN]) + (f", ... ({len(names)} in all)" if len(names) > SHOWN else "")


def check_finite_params(params, fix="retrain or pass other --params"):
    """Raise :class:`NonFiniteError` naming the params (``{name: array}``) holding NaN or Inf,
    or BatchNorm variances below 0."""
    bad, negative = {}, []
    for name, value in params.items():
        array = np.asarray(value.asnumpy() if hasattr(value, "asnumpy") else value)
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            bad[name] = "NaN" if np.isnan(array).any() else "Inf"
        elif name.endswith(VARIANCES) and array.dtype.kind in "fiu" and (array < 0).any():
            negative.append(name)  # sqrt(var + eps): NaN in ONNX Runtime, MXNet gives numbers
    if bad:
        kinds = " and ".join(sorted(set(bad.values()), reverse=True))
        raise NonFiniteError(f"the weights hold {kinds}: {_listing(sorted(bad))}; {fix}")
    if negative:
        raise NonFiniteError(f"the weights hold negative variances: {_listing(sorted(negative))}; {fix}")


def check_block_params(net, fix="retrain or pass other --params"):
    """:func:`check_finite_params` over a Gluon block's initialized parameters, one at a time."""
    for param in net.collect_params().values():
        try:
            data = param.data()
        except Exception:  # noqa: BLE001 - not initialized yet (deferred): nothing to check
            continue
        check_finite_params({param.name: data}, fix)


def check_outputs(outputs, what="the net's outputs", fix="retrain or pass other --params"):
    """Raise :class:`NonFiniteError` when ``outputs`` hold NaN/Inf or exceed ``OUTPUT_LIMIT``."""
    for index, output in enumerate(outputs):
        array = np.asarray(output)
        if array.dtype.kind not in "fc" or array.size == 0:
            continue
        where = f"{what} (output {index})" if len(outputs) > 1 else what
        if not np.isfinite(array).all():
            kind = "NaN" if np.isnan(array).any() else "Inf"
            raise NonFiniteError(f"{where} hold {kind} on random input although the weights are finite "
                                 f"(an overflow: diverged weights?); {fix}")
        peak = float(np.abs(array).max())
        if peak > OUTPUT_LIMIT:
            raise NonFiniteError(f"{where} reach {peak:.3g} on random input, beyond {OUTPUT_LIMIT:.0e}: the "
                                 f"weights look diverged and no check can verify such outputs; {fix}")

"""hybridzoo: the D2L model family, its ImageNet variants and MXNet's Gluon vision zoo as HybridBlocks."""
from ._threads import configure_threads

configure_threads()  # before anything imports mxnet

from ._startup import import_mxnet  # noqa: E402

import_mxnet()  # 1.5 s faster than a plain import (scikit-learn deferred until used)

from .config import ModelConfig  # noqa: E402
from .registry import get_config, get_model, list_models, register_model  # noqa: E402

# Model families register themselves on import (one module per family).
from . import models  # noqa: E402,F401
from . import gluon_weights  # noqa: E402,F401  (registers source="gluon" for get_model)

__version__ = "0.1.0"
__all__ = ["ModelConfig", "get_config", "get_model", "list_models", "register_model", "__version__"]

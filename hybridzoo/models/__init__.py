"""Model families; importing this package registers every model."""
from . import regression, lenet  # noqa: F401

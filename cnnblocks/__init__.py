"""cnnblocks: the milestone CNN building blocks and architectures on the Keras 3 functional API."""

__version__ = "0.1.0"

from cnnblocks import blocks  # noqa: E402
from cnnblocks import architectures  # noqa: E402

__all__ = ["__version__", "architectures", "blocks"]

"""cnnblocks: the milestone CNN building blocks and architectures on the Keras 3 functional API."""

__version__ = "0.1.0"

from cnnblocks import blocks  # noqa: E402
from cnnblocks import architectures  # noqa: E402
from cnnblocks.architectures import *  # noqa: E402,F401,F403
from cnnblocks.registry import create_model, list_models  # noqa: E402
from cnnblocks import published, testing  # noqa: E402
from cnnblocks.analysis import count_macs, summarize, weight_depth  # noqa: E402

__all__ = ["__version__", "architectures", "blocks", "create_model", "list_models"]
__all__ += [n for n in architectures.__all__ if n != "MODELS"]
__all__ += ["count_macs", "published", "summarize", "testing", "weight_depth"]

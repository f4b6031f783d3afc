"""cnnblocks: the milestone CNN building blocks and architectures on the Keras 3 functional API."""

__version__ = "0.1.0"

from cnnblocks import blocks  # noqa: E402
from cnnblocks import architectures  # noqa: E402
from cnnblocks.architectures import *  # noqa: E402,F401,F403
from cnnblocks.registry import create_model, list_models  # noqa: E402
from cnnblocks import distribution, published, testing  # noqa: E402
from cnnblocks.analysis import count_macs, summarize, weight_depth  # noqa: E402
from cnnblocks.receptive import receptive_field  # noqa: E402
from cnnblocks.identity import block_records  # noqa: E402
# The function `plot` shadows its module as an attribute: reach the module with
# importlib.import_module("cnnblocks.plot").
from cnnblocks.plot import plot, to_dot  # noqa: E402
from cnnblocks.features import feature_extractor, feature_info  # noqa: E402
from cnnblocks.inference import fold_batchnorm, optimize_for_inference  # noqa: E402

__all__ = [
    "__version__", "architectures", "blocks", "distribution", "published", "testing",
    "create_model", "list_models",
    "count_macs", "summarize", "weight_depth", "block_records", "receptive_field",
    "plot", "to_dot",
    "feature_extractor", "feature_info",
    "fold_batchnorm", "optimize_for_inference",
    *(name for name in architectures.__all__ if name != "FAMILIES"),
]

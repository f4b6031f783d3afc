"""The model registry: lowercase names to builders (a plain dict, filled by the family modules)."""

import difflib
import re

from cnnblocks.architectures import MODELS


def _canonical(name):
    """`ResNet-50`, `resnet_50`, `InceptionV3` -> `resnet50`, `inceptionv3`."""
    return re.sub(r"[\s_-]", "", name.lower())


def list_models():
    """Returns the registered architecture names, sorted, e.g. `['resnet50', 'vgg16', ...]`."""
    return sorted(MODELS)


def create_model(name, **kwargs):
    """Builds a registered architecture by name.

    Args:
        name: str, a name from `list_models()` (case-insensitive).
        **kwargs: passed to the builder (`include_top`, `weights`, `input_shape`, ...).

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: unknown name; the message lists close matches.

    Example:
        >>> import cnnblocks
        >>> model = cnnblocks.create_model("resnet50", weights=None)
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, received {name!r}.")
    by_canonical = {_canonical(key): key for key in MODELS}
    key = by_canonical.get(_canonical(name))
    if key is None:
        close = difflib.get_close_matches(name.lower(), list(MODELS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Known models: "
                         f"{', '.join(list_models())}.")
    return MODELS[key](**kwargs)

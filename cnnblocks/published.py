"""Published reference numbers of the architectures, read from the family records.

Each family module (`cnnblocks/architectures/<family>.py`) holds its models' `Reference`: total
and trainable parameters, weight-layer depth, multiply-adds, and the rows of the paper's table
where there is one. Every number is a `Figure` carrying its value, its source, its counting
convention and the relative tolerance a correct implementation is held to (0 for exact counts;
the rounding of the printed figure for "138M" or "3.8 x 10^9"). The conventions are in
`cnnblocks.family`.

Example:
    >>> from cnnblocks import published
    >>> ref = published.get("ResNet-50")
    >>> ref.params.value, ref.params.source
    (25636712, 'keras.applications ResNet50 count_params() (Keras Applications docs)')
"""

import types

from cnnblocks.family import Figure, PaperRow, Reference  # noqa: F401  (the record classes)
from cnnblocks.registry import FAMILIES, entry


def _references():
    return {m.name: m.reference for f in FAMILIES.values() for m in f.models
            if m.reference is not None}


#: Registry name -> `Reference`, for every model with published numbers.
MODELS = types.MappingProxyType(_references())


def get(name):
    """The `Reference` of a model, by name in any spelling (`"ResNet-50"`, `"resnet_50"`).

    Raises:
        TypeError: `name` is not a string.
        ValueError: unknown model.
        KeyError: the model is registered but has no published numbers.

    Example:
        >>> from cnnblocks import published
        >>> published.get("VGG16").depth.value
        16
    """
    found = entry(name)
    if found.reference is None:
        raise KeyError(f"No published numbers for {found.name!r}; models with them: "
                       f"{', '.join(sorted(MODELS))}.")
    return found.reference

"""The model registry: every family module's records, and the one model-name normalisation.

`canonical` is the only rule for model names in cnnblocks: `create_model`, `published`,
`verify`, `table`, `classify` and the command line all resolve names with `entry`, so
`ResNet-50`, `resnet_50`, `ResNet50` and `resnet50` are the same model everywhere.
"""

import difflib
import fnmatch
import inspect
import re

from cnnblocks import _validation as check
from cnnblocks.architectures import FAMILIES


def canonical(name):
    """`ResNet-50`, `resnet_50`, `ResNet 50` -> `resnet50` (lowercase, no `-`, `_`, space or
    dot), except that a separator between two digits stays (as `p`, any spelling of it):
    `RegNetY-1.6GF`, `regnet_y_1_6gf` -> `regnety1p6gf`, apart from `regnety16gf`
    (RegNetY-16GF); `RESNEXT50-32X4D`, `resnext50_32x4d` -> `resnext50p32x4d`."""
    return re.sub(r"[\s_.-]", "", re.sub(r"(?<=\d)[\s_.-]+(?=\d)", "p", name.lower()))


def _entries():
    return {entry.name: entry for family in FAMILIES.values() for entry in family.models}


def list_models(pattern=None, pretrained=False):
    """The registered architecture names, sorted, e.g. `['resnet50', 'vgg16', ...]`.

    Args:
        pattern: None (all), or a shell-style pattern matched against the names, ignoring
            case (`"resnet*"`, `"*v2"`; `fnmatch` rules: `*`, `?`, `[seq]`).
        pretrained: bool, only the models with at least one published weight set
            (`list_weights(name)` not empty).

    Raises:
        TypeError: `pattern` is not a string or None, or `pretrained` is not a bool.

    Example:
        >>> cnnblocks.list_models("resnet*v2")
        ['resnet101v2', 'resnet152v2', 'resnet50v2']
    """
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError(f"`pattern` must be a string (e.g. 'resnet*') or None, received "
                        f"{check.describe(pattern)}.")
    if not isinstance(pretrained, bool):
        raise TypeError(f"`pretrained` must be True or False, received "
                        f"{check.describe(pretrained)}.")
    names = sorted(_entries())
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
    if pretrained:
        names = [n for n in names if list_weights(n)]
    return names


def list_weights(name):
    """The published weight sets of a model, as the `weights=` values that load them:
    `"imagenet"` (keras.applications' ImageNet files) where there is one, then the others
    (e.g. `"torchvision"`), e.g. `list_weights("resnet50") == ("imagenet", "torchvision")`.

    Args:
        name: a registered model name, in any spelling (see `canonical`).

    Raises:
        TypeError, ValueError: as `entry`.
    """
    found = entry(name)
    return (("imagenet",) if found.imagenet else ()) + tuple(found.pretrained)


def entry(name, arg="name"):
    """The `cnnblocks.family.ModelEntry` of a model name, in any spelling (see `canonical`).

    Raises:
        TypeError: `name` is not a string.
        ValueError: unknown name; the message lists close matches and the known models.
    """
    if not isinstance(name, str):
        raise TypeError(f"`{arg}` must be a model name (str), received {check.describe(name)}.")
    entries = _entries()
    by_canonical = {canonical(key): value for key, value in entries.items()}
    found = by_canonical.get(canonical(name))
    if found is None:
        close = difflib.get_close_matches(canonical(name), list(by_canonical), n=3, cutoff=0.5)
        if close:
            hint = (f" Did you mean {', '.join(repr(by_canonical[c].name) for c in close)}? "
                    "(`cnnblocks list` shows them all.)")
        else:
            hint = f" Known models: {', '.join(sorted(entries))}."
        raise ValueError(f"Unknown model {check.describe(name, 60)} (`{arg}`).{hint}")
    return found


def family_of(name):
    """The `cnnblocks.family.Family` a model name belongs to."""
    return FAMILIES[entry(name).family]


def create_model(model_name, **kwargs):
    """Builds a registered architecture by name.

    Unlike the builders, which default to `weights="imagenet"` where keras.applications does,
    `create_model` builds with random weights unless `weights` is given (the timm/torchvision
    convention for factories). A published weight set named in `weights` (e.g.
    `"torchvision"`) selects the structure it fits unless `variant` is given.

    Args:
        model_name: str, a name from `list_models()`, in any spelling (`"ResNet-50"`).
        **kwargs: passed to the builder (`include_top`, `weights`, `input_shape`, `name`, ...).

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: unknown name; the message lists close matches.
        TypeError: `model_name` is not a string, or a keyword is not an argument of the
            builder (named in the message).

    Example:
        >>> import cnnblocks
        >>> model = cnnblocks.create_model("resnet50", name="backbone")
        >>> model.name
        'backbone'
    """
    found = entry(model_name, "model_name")
    known = inspect.signature(found.builder).parameters
    open_ended = any(p.kind is p.VAR_KEYWORD for p in known.values())
    for arg in kwargs:
        if arg not in known and not open_ended:
            raise TypeError(f"`{arg}` is not an argument of {found.builder.__name__}; it takes "
                            f"{', '.join(known)}.")
    kwargs.setdefault("weights", None)
    weights = kwargs["weights"]
    if "variant" not in kwargs and isinstance(weights, str) and weights in found.pretrained:
        kwargs["variant"] = found.pretrained[weights].variant
    return found.builder(**kwargs)

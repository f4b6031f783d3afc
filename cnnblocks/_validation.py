"""Argument checks shared by every public function: blocks, builders, `create_model`, analysis,
diagrams, rewrites, `classify` and the layers.

Each check raises early with one short message that names the argument and echoes the value
received (`describe` keeps the echo short: an array or tensor is shown by its type and shape,
never its contents), so that a bad call never surfaces as a stack trace from deep inside Keras.
The rules: bools are bools (not truthy strings or 0/1); epsilons and other positive constants
are finite and > 0; names are non-empty strings without `/`; inputs are Keras tensors of the
right rank with a known channel count; activations are resolved up front; the scaling
arguments of the builders (`classes`, `alpha`, `depth_multiplier`) stay under the bounds below.
"""

import math
import numbers

import numpy as np


# Upper bounds of the builders' scaling arguments. They are sanity bounds, named here once and
# quoted in the builders' messages: far above every published configuration, low enough that
# a typo or a garbage value (`classes=99999999999`) is refused with one line instead of
# TensorFlow's out-of-memory error. A value under a bound can still exceed a small machine's
# memory: they bound the argument, not the model.

#: `classes`: one million. Above every public classification label set (ImageNet-21k: 21,841;
#: Google Landmarks v2: 203,094; MS-Celeb-1M: about 100,000 identities); a 1,000,000-way
#: classifier on ResNet-50's 2,048 features is already 2.0 billion weights (8 GB in float32).
MAX_CLASSES = 1_000_000
#: MobileNet v1/v2/v3 `alpha` (the width multiplier): 10. Published ones are 0.25 to 1.4; at 10
#: every layer is ten times wider: MobileNetV2 has 227 million weights instead of 3.5 million,
#: MobileNetV3-Large 422 million.
MAX_ALPHA = 10.0
#: MobileNet v1 `depth_multiplier` (depthwise filters per input channel): 64. keras.applications'
#: weights use 1; at 64 every pointwise convolution reads 64 times the channels (206 million
#: weights at alpha=1 instead of 4.3 million).
MAX_DEPTH_MULTIPLIER = 64
#: The largest magnitude a weight read from a file may have: 1e30. No trained network comes
#: near it (float32 overflows at 3.4e38: two such weights in a row overflow it), while random
#: bytes read as float32 exceed it about once in nine values (exponents of 2**100 and up): a
#: damaged tensor of a few dozen values is found even when none of its bytes reads as NaN.
MAX_WEIGHT_MAGNITUDE = 1e30


def describe(value, limit=80):
    """A short text for `value` in a message: arrays and tensors by type and shape, anything
    else by its repr, cut to `limit` characters."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (str, bytes, numbers.Number, np.generic)):
        try:
            shape = tuple(shape)
        except TypeError:
            shape = "?"
        return f"{type(value).__name__} of shape {shape}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def boolean(value, arg):
    """Returns `value` if it is a bool (`True`/`False`, NumPy's too), else TypeError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"`{arg}` must be True or False, received {describe(value)}.")


def positive_number(value, arg, *, allow_zero=False):
    """Returns `value` as a float if it is a finite real number > 0 (>= 0 with `allow_zero`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{arg}` must be a number, received {describe(value)}.")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{arg}` must be a finite number {bound}, received "
                         f"{describe(value)}.")
    return float(value)


def at_most(value, arg, bound, why):
    """Returns `value` if it is at most `bound` (one of the bounds above), else ValueError with
    the bound and the reason for it (`why`, a few words)."""
    if value > bound:
        shown = f"{bound:,}" if isinstance(bound, int) else f"{bound:g}"
        raise ValueError(f"`{arg}` must be at most {shown} ({why}); received "
                         f"{describe(value)}.")
    return value


def classes(value, arg="classes"):
    """Returns `value` as an int if it is a positive integer at most `MAX_CLASSES` (a
    classifier's size: the builders' and `cnnblocks convert`'s `classes`)."""
    return at_most(positive_int(value, arg), arg, MAX_CLASSES, "above every public label set")


def weight_values(array, *, variance=False):
    """What a weight array read from a file holds that no trained weight can, as a phrase
    ("holds 12 NaN or infinite values (of 1,728)"), or None when nothing is wrong.

    Checked: NaN and infinity; a magnitude above `MAX_WEIGHT_MAGNITUDE`; with `variance`
    (a batch norm's moving variance, a `Normalization`'s variance), a negative value. Arrays
    that are not floating point are not checked (their type is the caller's check).
    """
    values = np.asarray(array)
    if values.dtype.kind != "f":
        if "float" not in values.dtype.name:  # bfloat16 and float8 (ml_dtypes) are floats too
            return None
        values = values.astype(np.float32)
    if values.size == 0:
        return None
    finite = np.isfinite(values)
    if not finite.all():
        bad = values.size - int(np.count_nonzero(finite))
        return (f"holds {bad:,} NaN or infinite value{'s' if bad > 1 else ''} "
                f"(of {values.size:,})")
    low, high = float(values.min()), float(values.max())
    peak = max(high, -low)
    if peak > MAX_WEIGHT_MAGNITUDE:
        return (f"holds a value of magnitude {peak:.3g}, beyond {MAX_WEIGHT_MAGNITUDE:.0e} "
                "(no trained weight comes near it)")
    if variance and low < 0:
        return f"holds a negative variance ({low:.3g})"
    return None


def fraction(value, arg):
    """Returns `value` as a float in [0, 1) (a dropout or drop-connect rate)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{arg}` must be a number in [0, 1), received {describe(value)}.")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`{arg}` must be in [0, 1), received {describe(value)}.")
    return float(value)


def activation(value, arg="activation", *, allow_none=True):
    """Resolves an activation (a name Keras knows, a callable, or None) now, so that a typo is
    reported against `arg`; returns `value` unchanged."""
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"`{arg}` must be an activation name or callable, received None.")
    if isinstance(value, str):
        import keras
        try:
            keras.activations.get(value)
        except (ValueError, TypeError):
            raise ValueError(f"`{arg}` must be an activation Keras knows (e.g. 'relu', "
                             f"'softmax', 'linear') or None; received {value!r}.") from None
        return value
    if callable(value):
        return value
    raise TypeError(f"`{arg}` must be an activation name, a callable or None, received "
                    f"{describe(value)}.")


def initializer(value, arg="kernel_initializer"):
    """Resolves an initializer (a name Keras knows, a `keras.initializers` instance or its
    config dict, or a callable) now, so that a typo is reported against `arg`; returns `value`
    unchanged."""
    import keras
    # Keras also takes an array as a constant "initializer" of that exact shape: not here.
    if not isinstance(value, (str, dict)) and not callable(value):
        raise TypeError(f"`{arg}` must be an initializer name, instance or config, received "
                        f"{describe(value)}.")
    try:
        keras.initializers.get(value)
    except Exception:  # Keras raises ValueError or TypeError, or fails deeper on odd values
        raise ValueError(f"`{arg}` must be an initializer Keras knows (e.g. 'glorot_uniform', "
                         f"'he_normal'), an instance or its config; received "
                         f"{describe(value)}.") from None
    return value


def positive_int(value, arg):
    """Returns `value` as an int, or raises if it is not a positive integer.

    Args:
        value: the value received.
        arg: the argument's name, used in the message.

    Raises:
        TypeError: `value` is not an integer (booleans and floats are refused).
        ValueError: `value` is zero or negative.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{arg}` must be a positive integer, received {describe(value)} "
                        f"(type {type(value).__name__}).")
    if value <= 0:
        raise ValueError(f"`{arg}` must be a positive integer, received {describe(value)}.")
    return int(value)


def positive_ints(values, arg):
    """Returns a tuple of positive ints from an int or a sequence of ints."""
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        return (positive_int(values, arg),)
    if not isinstance(values, (list, tuple)) or not values:
        raise TypeError(f"`{arg}` must be a positive integer or a non-empty list of them, "
                        f"received {describe(values)}.")
    return tuple(positive_int(v, f"{arg}[{i}]") for i, v in enumerate(values))


def pair(value, arg):
    """Returns a 2-tuple of positive ints from an int or a pair (strides, kernel sizes)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"`{arg}` must be an integer or a pair of integers, "
                             f"received {describe(value)}.")
        return (positive_int(value[0], arg), positive_int(value[1], arg))
    try:
        v = positive_int(value, arg)
    except TypeError:
        raise TypeError(f"`{arg}` must be a positive integer or a pair of them, "
                        f"received {describe(value)}.") from None
    return (v, v)


def choice(value, arg, choices):
    """Returns `value` if it is one of `choices`, else raises ValueError listing them.

    A value matches a choice only if it is that choice or an equal value of its type (a str
    for a string choice): an array, a list or a bool never matches (`np.array(["avg"]) in
    ("avg",)` is true in Python, but the array is not the string)."""
    if not any(_is_choice(value, c) for c in choices):
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{arg}` must be one of {allowed}; received {describe(value)}.")
    return value


def _is_choice(value, option):
    if value is option:
        return True
    if option is None or isinstance(value, bool) != isinstance(option, bool) \
            or not isinstance(value, type(option)):
        return False
    try:
        return bool(value == option)
    except (TypeError, ValueError):
        return False


def nonempty_str_or_none(value, arg):
    """Returns `value` if it is None or a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"`{arg}` must be a non-empty string or None, received "
                        f"{describe(value)}.")
    return value


def image_tensor(x, arg="x"):
    """Checks that `x` is a symbolic Keras tensor of rank 4 (batch, height, width, channels)
    and returns its shape."""
    import keras
    if not keras.utils.is_keras_tensor(x):
        raise TypeError(f"`{arg}` must be a Keras tensor of rank 4 (e.g. from keras.Input), "
                        f"received {describe(x)}.")
    shape = tuple(x.shape)
    if len(shape) != 4:
        raise ValueError(f"`{arg}` must be a rank-4 tensor (batch, height, width, channels); "
                         f"received a tensor of shape {shape}.")
    return shape


def layer_prefix(value, arg="name"):
    """Returns `value` if it is None or a usable layer name (prefix): a non-empty string
    without `/` (Keras refuses `/` in layer names)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"`{arg}` must be a non-empty string or None, received "
                        f"{describe(value)}.")
    if "/" in value:
        raise ValueError(f"`{arg}` must not contain '/', received {describe(value)}.")
    return value

"""Argument checks shared by every block and builder.

Each check raises early with a message that names the argument and echoes the value received,
so that a bad call never surfaces as a stack trace from deep inside Keras.
"""

import numbers


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
        raise TypeError(f"`{arg}` must be a positive integer, received {value!r} "
                        f"(type {type(value).__name__}).")
    if value <= 0:
        raise ValueError(f"`{arg}` must be a positive integer, received {value!r}.")
    return int(value)


def positive_ints(values, arg):
    """Returns a tuple of positive ints from an int or a sequence of ints."""
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        return (positive_int(values, arg),)
    if not isinstance(values, (list, tuple)) or not values:
        raise TypeError(f"`{arg}` must be a positive integer or a non-empty list of them, "
                        f"received {values!r}.")
    return tuple(positive_int(v, f"{arg}[{i}]") for i, v in enumerate(values))


def pair(value, arg):
    """Returns a 2-tuple of positive ints from an int or a pair (strides, kernel sizes)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"`{arg}` must be an integer or a pair of integers, "
                             f"received {value!r}.")
        return (positive_int(value[0], arg), positive_int(value[1], arg))
    try:
        v = positive_int(value, arg)
    except TypeError:
        raise TypeError(f"`{arg}` must be a positive integer or a pair of them, "
                        f"received {value!r}.") from None
    return (v, v)


def choice(value, arg, choices):
    """Returns `value` if it is one of `choices`, else raises ValueError listing them."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{arg}` must be one of {allowed}; received {value!r}.")
    return value


def nonempty_str_or_none(value, arg):
    """Returns `value` if it is None or a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"`{arg}` must be a non-empty string or None, received {value!r}.")
    return value


def image_tensor(x, arg="x"):
    """Checks that `x` is a rank-4 tensor (batch, height, width, channels) and returns its shape."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"`{arg}` must be a Keras tensor of rank 4 (e.g. from keras.Input), "
                        f"received {type(x).__name__}: {x!r:.80}.")
    shape = tuple(shape)
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
        raise TypeError(f"`{arg}` must be a non-empty string or None, received {value!r}.")
    if "/" in value:
        raise ValueError(f"`{arg}` must not contain '/', received {value!r}.")
    return value

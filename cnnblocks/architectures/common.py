"""What every architecture builder shares: the keras.applications argument contract (input
resolution, validation), the classification head, and weight loading.

Each family module is a spec table plus one builder that calls, in order:
`check_builder_args`, `model_input`, its blocks, `classifier` (or its own top), and `finish`.
"""

import importlib
import os

import keras
from keras import layers

from cnnblocks import _validation as check
from cnnblocks import weights as weight_files
from cnnblocks.blocks.common import resolve_data_format

POOLINGS = (None, "avg", "max")


def check_builder_args(*, include_top, weights, pooling, classes, classifier_activation,
                       weights_key):
    """Validates the arguments every builder shares, as keras.applications does.

    Args:
        weights_key: the model's key in `cnnblocks.weights.IMAGENET` (e.g. `"resnet50"`);
            a key not in that table means no ImageNet weights exist for the model.

    Returns:
        `classes` as an int.

    Raises:
        ValueError / TypeError naming the argument and the value received.
    """
    if not isinstance(include_top, bool):
        raise TypeError(f"`include_top` must be a bool, received {include_top!r}.")
    if weights not in (None, "imagenet") and not (
            isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)):
        raise ValueError("`weights` must be None (random initialization), 'imagenet' or the "
                         f"path of an existing weight file; received {weights!r}.")
    if weights == "imagenet" and weights_key not in weight_files.IMAGENET:
        raise ValueError("`weights='imagenet'` is not available for this model: no ImageNet "
                         "weights in keras.applications' format are published for it. Use "
                         "weights=None or the path of a weight file you trained.")
    check.choice(pooling, "pooling", POOLINGS)
    classes = check.positive_int(classes, "classes")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("With `weights='imagenet'` and `include_top=True`, `classes` must be "
                         f"1000; received classes={classes}.")
    if weights == "imagenet" and include_top and classifier_activation not in (None, "softmax"):
        raise ValueError("With `weights='imagenet'` and `include_top=True`, "
                         "`classifier_activation` must be None or 'softmax'; received "
                         f"{classifier_activation!r}.")
    return classes


def input_shape_for(input_shape, *, default_size, min_size, data_format, require_static,
                    weights):
    """Resolves the image shape as keras.applications does, with clear errors.

    Args:
        input_shape: None or a 3-tuple (H, W, C) / (C, H, W).
        default_size: the ImageNet training size (224 or 299).
        min_size: the smallest height/width the network accepts.
        data_format: resolved data format.
        require_static: True when a classifier is attached (height and width must be known).
        weights: the `weights` argument (ImageNet weights need 3 channels, and with a top
            the default size).

    Returns:
        The 3-tuple shape for `keras.Input`.
    """
    last = data_format == "channels_last"
    default = (default_size, default_size, 3) if last else (3, default_size, default_size)
    if input_shape is None:
        if not require_static:
            return (None, None, 3) if last else (3, None, None)
        return default
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3:
        raise ValueError("`input_shape` must be a tuple of 3 integers (height, width, "
                         f"channels); received {input_shape!r}.")
    shape = tuple(input_shape)
    for dim in shape:
        if dim is not None:
            check.positive_int(dim, "input_shape")
    channels = shape[-1] if last else shape[0]
    spatial = shape[:2] if last else shape[1:]
    if channels is None:
        raise ValueError(f"`input_shape` must give the channel count; received {shape!r}.")
    if weights == "imagenet" and channels != 3:
        raise ValueError("ImageNet weights need 3 input channels; received "
                         f"input_shape={shape!r}.")
    if weights == "imagenet" and require_static and shape != default:
        raise ValueError("With `weights='imagenet'` and `include_top=True`, `input_shape` must "
                         f"be {default}; received {shape!r}.")
    if require_static and None in spatial:
        raise ValueError("With `include_top=True`, `input_shape` must be static (no None "
                         f"height or width); received {shape!r}.")
    for dim in spatial:
        if dim is not None and dim < min_size:
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; received "
                             f"input_shape={shape!r}.")
    return shape


def model_input(input_tensor, input_shape, *, default_size, min_size, include_top, weights,
                weights_key, data_format=None):
    """Returns `(inputs, x, data_format, channel_axis)` for a builder.

    `inputs` is what `keras.Model` takes (the source inputs of `input_tensor`, or a new
    `keras.Input` named `input_layer`), `x` the image tensor the network starts from.

    With `weights="imagenet"` the weight file is looked up here (and downloaded when missing),
    after every argument is validated and before any layer is built, so a machine without the
    file gets its `cnnblocks.weights.WeightsUnavailableError` at once.
    """
    data_format, axis = resolve_data_format(data_format)
    if input_tensor is not None and input_shape is None:
        input_shape = tuple(input_tensor.shape[1:]) if hasattr(input_tensor, "shape") else None
    shape = input_shape_for(input_shape, default_size=default_size, min_size=min_size,
                            data_format=data_format, require_static=include_top, weights=weights)
    if weights == "imagenet":
        weight_files.imagenet_file(weights_key, include_top)
    if input_tensor is None:
        x = keras.Input(shape=shape, name="input_layer")
        return x, x, data_format, axis
    if not keras.utils.is_keras_tensor(input_tensor):
        x = keras.Input(tensor=input_tensor, shape=shape, name="input_layer")
        return x, x, data_format, axis
    return keras.utils.get_source_inputs(input_tensor), input_tensor, data_format, axis


def classifier(x, *, include_top, pooling, classes, classifier_activation, data_format):
    """The global-pooling head of ResNet, Xception, InceptionV3 and GoogLeNet.

    With a top: `avg_pool` (GlobalAveragePooling2D) then `predictions` (Dense). Without:
    `avg_pool` or `max_pool` as `pooling` says, or the feature map itself.
    """
    if include_top:
        x = layers.GlobalAveragePooling2D(data_format=data_format, name="avg_pool")(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(data_format=data_format, name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(data_format=data_format, name="max_pool")(x)
    return x


def finish(inputs, outputs, *, name, weights, weights_key, include_top):
    """Makes the `keras.Model` and loads `weights` (None, 'imagenet' or a path) into it."""
    model = keras.Model(inputs, outputs, name=name)
    if weights == "imagenet":
        weight_files.load_into(model, weight_files.imagenet_file(weights_key, include_top))
    elif weights is not None:
        weight_files.load_into(model, weights)
    return model


def keras_imagenet_utils(app, preprocessing):
    """A family's `preprocess_input` and `decode_predictions`: keras.applications' public
    functions of module `keras.applications.<app>`, re-exported (imported on first call).

    Args:
        app: str, e.g. `"resnet"`, `"xception"`.
        preprocessing: str, what the family's preprocessing does, for the docstring.

    Returns:
        The pair `(preprocess_input, decode_predictions)`.
    """
    def preprocess_input(x, data_format=None):
        module = importlib.import_module(f"keras.applications.{app}")
        return module.preprocess_input(x, data_format=data_format)

    def decode_predictions(preds, top=5):
        module = importlib.import_module(f"keras.applications.{app}")
        return module.decode_predictions(preds, top=top)

    preprocess_input.__doc__ = f"keras.applications.{app}.preprocess_input: {preprocessing}."
    decode_predictions.__doc__ = ("keras.applications' ImageNet decoding: "
                                  "[(class_id, name, probability), ...] per row.")
    return preprocess_input, decode_predictions

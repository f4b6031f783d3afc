"""The builder kit every architecture uses: one call, `build`, from arguments to model.

A public builder (`ResNet50`, `VGG16`, ...) is a plain function with keras.applications'
signature and its docstring written out; its body is one `build(...)` call with the family's
trunk function. `build` does, in order:

1. the argument checks every builder shares (`check_builder_args`), with `weights` resolved
   once: None, a weight file's path, keras.applications' ImageNet file or another published
   weight set of the model (`"torchvision"`; looked up in the Keras cache, checked against its
   published hash, downloaded when missing) before anything is built;
2. the input (`model_input`): a new `keras.Input` named `input_layer` in every build
   (keras.applications' name in a fresh session; Keras would number it `input_layer_1`, ...
   build after build), or the given `input_tensor`;
3. the trunk: the family's `body(x, ctx)`, made of blocks and recorded regions;
4. the head: the family's own or `global_pool_head`, recorded as the region `head`;
5. the model: `keras.Model`, its model record (family, registry name, variant, feature taps)
   and the weights (a PyTorch state dict is converted, see `cnnblocks.torch_weights`).
"""

import dataclasses
import functools
import inspect
import os

import keras
from keras import layers

from cnnblocks import _graph
from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import identity, torch_weights
from cnnblocks import weights as weight_files
from cnnblocks.blocks.common import resolve_data_format
from cnnblocks.family import KERAS_VARIANT

POOLINGS = (None, "avg", "max")


@dataclasses.dataclass
class BuildContext:
    """What a family's trunk and head functions get besides the tensor.

    Attributes:
        data_format: `"channels_last"` or `"channels_first"`.
        axis: the channel axis (-1 or 1).
        include_top, pooling, classes, classifier_activation: the builder's arguments.
        options: the family-specific options the builder passed to `build`.
        taps: `{"C2": layer name, ...}`, filled by `tap`.
        variant: the structure to build, one of the entry's `variants` (`"keras"`,
            `"torchvision"`).
    """

    data_format: str
    axis: int
    include_top: bool
    pooling: object
    classes: int
    classifier_activation: object
    options: dict
    taps: dict = dataclasses.field(default_factory=dict)
    variant: str = KERAS_VARIANT

    def tap(self, stage, tensor_or_layer_name):
        """Records the feature-stage output `stage` ("C2" ... "C5"): a tensor (its layer) or a
        layer name."""
        if isinstance(tensor_or_layer_name, str):
            self.taps[stage] = tensor_or_layer_name
        else:
            self.taps[stage] = _graph.history(tensor_or_layer_name)[0].name


def check_builder_args(*, include_top, weights, pooling, classes, classifier_activation, entry,
                       variant=KERAS_VARIANT):
    """Validates the arguments every builder shares, as keras.applications does.

    `weights` is None, `"imagenet"` (keras.applications' file: the `"keras"` variant), the name
    of one of the entry's published weight sets (`entry.pretrained`, e.g. `"torchvision"`: the
    variant its record names) or the path of an existing file.

    Returns:
        `classes` as an int.

    Raises:
        ValueError / TypeError naming the argument and the value received.
    """
    check.boolean(include_top, "include_top")
    check.choice(variant, "variant", entry.variants)
    named = isinstance(weights, str) and (weights == "imagenet" or weights in entry.pretrained)
    if weights is not None and not named and not (
            isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)):
        sets = "".join(f", {name!r}" for name in entry.pretrained)
        raise ValueError(f"`weights` must be None (random initialization), 'imagenet'{sets} or "
                         f"the path of an existing weight file; received "
                         f"{check.describe(weights)}.")
    if weights == "imagenet" and entry.imagenet is None:
        others = (f" Published weights for it: {', '.join(map(repr, entry.pretrained))}."
                  if entry.pretrained else "")
        raise ValueError(f"`weights='imagenet'` is not available for {entry.name}: no ImageNet "
                         "weights in keras.applications' format are published for it. Use "
                         f"weights=None or the path of a weight file you trained.{others}")
    fits = KERAS_VARIANT if weights == "imagenet" else (
        entry.pretrained[weights].variant if named else variant)
    if variant != fits:
        others = [repr(n) for n, c in entry.pretrained.items() if c.variant == variant]
        if variant == KERAS_VARIANT and entry.imagenet is not None:
            others.insert(0, "'imagenet'")
        alternative = f" or weights={' / '.join(others + ['None'])}"
        raise ValueError(f"`weights={weights!r}` fit the {fits!r} structure of {entry.name}, "
                         f"not variant={variant!r}: pass variant={fits!r}{alternative}.")
    check.choice(pooling, "pooling", POOLINGS)
    classes = check.classes(classes)
    check.activation(classifier_activation, "classifier_activation")
    expected = 1000 if weights == "imagenet" else (
        entry.pretrained[weights].num_classes if named else None)
    if named and include_top and classes != expected:
        raise ValueError(f"With `weights={weights!r}` and `include_top=True`, `classes` must be "
                         f"{expected}; received classes={classes}.")
    if named and include_top and classifier_activation not in (None, "softmax"):
        raise ValueError(f"With `weights={weights!r}` and `include_top=True`, "
                         "`classifier_activation` must be None or 'softmax'; received "
                         f"{classifier_activation!r}.")
    return classes


def input_shape_for(input_shape, *, default_size, min_size, data_format, require_static,
                    weights, arg="input_shape"):
    """Resolves the image shape as keras.applications does, with clear errors.

    Args:
        input_shape: None or a 3-tuple (H, W, C) / (C, H, W).
        default_size: the ImageNet training size (224 or 299).
        min_size: the smallest height/width the network accepts.
        data_format: resolved data format.
        require_static: True when a classifier is attached (height and width must be known).
        weights: the `weights` argument (ImageNet weights need 3 channels, and with a top
            the default size).
        arg: where the shape comes from, for the messages: `"input_shape"`, or
            `"input_tensor"` when it is the shape of the given tensor.

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
                         f"channels); received {check.describe(input_shape)}.")
    shape = tuple(input_shape)
    for dim in shape:
        if dim is not None:
            check.positive_int(dim, "input_shape")
    # What the messages call the shape, and how they echo it.
    what = "`input_shape`" if arg == "input_shape" else f"`{arg}`'s image shape"
    echo = (f"`input_shape={check.describe(shape)}`" if arg == "input_shape" else
            f"`{arg}` with image shape {check.describe(shape)}")
    channels = shape[-1] if last else shape[0]
    spatial = shape[:2] if last else shape[1:]
    if channels is None:
        raise ValueError(f"{what} must give the channel count; received "
                         f"{check.describe(shape)}.")
    if weights == "imagenet" and channels != 3:
        raise ValueError(f"ImageNet weights need 3 input channels; received {echo}.")
    if weights == "imagenet" and require_static and shape != default:
        raise ValueError(f"With `weights='imagenet'` and `include_top=True`, {what} must "
                         f"be {default}; received {check.describe(shape)}.")
    if require_static and None in spatial:
        raise ValueError(f"With `include_top=True`, {what} must be static (no None "
                         f"height or width); received {check.describe(shape)}.")
    for dim in spatial:
        if dim is not None and dim < min_size:
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; received "
                             f"{echo}.")
    return shape


#: The name of a built model's input layer: keras.applications' (`keras.Input`'s default in a
#: fresh session), the same in every build.
INPUT_NAME = "input_layer"


def estimate_start(point, input_shape, variant, *, min_size):
    """An estimator's checks before its walk, as the builder makes them: `variant` among
    `point.variants` (None: the first) and `input_shape` at least `min_size` square. Returns
    `(variant, cost.Tally(input_shape))`."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    input_shape = input_shape_for(input_shape, default_size=point.default_size,
                                  min_size=min_size, data_format="channels_last",
                                  require_static=True, weights=None)
    return variant, cost.Tally(input_shape)


def default_name(entry):
    """The model name a builder gives by default (its `name` argument's default; the registry
    name where the builder has none), used for `name=None` as keras.applications' builders
    name their models."""
    try:
        default = inspect.signature(entry.builder).parameters["name"].default
    except (KeyError, TypeError, ValueError):
        default = None
    return default if isinstance(default, str) and default else entry.name


def model_input(input_tensor, shape):
    """Returns `(inputs, x)` for a builder: what `keras.Model` takes (the source inputs of
    `input_tensor`, or a new `keras.Input` of `shape` named `INPUT_NAME`) and the image
    tensor."""
    if input_tensor is None:
        x = keras.Input(shape=shape, name=INPUT_NAME)
        return x, x
    return keras.utils.get_source_inputs(input_tensor), input_tensor


def global_pool_head(x, ctx, dropout=None):
    """The global-pooling head of ResNet, Xception, InceptionV3 and most others.

    With a top: `avg_pool` (GlobalAveragePooling2D), a `dropout` layer of rate `dropout`
    unless it is None (torchvision's GoogLeNet, Inception-V3, MobileNetV2, MNASNet; training
    only), then `predictions` (Dense). Without: `avg_pool` or `max_pool` as `pooling` says.
    """
    if ctx.include_top:
        x = layers.GlobalAveragePooling2D(data_format=ctx.data_format, name="avg_pool")(x)
        if dropout is not None:
            x = layers.Dropout(dropout, name="dropout")(x)
        return layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                            name="predictions")(x)
    return global_pooling(x, ctx)


def global_pooling(x, ctx):
    """`avg_pool` or `max_pool` global pooling as `ctx.pooling` says (no top)."""
    if ctx.pooling == "avg":
        return layers.GlobalAveragePooling2D(data_format=ctx.data_format, name="avg_pool")(x)
    return layers.GlobalMaxPooling2D(data_format=ctx.data_format, name="max_pool")(x)


def build(entry, body, *, include_top, weights, input_tensor, input_shape, pooling, classes,
          classifier_activation, name, min_size, head=global_pool_head, checks=None,
          options=None, static_top=True, variant=KERAS_VARIANT):
    """Builds a registered architecture: checks, input, trunk, head, model, weights.

    Args:
        entry: the model's `cnnblocks.family.ModelEntry`.
        body: `body(x, ctx) -> x` or `-> (x, extra_outputs)`: the trunk, from the image tensor
            to the last feature map (blocks and recorded regions), `ctx` a `BuildContext`.
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation, name: the builder's arguments (keras.applications').
        min_size: the smallest input height and width.
        head: `head(x, ctx)`: the classifier (or the global pooling without a top). Default
            `global_pool_head`.
        checks: optional callable run first, for the family's own arguments.
        options: dict of the family's own arguments, passed to `body` as `ctx.options`.
        static_top: bool, whether a top needs a static input size (True: the input defaults
            to `entry.default_size` and must be static with a top, and the default size with
            ImageNet weights). False for a head that takes any size (MobileNetV3's: global
            pooling, then 1x1 convolutions): the input then defaults to `(None, None, 3)`
            with or without a top, as keras.applications' MobileNetV3. Default True.
        variant: the builder's `variant` (one of `entry.variants`), passed to `body` and `head`
            as `ctx.variant` and kept in the model record. Default `"keras"`.

    Returns:
        The `keras.Model`.
    """
    if checks is not None:
        checks()
    classes = check_builder_args(include_top=include_top, weights=weights, pooling=pooling,
                                 classes=classes, classifier_activation=classifier_activation,
                                 entry=entry, variant=variant)
    check.layer_prefix(name, "name")
    if name is None:
        name = default_name(entry)
    data_format, axis = resolve_data_format(None)
    if input_tensor is not None:
        if not keras.utils.is_keras_tensor(input_tensor):
            raise TypeError("`input_tensor` must be None or a Keras tensor (e.g. keras.Input(...)"
                            f" or a layer's output); received {check.describe(input_tensor)}.")
        given = tuple(input_tensor.shape[1:])
        if len(given) != 3:
            raise ValueError("`input_tensor` must be a batch of images (rank 4); received a "
                             f"tensor of shape {tuple(input_tensor.shape)}.")
        if input_shape is not None and (
                not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3 or any(
                    a is not None and b is not None and a != b
                    for a, b in zip(input_shape, given))):
            raise ValueError(f"`input_shape` {check.describe(input_shape)} conflicts with "
                             f"`input_tensor`'s shape {given}; give one of them.")
    source = "input_shape"
    if input_tensor is not None and input_shape is None:
        input_shape, source = given, "input_tensor"
    shape = input_shape_for(input_shape, default_size=entry.default_size, min_size=min_size,
                            data_format=data_format, require_static=include_top and static_top,
                            weights=weights, arg=source)
    # The weight file is found (and checked) before anything is built: offline, the error
    # comes at once.
    try:
        weight_path = weight_files.resolve(weights, entry, include_top)
    except weight_files.WeightFileError as err:
        raise weight_files.WeightFileError(f"`weights`: {err}") from None
    taken = set()
    if input_tensor is not None:  # names of other models built on the same input so far
        taken = identity.recorded_layer_names(input_tensor) - {
            op.name for op in _graph.ancestors(input_tensor)}
    inputs, x = model_input(input_tensor, shape)
    ctx = BuildContext(data_format=data_format, axis=axis, include_top=include_top,
                       pooling=pooling, classes=classes,
                       classifier_activation=classifier_activation, options=dict(options or {}),
                       variant=variant)
    x = body(x, ctx)
    x, extra = x if isinstance(x, tuple) else (x, [])
    if include_top or pooling is not None:
        with identity.region(x, "head", "head", args=_head_args(ctx)) as region:
            x = region.done(head(x, ctx))
    outputs = [x, *extra] if extra else x
    model = keras.Model(inputs, outputs, name=name)
    if taken:
        _check_no_clash(model, taken, input_tensor, entry)
    identity.record_model(inputs, family=entry.family, model=entry.name, variant=variant,
                          taps=ctx.taps)
    if weight_path is not None:
        load_torch = functools.partial(_load_torch, entry=entry, variant=variant)
        try:
            weight_files.load(model, weights, weight_path, entry, load_torch=load_torch)
        except weight_files.WeightFileError as err:
            raise weight_files.WeightFileError(f"`weights`: {err}") from None
    return model


def _check_no_clash(model, taken, input_tensor, entry):
    """ValueError if the model built on `input_tensor` has layers named as those of another
    model built on the same input (keras.applications' names: `avg_pool`, `predictions`,
    `conv1_pad` are in several families): Keras refuses two layers of one name in one model,
    so the two could never be combined flat."""
    upstream = {op.name for op in _graph.ancestors(input_tensor)}
    clash = sorted(({layer.name for layer in model.layers} - upstream) & taken)
    if clash:
        shown = ", ".join(repr(n) for n in clash[:5]) + (", ..." if len(clash) > 5 else "")
        raise ValueError(
            f"`input_tensor`: {entry.name} would have layers named as those of another model "
            f"already built on this input ({shown}; {len(clash)} in all); Keras refuses two "
            "layers of one name in one model. Build it without `input_tensor` and call it "
            f"on the tensor instead (`model(input_tensor)` nests it under its name "
            f"{model.name!r}).")


def _load_torch(model, path, *, entry, variant):
    """`weights.load`'s converter: a PyTorch state dict into a freshly built model, by its
    entry's layout for `variant`."""
    return torch_weights.load(model, path, torch_weights.layout_for(entry, variant, model.name))


def _head_args(ctx):
    if ctx.include_top:
        return {"classes": ctx.classes, "activation": ctx.classifier_activation}
    return {"pooling": ctx.pooling}


def max_pool_region(x, name, ctx, *, pool_size=3, strides=2, padding="valid", pad=0,
                    pool_name=None, extra=None):
    """A recorded `max_pool` region `name`: optional zero padding (`{name}_pad`), max pooling
    (`pool_name`, default `{name}_pool`), then `extra` (a callable on the tensor, e.g. an
    LRN)."""
    with identity.region(x, "max_pool", name,
                         args={"pool_size": pool_size, "strides": strides},
                         label=f"max {pool_size}x{pool_size} /{strides}") as region:
        y = x
        if pad:
            y = layers.ZeroPadding2D(pad, data_format=ctx.data_format, name=f"{name}_pad")(y)
        y = layers.MaxPooling2D(pool_size, strides=strides, padding=padding,
                                data_format=ctx.data_format,
                                name=pool_name or f"{name}_pool")(y)
        if extra is not None:
            y = extra(y)
        return region.done(y)

"""Model-parallel layouts for `keras.distribution`, written from a model's real variable paths.

`keras.distribution.ModelParallel` (JAX backend) places each variable by looking its path up
in a `keras.distribution.LayoutMap` of regular expressions; a variable no key matches is
replicated on every device, silently. Keras' documented example keys (`.*conv2d.*kernel`,
`.*dense.*kernel`) assume Keras' automatic layer names: they match no variable of a cnnblocks
model (`conv2_block1_1_conv/kernel`, `predictions/kernel`), so such a map shards nothing.

`layout_map(model, mesh)` builds the map from the variables the model actually has, chosen by
layer type, and `check_layout_map(layout_map, model)` refuses a map with a key that matches no
variable of the model. Both work on every backend (they only read the model); the
distribution they feed trains on JAX (Keras 3.15: `ModelParallel` and `DataParallel` are
implemented for JAX only).

Which dimension is split over the mesh axis `axis` (default `"model"`), by layer type:

- `Conv1D/2D/3D`: kernel `(..., in, out)` and bias `(out,)` on the output channels;
- `Conv1DTranspose/2D/3D`: kernel `(..., out, in)` and bias on the output channels;
- `DepthwiseConv1D/2D`: kernel `(..., in, multiplier)` on the input channels (the output
  groups), bias `(in * multiplier,)`;
- `SeparableConv1D/2D`: depthwise kernel on the input channels, pointwise kernel
  `(1, ..., in * m, out)` and bias on the output channels;
- `Dense`: kernel `(in, out)` and bias on the output units;
- `BatchNormalization`: gamma, beta, moving mean and variance `(channels,)` on the channels;

so a convolution and the batch norm after it are split the same way. A dimension that the axis
size does not divide stays replicated (e.g. a 10-class head on 4 devices): JAX cannot split it
evenly.

Example:
    >>> import keras
    >>> import cnnblocks
    >>> from cnnblocks import distribution
    >>> model = cnnblocks.ResNet18(weights=None, input_shape=(32, 32, 3), classes=10)
    >>> mesh = keras.distribution.DeviceMesh((1, 2), ("batch", "model"),
    ...                                      devices=["cpu:0", "cpu:1"])
    >>> layouts = distribution.layout_map(model, mesh)
    >>> layouts["conv1_conv/kernel"].axes
    (None, None, None, 'model')
    >>> layouts["conv1_bn/moving_mean"].axes
    ('model',)

Then, on JAX, build the model again under
`keras.distribution.ModelParallel(layout_map=layouts, batch_dim_name="batch")` (in its `scope()`
or after `keras.distribution.set_distribution`): variables take their layouts when they are
created, and cnnblocks' layer names (so the paths) are the same in every build.
"""

import re

import keras

__all__ = ["layout_map", "check_layout_map", "variable_paths"]

_KINDS = ("conv", "dense", "batchnorm")


def _all_layers(model, prefix=""):
    """`(layer, where)` for every layer, nested models' layers included (not the nested models
    themselves); `where` names the layer with its nested models (`"backbone/conv1"`)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer, f"{prefix}{layer.name}/")
        else:
            yield layer, prefix + layer.name


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, received {model!r:.80}.")
    if not model.built or not model.weights:
        raise ValueError(f"`model` must be a built model with variables, received "
                         f"{model.name!r} ({'not built' if not model.built else 'no variables'}).")
    return model


def variable_paths(model):
    """The paths of the model's variables (`variable.path`), in creation order: what the keys
    of a `keras.distribution.LayoutMap` are matched against (`re.fullmatch`)."""
    _check_model(model)
    return [v.path for v in model.weights]


def _sharded_dim(layer, name, kinds):
    """The dimension of `layer`'s variable `name` that holds its output channels, or None."""
    layers = keras.layers
    if "conv" in kinds:
        if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
            return {"kernel": -2, "bias": 0}.get(name)
        if isinstance(layer, (layers.SeparableConv1D, layers.SeparableConv2D)):
            return {"depthwise_kernel": -2, "pointwise_kernel": -1, "bias": 0}.get(name)
        if isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose,
                              layers.Conv3DTranspose)):
            return {"kernel": -2, "bias": 0}.get(name)
        if isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
            return {"kernel": -1, "bias": 0}.get(name)
    if "dense" in kinds and isinstance(layer, layers.Dense):
        return {"kernel": -1, "bias": 0}.get(name)
    if "batchnorm" in kinds and isinstance(layer, layers.BatchNormalization):
        return 0 if name in ("gamma", "beta", "moving_mean", "moving_variance") else None
    return None


def _regex(pattern, arg):
    """`pattern` compiled, or a ValueError naming `arg` and echoing the pattern."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"`{arg}` key {pattern!r:.80} is not a valid regular expression "
                         f"({exc.msg} at position {exc.pos}).") from None


def _matches(pattern, paths, arg):
    regex = _regex(pattern, arg)
    return [p for p in paths if p == pattern or regex.fullmatch(p)]


def _shared_path_error(path, first, second):
    """Two distinct variables with one path that need different layouts: `first` and `second`
    are `(where, axes)`."""
    return ValueError(
        f"`model` has layers {first[0]!r} and {second[0]!r} with one variable path {path!r} "
        f"but different layouts ({first[1]} vs {second[1]}): keras.distribution gives one "
        "layout per path. Give the layers distinct names, or build each nested model in "
        "`keras.name_scope(name)`.")


def _pattern_error(pattern, paths):
    examples = ", ".join(paths[:4])
    return ValueError(f"Layout key {pattern!r} matches no variable of the model, so it would "
                      f"shard nothing (variables are matched by path with re.fullmatch, e.g. "
                      f"{examples}; `cnnblocks.distribution.variable_paths(model)` lists them "
                      "all).")


def layout_map(model, mesh, *, axis="model", kinds=_KINDS, patterns=None):
    """A `keras.distribution.LayoutMap` that shards `model`'s variables on one mesh axis, chosen
    by layer type (see the module docstring for the dimension of each).

    Every key is an exact variable path of `model` (escaped: `re.escape(path)`), so each key
    matches one path, and `ModelParallel` shards what the map says. Keras creates variables
    with the path of their layer, not of the nested model around it: two nested models with
    same-named layers give two variables one path (`dense/kernel`), and `ModelParallel` gives
    both the layout of that one key. Where they need the same layout that is what the map
    holds; where they need different ones (other layer types or shapes) the map is refused,
    naming both layers.

    Args:
        model: a built `keras.Model` (a cnnblocks model or any other); its variables are
            read, not changed. The model to train is built again under the distribution:
            its layer names, and so its variable paths, must be the same (cnnblocks' are).
        mesh: `keras.distribution.DeviceMesh`, e.g. `DeviceMesh((1, 2), ("batch", "model"))`.
        axis: str, the mesh axis the variables are split over. Default `"model"`.
        kinds: which layer types to shard: a tuple of `"conv"` (every convolution kind),
            `"dense"`, `"batchnorm"`. Default all three.
        patterns: None, or a dict `{regex: axes}` of extra layouts (axes: a tuple of mesh axis
            names or None per dimension, as `LayoutMap` takes them). Each is checked against
            the model's variable paths: a pattern that matches no variable, or a variable of
            another rank, is refused. The variables a pattern matches are left to it (the
            type rules skip them). Default None.

    Returns:
        A `keras.distribution.LayoutMap` on `mesh`. Variables it has no key for (and those whose
        dimension the axis size does not divide) stay replicated.

    Raises:
        TypeError / ValueError: bad arguments (named, with the value received); a pattern that
            is not a valid regular expression, matches no variable of the model, or matches
            one of another rank; two variables of one path that need different layouts.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> model = cnnblocks.VGG11(weights=None, input_shape=(32, 32, 3), classes=10)
        >>> mesh = keras.distribution.DeviceMesh((2,), ("model",), devices=["cpu:0", "cpu:1"])
        >>> layouts = cnnblocks.distribution.layout_map(model, mesh, kinds=("dense",))
        >>> sorted(layouts)[:2]
        ['fc1/bias', 'fc1/kernel']
    """
    _check_model(model)
    if not isinstance(mesh, keras.distribution.DeviceMesh):
        raise TypeError(f"`mesh` must be a keras.distribution.DeviceMesh, received "
                        f"{mesh!r:.80}.")
    if axis not in mesh.axis_names:
        raise ValueError(f"`axis` must be one of the mesh's axis names "
                         f"{tuple(mesh.axis_names)}, received {axis!r}.")
    if isinstance(kinds, str) or not isinstance(kinds, (tuple, list)) or not kinds:
        raise TypeError(f"`kinds` must be a non-empty tuple of {', '.join(map(repr, _KINDS))}, "
                        f"received {kinds!r}.")
    for kind in kinds:
        if kind not in _KINDS:
            raise ValueError(f"`kinds` must contain only {', '.join(map(repr, _KINDS))}; "
                             f"received {kind!r}.")
    if patterns is not None and not isinstance(patterns, dict):
        raise TypeError(f"`patterns` must be a dict {{regex: axes}} or None, received "
                        f"{patterns!r:.80}.")
    size = mesh.shape[list(mesh.axis_names).index(axis)]
    variables = {}  # path -> its distinct variables (nested models can repeat a path)
    for variable in model.weights:
        same = variables.setdefault(variable.path, [])
        if all(v is not variable for v in same):
            same.append(variable)
    paths = list(variables)
    result = keras.distribution.LayoutMap(mesh)
    claimed = set()  # (LayoutMap's `in` is always True: its [] gives None)
    for pattern, axes in (patterns or {}).items():
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"`patterns` keys must be non-empty regular expressions (str), "
                            f"received {pattern!r}.")
        matched = _matches(pattern, paths, "patterns")
        if not matched:
            raise _pattern_error(pattern, paths)
        if not isinstance(axes, (tuple, list)):
            raise TypeError(f"`patterns[{pattern!r}]` must be a tuple of mesh axis names or "
                            f"None, received {axes!r}.")
        for path in matched:
            for variable in variables[path]:
                if len(variable.shape) != len(axes):
                    raise ValueError(f"`patterns[{pattern!r}]` = {tuple(axes)} has "
                                     f"{len(axes)} dimension(s), but it matches {path!r} of "
                                     f"shape {tuple(variable.shape)}.")
        result[pattern] = tuple(axes)
        claimed.update(matched)
    chosen = {}  # path -> (where, axes) of the first variable with it
    for layer, where in _all_layers(model):
        for variable in layer.weights:
            if variable.path in claimed:
                continue
            shape = tuple(variable.shape)
            dim = _sharded_dim(layer, variable.path.rsplit("/", 1)[-1], kinds)
            axes = [None] * len(shape)
            if dim is not None and not shape[dim] % size:  # JAX splits evenly or not at all
                axes[dim] = axis
            axes = tuple(axes)
            first = chosen.setdefault(variable.path, (where, axes))
            if first[1] != axes:
                raise _shared_path_error(variable.path, first, (where, axes))
            if axis in axes and first == (where, axes):
                result[re.escape(variable.path)] = axes
    return result


def check_layout_map(layouts, model):
    """Refuses a `keras.distribution.LayoutMap` with a key that matches no variable of `model`
    (such a key shards nothing, and Keras says nothing). Returns `{key: [variable paths]}`.

    Args:
        layouts: a `keras.distribution.LayoutMap` (or any mapping of regex keys).
        model: the built `keras.Model` the map is for.

    Returns:
        dict: each key and the paths of the variables it matches (`re.fullmatch`).

    Raises:
        TypeError: `layouts` is not a mapping or `model` not a keras.Model.
        ValueError: a key is not a valid regular expression, or matches no variable; the
            message shows the model's real paths.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> model = cnnblocks.ResNet18(weights=None, input_shape=(32, 32, 3), classes=10)
        >>> mesh = keras.distribution.DeviceMesh((2,), ("model",), devices=["cpu:0", "cpu:1"])
        >>> keras_example = keras.distribution.LayoutMap(mesh)
        >>> keras_example[".*conv2d.*kernel"] = (None, None, None, "model")
        >>> cnnblocks.distribution.check_layout_map(keras_example, model)
        Traceback (most recent call last):
        ...
        ValueError: Layout key '.*conv2d.*kernel' matches no variable of the model, ...
    """
    if not hasattr(layouts, "keys"):
        raise TypeError(f"`layouts` must be a keras.distribution.LayoutMap, received "
                        f"{layouts!r:.80}.")
    paths = variable_paths(model)
    found = {}
    for key in layouts.keys():
        matched = _matches(key, paths, "layouts")
        if not matched:
            raise _pattern_error(key, paths)
        found[key] = matched
    return found

"""Assertions for users' unit tests of models built with (or compared to) cnnblocks.

Each raises `AssertionError` whose message says where the model differs: which block or layer,
expected against got, with thousands separators, e.g.
`block3: expected 1,475,328 parameters, got 1,475,329 (+1)`, rather than two totals.

Example:
    >>> import keras
    >>> from cnnblocks import testing
    >>> from cnnblocks.blocks import vgg_block
    >>> inputs = keras.Input((32, 32, 3))
    >>> model = keras.Model(inputs, vgg_block(inputs, 16, 2, name="block1"))
    >>> testing.assert_param_count(model, 2_768)
    >>> testing.assert_param_count(model, {"block1": 2_768})
    >>> testing.assert_layer_counts(model, Conv2D=2, MaxPooling2D=1)
"""

import difflib
import math
import numbers

import keras
import numpy as np

from cnnblocks import _graph, analysis
from cnnblocks import graph as graphs
from cnnblocks.snapshot import assert_architecture  # noqa: F401 - part of this module's API

#: How many difference lines a message lists before it says how many more there are.
MAX_LINES = 20
#: Layer-config keys `assert_same_architecture` ignores: naming, dtype policy, trainability,
#: and how weights are initialized or regularized (not part of the architecture).
_IGNORED_CONFIG = ("name", "dtype", "trainable", "seed", "cnnblocks_blocks", "cnnblocks_model")
_IGNORED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def _lines(header, lines):
    shown = lines[:MAX_LINES]
    more = len(lines) - len(shown)
    tail = [f"  ... and {more:,} more difference(s)"] if more else []
    return "\n".join([header] + [f"  {line}" for line in shown] + tail)


def _signed(delta):
    return f"{delta:+,}"


def _count(value, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{arg}` must be a non-negative integer, received {value!r}.")
    if value < 0:
        raise ValueError(f"`{arg}` must be a non-negative integer, received {value!r}.")
    return int(value)


def _trainable(model):
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def assert_param_count(model, expected, *, trainable=None):
    """Asserts the model's parameter count, in total or per block.

    Args:
        model: a `keras.Model` (functional or built Sequential).
        expected: int, the total `model.count_params()`; or a mapping `{block: count}` of
            `cnnblocks.summarize` rows (e.g. `{"block3": 1_475_328}`), each checked.
        trainable: None (not checked) or int, the expected trainable parameters. Default None.

    Raises:
        AssertionError: a count differs. The message gives expected and got per block, and,
            for a total, the model's parameters per block.
        TypeError / ValueError: bad arguments (named, with the value received).

    Example:
        >>> import keras
        >>> from cnnblocks.testing import assert_param_count
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="fc1")])
        >>> assert_param_count(model, 10, trainable=10)
    """
    summary = analysis.summarize(model)
    lines = []
    if isinstance(expected, dict) or hasattr(expected, "items"):
        blocks = {row.name: row for row in summary}
        for block, count in expected.items():
            count = _count(count, f"expected[{block!r}]")
            if block not in blocks:
                lines.append(f"{block}: expected {count:,} parameters, but the model has no "
                             f"such block (blocks: {', '.join(blocks)})")
            elif blocks[block].params != count:
                got = blocks[block].params
                lines.append(f"{block}: expected {count:,} parameters, got {got:,} "
                             f"({_signed(got - count)})")
    else:
        count = _count(expected, "expected")
        if summary.params != count:
            lines.append(f"total: expected {count:,} parameters, got {summary.params:,} "
                         f"({_signed(summary.params - count)}); parameters per block:")
            lines.extend(f"  {row.name}: {row.params:,}" for row in summary if row.params)
    if trainable is not None:
        count = _count(trainable, "trainable")
        if summary.trainable_params != count:
            lines.insert(0, f"total: expected {count:,} trainable parameters, got "
                            f"{summary.trainable_params:,} "
                            f"({_signed(summary.trainable_params - count)})")
    if lines:
        raise AssertionError(_lines(f"Model {model.name!r} has unexpected parameter counts:",
                                    lines))


def _all_layers(model):
    """Every layer, nested models' layers included (not the nested models themselves)."""
    result = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            result.extend(_all_layers(layer))
        else:
            result.append(layer)
    return result


def assert_layer_counts(model, **counts_by_layer_type):
    """Asserts how many layers of each type the model has (nested models' layers included).

    Types are matched by exact class name (`Conv2D` does not count `SeparableConv2D`).

    Args:
        model: a `keras.Model`.
        **counts_by_layer_type: class name = expected count, e.g. `Conv2D=13, Dense=3`.

    Raises:
        AssertionError: a count differs; the message gives expected and got per type and the
            blocks holding that type of layer.
        TypeError / ValueError: `model` is not a Keras model, or a count is not a
            non-negative integer, or no counts are given.

    Example:
        >>> import keras
        >>> from cnnblocks.testing import assert_layer_counts
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> assert_layer_counts(model, Dense=1, Conv2D=0)
    """
    _graph.functional_graph(model)
    if not counts_by_layer_type:
        raise ValueError("assert_layer_counts needs at least one `LayerType=count` argument, "
                         "e.g. Conv2D=13; received none.")
    expected = {k: _count(v, k) for k, v in counts_by_layer_type.items()}
    by_type = {}
    for layer in _all_layers(model):
        by_type.setdefault(type(layer).__name__, []).append(layer.name)
    block_of = {layer: row.name for row in analysis.summarize(model) for layer in row.layers}
    lines = []
    for kind, count in expected.items():
        names = by_type.get(kind, [])
        if len(names) == count:
            continue
        line = f"{kind}: expected {count:,} layers, got {len(names):,}"
        if names:
            blocks = {}
            for name in names:
                block = block_of.get(name, name)
                blocks[block] = blocks.get(block, 0) + 1
            line += " (per block: " + ", ".join(f"{b} {n}" for b, n in blocks.items()) + ")"
        else:
            line += f" (types in the model: {', '.join(sorted(by_type))})"
        lines.append(line)
    if lines:
        raise AssertionError(_lines(f"Model {model.name!r} has unexpected layer counts:", lines))


def _params(op):
    """Parameters of a layer; 0 for a plain operation (`keras.ops.add` in a functional graph)."""
    return op.count_params() if isinstance(op, keras.layers.Layer) else 0


def _config(layer, input_shapes):
    """The layer's architecture-defining configuration, equivalent settings made equal: a
    negative `axis` as its positive index, and `"same"` padding of a 1x1 window as `"valid"`
    (neither pads, at any stride)."""
    if isinstance(layer, keras.Model):
        return {}
    try:
        config = layer.get_config()
    except NotImplementedError:
        return {}
    config = {k: v for k, v in config.items()
              if k not in _IGNORED_CONFIG and not k.endswith(_IGNORED_SUFFIXES)}
    rank = len(input_shapes[0]) if input_shapes else None
    axis = config.get("axis")
    if rank and isinstance(axis, int) and axis < 0:
        config["axis"] = axis % rank
    elif rank and isinstance(axis, (list, tuple)) and len(axis) == 1 and axis[0] < 0:
        config["axis"] = [axis[0] % rank]
    window = config.get("kernel_size", config.get("pool_size"))
    if config.get("padding") == "same" and window is not None and all(k == 1 for k in window):
        config["padding"] = "valid"  # a 1x1 window pads nothing at any stride
    return config


def _shape(shape):
    return graphs.format_shape(shape)


def _layer_differences(got, want, check_names):
    """Differences between two resolved graphs (`cnnblocks.graph.ModelGraph`), layer by layer
    (nested models' layers inlined, named with their path), aligned on their sequence of
    layer types (and names, with `check_names`)."""
    g_calls, w_calls = got.calls, want.calls

    def label(call):
        return f"{call.name} ({type(call.op).__name__})"

    def key(call):
        return (type(call.op).__name__, None if call.is_input or not check_names else call.name)

    matcher = difflib.SequenceMatcher(a=[key(c) for c in w_calls], b=[key(c) for c in g_calls],
                                      autojunk=False)
    w_to_g, lines = {}, []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            w_to_g.update(zip(range(i1, i2), range(j1, j2)))
            continue
        lines.extend(f"missing layer {label(w_calls[i])} (after "
                     f"{w_calls[i - 1].name if i else 'the input'})" for i in range(i1, i2))
        lines.extend(f"unexpected layer {label(g_calls[j])}" for j in range(j1, j2))
    for i, j in sorted(w_to_g.items()):
        w, g = w_calls[i], g_calls[j]
        where = label(w)
        if [s[1:] for s in w.output_shapes] != [s[1:] for s in g.output_shapes]:
            lines.append(f"{where}: expected output {', '.join(map(_shape, w.output_shapes))}, "
                         f"got {', '.join(map(_shape, g.output_shapes))}")
        w_config, g_config = _config(w.op, w.input_shapes), _config(g.op, g.input_shapes)
        for key in sorted(set(w_config) | set(g_config)):
            if w_config.get(key) != g_config.get(key):
                lines.append(f"{where}: {key}: expected {w_config.get(key)!r}, "
                             f"got {g_config.get(key)!r}")
        w_weights = [tuple(v.shape) for v in getattr(w.op, "weights", [])]
        g_weights = [tuple(v.shape) for v in getattr(g.op, "weights", [])]
        if w_weights != g_weights:
            lines.append(f"{where}: expected weight shapes {w_weights}, got {g_weights}")
        w_params, g_params = _params(w.op), _params(g.op)
        if w_params != g_params:
            lines.append(f"{where}: expected {w_params:,} parameters, got {g_params:,} "
                         f"({_signed(g_params - w_params)})")
        g_inputs = sorted(g.parents)
        w_inputs = sorted(w_to_g.get(p, -1) for p in w.parents)
        if g_inputs != w_inputs:
            lines.append(f"{where}: expected inputs from "
                         f"[{', '.join(w_calls[p].name for p in w.parents)}], got "
                         f"[{', '.join(g_calls[p].name for p in g.parents)}]")
    return lines


def assert_same_architecture(model, reference, *, check_names=True):
    """Asserts that two models have the same architecture; says where they differ.

    Compared: per block (`cnnblocks.summarize` rows of the same name holding the same layers,
    or as many layers with `check_names=False`)
    output shape, depth, parameters and multiply-adds; then per layer (aligned on the sequence
    of layer types and names, so an inserted or missing layer is reported as such) the type,
    output shape, configuration (filters, kernel size, strides, activation, use_bias, ... ; not
    initializers, regularizers or dtype; equivalent settings are equal: `axis=-1` and `axis=3`
    on a rank-4 input, `"same"` and `"valid"` padding of a 1x1 window), weight shapes,
    parameters and which layers feed it. Weight values are not compared.

    Args:
        model: the `keras.Model` under test ("got").
        reference: the `keras.Model` it should equal ("expected"), e.g. the keras.applications
            model built with `weights=None`.
        check_names: bool, whether layer names must be equal too (they are public API: weight
            files and `get_layer` use them); a renamed layer is reported as one missing and one
            unexpected layer. False for models with auto-generated names: layers are then
            aligned on their types only. Default True.

    Raises:
        AssertionError: the models differ; the message lists the blocks and layers, expected
            against got (at most `MAX_LINES` lines).
        TypeError / ValueError: `model` or `reference` is not a functional/Sequential model.

    Example:
        >>> import keras
        >>> from cnnblocks.testing import assert_same_architecture
        >>> def build():
        ...     inputs = keras.Input((8,), name="x")
        ...     return keras.Model(inputs, keras.layers.Dense(2, name="fc1")(inputs))
        >>> assert_same_architecture(build(), build())
    """
    got_graph = graphs.resolve(model)
    want_graph = graphs.resolve(reference, arg="reference")
    got_summary, want_summary = analysis.summarize(got_graph), analysis.summarize(want_graph)
    if not isinstance(check_names, bool):
        raise TypeError(f"`check_names` must be a bool, received {check_names!r}.")
    lines = []
    got_rows = {row.name: row for row in got_summary}
    want_rows = {row.name: row for row in want_summary}
    for name, want in want_rows.items():
        got = got_rows.get(name)
        # Blocks are compared where both models group the same layers under the same name (a
        # cnnblocks model's recorded blocks and a foreign model's structural groups can cut the
        # same layers differently); the layer-by-layer comparison below covers everything.
        same = (set(got.layers) == set(want.layers) if check_names
                else len(got.layers) == len(want.layers)) if got is not None else False
        if not same:
            continue
        if got.output_shape != want.output_shape:
            lines.append(f"{name}: expected output {_shape((None,) + want.output_shape)}, got "
                         f"{_shape((None,) + got.output_shape)}")
        for what, w, g in (("parameters", want.params, got.params),
                           ("weight layers deep", want.depth, got.depth),
                           ("multiply-adds", want.macs, got.macs)):
            if w != g:
                lines.append(f"{name}: expected {w:,} {what}, got {g:,} ({_signed(g - w)})")
    lines.extend(_layer_differences(got_graph, want_graph, check_names))
    if lines:
        header = (f"Model {model.name!r} differs from reference {reference.name!r} "
                  f"(expected: reference, got: model); totals: expected {want_summary.params:,} "
                  f"parameters, got {got_summary.params:,}:")
        raise AssertionError(_lines(header, lines))


def randomize_batchnorm(model, seed=0):
    """Gives every `BatchNormalization` layer of `model` trained-looking statistics, in place.

    A freshly built model's BN layers are identities in inference mode (moving mean 0,
    variance 1, gamma 1, beta 0), so a test of anything that uses those statistics (BN folding,
    an export, a port to another framework) passes whether or not it reads them. After this
    call, for `n` channels: moving mean ~ N(0, 0.2), moving variance ~ U(0.5, 2), gamma ~
    U(0.5, 1.5) (when `scale`), beta ~ N(0, 0.2) (when `center`), drawn from
    `numpy.random.RandomState(seed)` layer after layer (nested models included), so the same
    model and seed always give the same values.

    Args:
        model: a `keras.Model` (any kind: its layers are walked, not its graph).
        seed: an integer seed.

    Raises:
        TypeError: `model` is not a `keras.Model`, or `seed` is not an integer.

    Example:
        >>> import keras
        >>> from cnnblocks import testing
        >>> inputs = keras.Input((4, 4, 3))
        >>> bn = keras.layers.BatchNormalization(name="bn")
        >>> model = keras.Model(inputs, bn(inputs))
        >>> testing.randomize_batchnorm(model)
        >>> bool(keras.ops.all(bn.moving_variance != 1.0))
        True
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, received {model!r}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`seed` must be an integer, received {seed!r}.")
    rng = np.random.RandomState(seed)
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.2, n))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n))
            if layer.scale:
                layer.gamma.assign(rng.uniform(0.5, 1.5, n))
            if layer.center:
                layer.beta.assign(rng.normal(0, 0.2, n))

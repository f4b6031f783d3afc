"""Model analysis: multiply-adds, weight-layer depth and a per-block summary.

Three functions read a built Keras model (functional or Sequential, nested models included)
without running it:

- `count_macs(model)`: multiply-adds of one forward pass at batch 1;
- `weight_depth(model)`: weight layers on the longest input-to-output path (the "depth" of
  VGG16, ResNet-50, GoogLeNet's 22);
- `summarize(model)`: one row per block (name, output shape, depth, parameters, multiply-adds).

What is counted. A multiply-add (MAC) is one multiplication plus one accumulation; the ResNet and
GoogLeNet papers call these "FLOPs", the TF profiler counts each as 2 float operations. Counted:

- `Conv1D/2D/3D`: output elements x kernel volume x input channels / groups;
- `Conv1DTranspose/2DTranspose/3DTranspose`: input elements x kernel volume x filters;
- `DepthwiseConv1D/2D`: output elements x kernel volume;
- `SeparableConv1D/2D`: the depthwise part plus the 1x1 pointwise part;
- `Dense`: output elements x input features (also on rank > 2 inputs).

Not counted (each is well under 1% of a classification CNN): biases, batch normalization,
activations, pooling, additions and concatenations, padding, dropout, softmax. Strides are in
the output size; dilation changes neither the kernel volume nor the count.

Weight layers are exactly the counted layers above; `BatchNormalization` has weights but is not
a weight layer here (the papers do not count it in the depth).

Note: Keras has no public API for a functional model's call graph (`model.layers` loses shared
calls and connections), so the graph is read from Keras 3's `Functional._nodes_by_depth` and its
nodes (`operation`, `arguments`, `parent_nodes`), unchanged since Keras 3.0. Everything else is
public: shapes come from the recorded `KerasTensor`s or from `compute_output_spec`.
"""

import dataclasses
import math
import numbers
import re

import keras
from keras import layers

_SEPARABLE = (layers.SeparableConv1D, layers.SeparableConv2D)
_DEPTHWISE = (layers.DepthwiseConv1D, layers.DepthwiseConv2D)
_TRANSPOSED = (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
_DENSE_OR_CONV = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.Dense)

#: The layer types that count as one level of depth and whose multiply-adds are counted.
WEIGHT_LAYERS = _SEPARABLE + _DEPTHWISE + _TRANSPOSED + _DENSE_OR_CONV

#: How `summarize` groups layers into blocks: `(pattern, row name)` pairs, tried in order with
#: `re.match` on each layer's name; the first that matches gives the row name
#: (`match.expand(row_name)`). A layer no pattern matches (including auto-named layers such as
#: `conv2d_3` or `add_1`) gets a row of its own, named after the layer.
BLOCK_PATTERNS = (
    # keras.applications ResNet: conv2_block1_1_conv, conv2_block1_add -> conv2_block1.
    (r"(conv\d+_block\d+)_", r"\1"),
    # VGG and Xception: block1_conv1, block1_pool, block2_sepconv1_bn, block2_0_conv -> block2.
    (r"(block\d+)_", r"\1"),
    # Inception-V3: mixed0, mixed0_1x1_conv, mixed0_pool, mixed9_0 -> mixed0, mixed9.
    (r"(mixed\d+)(?:_|$)", r"\1"),
    # GoogLeNet: inception_3a_1x1, inception_3a_pool_proj, inception_3a_concat -> inception_3a.
    (r"(inception_\d+[a-z])(?:_|$)", r"\1"),
    # Stems and stage pools: conv1_conv, conv1_pad, conv2_3x3_reduce, pool1_pool, pool3_3x3
    # -> conv1, conv2, pool1, pool3 (`conv2d_3` does not match: a digit run must end the word).
    (r"((?:conv|pool)\d+)(?:_|$)", r"\1"),
    # Auxiliary classifiers (GoogLeNet): aux1_conv, aux1_fc, loss1_classifier -> aux1, loss1.
    (r"((?:aux|loss)\d+)_", r"\1"),
    # Classifier heads: avg_pool, flatten, fc1, fc2, dropout, predictions, ... -> head.
    (r"(?:avg_pool|max_pool|global_\w*pool\w*|flatten|dropout|drop\d*|fc\d*|predictions|"
     r"logits|classifier|softmax)$", "head"),
)


def _check_model(model, arg="model", *, subject=None):
    """The functional graph of `model` (a Sequential's inner one); raises when it has none.

    Shared by the analysis, the diagrams and `cnnblocks.inference`. `subject` names the model
    in messages (default: the argument `arg`), e.g. a nested model inside it.
    """
    subject = subject or f"`{arg}`"
    if not isinstance(model, keras.Model):
        raise TypeError(f"{subject} must be a keras.Model, received {type(model).__name__}: "
                        f"{model!r:.80}.")
    graph = model if hasattr(model, "_nodes_by_depth") else getattr(model, "_functional", None)
    if graph is None:
        raise ValueError(
            f"{subject} must be a functional model or a built Sequential model (a layer graph to "
            f"walk); received {type(model).__name__} {model.name!r}, which has none. A "
            "subclassed model cannot be analyzed or rewritten; an unbuilt Sequential model "
            "needs a keras.Input first.")
    return graph


def _input_shapes(input_shape, graph):
    """Validates `input_shape` against the model's inputs; returns a list of shapes or None."""
    if input_shape is None:
        return None
    n_inputs = len(graph.inputs)
    shapes = input_shape
    if isinstance(input_shape, (list, tuple)) and input_shape and all(
            isinstance(s, (list, tuple)) for s in input_shape):
        shapes = list(input_shape)
    elif isinstance(input_shape, (list, tuple)):
        shapes = [input_shape]
    else:
        raise TypeError("`input_shape` must be a tuple of positive integers without the batch "
                        f"dimension, e.g. (224, 224, 3); received {input_shape!r}.")
    if len(shapes) != n_inputs:
        raise ValueError(f"`input_shape` must give one shape per model input ({n_inputs}); "
                         f"received {input_shape!r}.")
    result = []
    for shape, tensor in zip(shapes, graph.inputs):
        if any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0
               for d in shape):
            raise ValueError("`input_shape` must hold positive integers (height, width, "
                             f"channels), without the batch dimension; received {input_shape!r}.")
        if len(shape) != len(tensor.shape) - 1:
            raise ValueError(f"`input_shape` {input_shape!r} does not fit the model input of "
                             f"shape {tuple(tensor.shape)}: expected {len(tensor.shape) - 1} "
                             "dimensions without the batch.")
        result.append(tuple(int(d) for d in shape))
    return result


@dataclasses.dataclass
class _Call:
    """One call of an operation in the graph, with its shapes and the calls it reads from."""

    op: object
    input_shapes: list
    output_shapes: list
    parents: list


def _check_input_spec(op, inputs):
    """Raises ValueError where a built layer's `input_spec` rejects the new input shapes.

    `compute_output_spec` alone does not check it: a `Dense` built for 192 features would
    report an output for 243.
    """
    specs = getattr(op, "input_spec", None)
    if specs is None:
        return
    specs = specs if isinstance(specs, (list, tuple)) else [specs]
    for spec, tensor in zip(specs, inputs):
        shape = tuple(tensor.shape)
        for axis, size in (getattr(spec, "axes", None) or {}).items():
            if size is not None and -len(shape) <= axis < len(shape) and shape[axis] not in (
                    None, size):
                raise ValueError(f"expected axis {axis} of size {size}, got shape {shape}")


def _trace(graph, input_shapes=None):
    """The graph's calls in topological order.

    Without `input_shapes` the shapes recorded when the model was built are used. With them,
    shapes are propagated symbolically (`compute_output_spec`, no weights created) from new
    inputs of those shapes.
    """
    layer_order = {id(op): i for i, op in enumerate(getattr(graph, "operations", []))}
    nodes = []
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        nodes.extend(sorted(graph._nodes_by_depth[depth],
                            key=lambda n: layer_order.get(id(n.operation), -1)))
    specs = None
    if input_shapes is not None:
        specs = {id(x): keras.KerasTensor((None,) + s, dtype=x.dtype)
                 for x, s in zip(graph.inputs, input_shapes)}
    calls, index = [], {}
    for node in nodes:
        if specs is None:
            outputs = node.outputs
        elif node.is_input:
            outputs = [specs[id(x)] for x in node.outputs]
        else:
            args, kwargs = node.arguments.fill_in(specs)
            try:
                _check_input_spec(node.operation, [specs[id(x)] for x in node.input_tensors])
                outputs = keras.tree.flatten(node.operation.compute_output_spec(*args, **kwargs))
            except Exception as err:  # noqa: BLE001 - any layer may reject the new shape
                raise ValueError(f"The model does not accept `input_shape` {input_shapes!r}: "
                                 f"layer {node.operation.name!r} fails with "
                                 f"{type(err).__name__}: {err}") from None
            for x, y in zip(node.outputs, outputs):
                specs[id(x)] = y
        inputs = ([] if node.is_input else
                  [specs[id(x)] if specs is not None else x for x in node.input_tensors])
        index[id(node)] = len(calls)
        calls.append(_Call(op=node.operation,
                           input_shapes=[tuple(t.shape) for t in inputs],
                           output_shapes=[tuple(t.shape) for t in outputs],
                           parents=[index[id(p)] for p in node.parent_nodes if id(p) in index]))
    return calls


def _elements(shape, call):
    """Elements of one sample of `shape`; ValueError when a dimension is unknown."""
    if any(d is None for d in shape[1:]):
        raise ValueError(
            f"Layer {call.op.name!r} has output shape {shape}: a dimension other than the batch "
            "is unknown, so its multiply-adds are undefined. Pass `input_shape`, e.g. "
            "count_macs(model, input_shape=(224, 224, 3)).")
    return math.prod(shape[1:])


def _nested_shapes(call):
    """The nested model's input shapes at this call, or None where they equal its own."""
    graph = _check_model(call.op, "model")
    own = [tuple(x.shape)[1:] for x in graph.inputs]
    here = [s[1:] for s in call.input_shapes]
    return None if own == here else here


def _call_macs(call):
    """Multiply-adds of one call at batch 1 (see the module docstring for what counts)."""
    op = call.op
    if isinstance(op, keras.Model):
        graph = _check_model(op, "model")
        return sum(_call_macs(c) for c in _trace(graph, _nested_shapes(call)))
    if not isinstance(op, WEIGHT_LAYERS):
        return 0
    if isinstance(op, _TRANSPOSED):
        # kernel: (*window, filters, in_channels); every input element meets window x filters.
        return _elements(call.input_shapes[0], call) // op.kernel.shape[-1] * math.prod(
            op.kernel.shape)
    out = _elements(call.output_shapes[0], call)
    if isinstance(op, _SEPARABLE):
        # depthwise kernel: (*window, in_channels, multiplier); pointwise: 1x1, c*m -> filters.
        window_and_c = op.depthwise_kernel.shape
        expanded = window_and_c[-2] * window_and_c[-1]
        positions = out // op.filters
        return positions * math.prod(window_and_c) + out * expanded
    if isinstance(op, _DEPTHWISE):
        # kernel: (*window, in_channels, multiplier); each output element reads one window.
        return out * math.prod(op.kernel.shape[:-2])
    # Conv kernel: (*window, in_channels / groups, filters); Dense kernel: (in, units).
    return out * math.prod(op.kernel.shape[:-1])


def count_macs(model, *, input_shape=None):
    """Multiply-adds of one forward pass of `model` at batch size 1.

    Walks the model's layer graph (nested models included, each call of a shared layer counted)
    and adds up the convolutions and dense layers, from each layer's output shape. The module
    docstring lists exactly what is counted; biases, BN, activations, pooling and additions are
    not. Nothing is executed and no weights are created.

    Args:
        model: a functional or built Sequential `keras.Model`.
        input_shape: None (use the shapes the model was built with) or a tuple without the
            batch dimension, e.g. `(299, 299, 3)`, to evaluate the model at another input size
            (a list of tuples for a multi-input model). Shapes are propagated symbolically
            with each layer's `compute_output_spec`, so a model whose `Flatten`-`Dense` head
            fixes the size rejects a different one (ValueError). Default None.

    Returns:
        int, the number of multiply-adds (the papers' "FLOPs"; the TF profiler's float
        operations are about twice this).

    Raises:
        TypeError: `model` is not a Keras model, or `input_shape` is not a tuple.
        ValueError: `model` has no layer graph (subclassed), a spatial size is unknown and no
            `input_shape` was given, or `input_shape` does not fit the model.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
        >>> model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
        >>> cnnblocks.count_macs(model)  # 32 * 32 * 8 outputs x 3 * 3 * 3 each
        221184
        >>> cnnblocks.count_macs(model, input_shape=(64, 64, 3))
        884736
    """
    graph = _check_model(model)
    calls = _trace(graph, _input_shapes(input_shape, graph))
    return int(sum(_call_macs(c) for c in calls))


def _call_depth(call):
    if isinstance(call.op, keras.Model):
        graph = _check_model(call.op, "model")
        return _longest_path(_trace(graph))
    return 1 if isinstance(call.op, WEIGHT_LAYERS) else 0


def _longest_path(calls, members=None):
    """Weight layers on the longest path through `calls` (only edges between `members`)."""
    best = {}
    for i, call in enumerate(calls):
        if members is not None and i not in members:
            continue
        before = [best[p] for p in call.parents if p in best]
        best[i] = _call_depth(call) + max(before, default=0)
    return max(best.values(), default=0)


def weight_depth(model):
    """Weight layers on the longest input-to-output path: the depth the papers quote.

    Convolutions (plain, transposed, depthwise, separable) and dense layers count one each;
    batch normalization, pooling, activations and merges count zero. A nested model counts its
    own weight depth. Parallel branches (Inception) and shortcuts (ResNet projections) add
    only through their longest member.

    Args:
        model: a functional or built Sequential `keras.Model`.

    Returns:
        int, e.g. 16 for VGG16, 50 for ResNet-50, 22 for GoogLeNet.

    Raises:
        TypeError / ValueError: as `count_macs`.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
        ...                           keras.layers.Flatten(), keras.layers.Dense(2)])
        >>> cnnblocks.weight_depth(model)
        2
    """
    return _longest_path(_trace(_check_model(model)))


def block_name(layer_name, patterns=BLOCK_PATTERNS):
    """The block (summary row) a layer belongs to under `patterns` (default `BLOCK_PATTERNS`).

    Example:
        >>> block_name("conv2_block1_1_conv"), block_name("mixed9_0"), block_name("fc2")
        ('conv2_block1', 'mixed9', 'head')
    """
    for pattern, row in patterns:
        match = re.match(pattern, layer_name)
        if match:
            return match.expand(row)
    return layer_name


def _format_shape(shape):
    return "x".join("?" if d is None else str(d) for d in shape[1:])


@dataclasses.dataclass(frozen=True)
class BlockRow:
    """One row of a `ModelSummary`.

    Attributes:
        name: the block name (e.g. `"conv2_block1"`, `"head"`).
        output_shape: output shape of the block's last layer, without the batch dimension.
        depth: weight layers on the longest path through the block.
        params: parameters of the block's layers (Keras' count: BN moving statistics included).
        macs: multiply-adds at batch 1.
        layers: names of the block's layers, in graph order.
    """

    name: str
    output_shape: tuple
    depth: int
    params: int
    macs: int
    layers: tuple


@dataclasses.dataclass(frozen=True)
class ModelSummary:
    """The per-block summary of a model; iterate it for its `BlockRow`s.

    Attributes:
        model_name: the model's name.
        input_shape: the input shape, without the batch dimension (first input).
        rows: list of `BlockRow`, in graph order.
        params: total parameters (`model.count_params()`).
        trainable_params: trainable parameters.
        depth: `weight_depth` of the model.
        macs: `count_macs` of the model.
    """

    model_name: str
    input_shape: tuple
    rows: list
    params: int
    trainable_params: int
    depth: int
    macs: int

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, key):
        """A row by position or by block name."""
        if isinstance(key, str):
            for row in self.rows:
                if row.name == key:
                    return row
            raise KeyError(f"No block {key!r}; blocks: {', '.join(r.name for r in self.rows)}.")
        return self.rows[key]

    def to_text(self):
        """An aligned text table with thousands separators and a total line."""
        header = ("block", "output", "depth", "params", "MACs")
        body = [(r.name, _format_shape((None,) + tuple(r.output_shape)), f"{r.depth:,}",
                 f"{r.params:,}", f"{r.macs:,}") for r in self.rows]
        total = ("total", "", f"{self.depth:,}", f"{self.params:,}", f"{self.macs:,}")
        widths = [max(len(line[i]) for line in [header, *body, total]) for i in range(5)]

        def fmt(line):
            left = [line[i].ljust(widths[i]) for i in range(2)]
            right = [line[i].rjust(widths[i]) for i in range(2, 5)]
            return "  ".join(left + right).rstrip()

        rule = "-" * len(fmt(header))
        shape = _format_shape((None,) + tuple(self.input_shape))
        return "\n".join([
            f"{self.model_name} (input {shape})", fmt(header), rule, *map(fmt, body), rule,
            fmt(total),
            f"trainable params: {self.trainable_params:,}; "
            f"non-trainable params: {self.params - self.trainable_params:,}"])

    def __str__(self):
        return self.to_text()


def summarize(model, *, input_shape=None, patterns=BLOCK_PATTERNS):
    """A per-block summary: name, output shape, depth, parameters and multiply-adds per block.

    Layers are grouped into blocks by their names with one rule: the first of `patterns` whose
    regular expression matches the start of the layer name gives the block (see
    `BLOCK_PATTERNS`: keras ResNet `conv2_block1_*`, VGG/Xception `block2_*`, Inception-V3
    `mixed0*`, GoogLeNet `inception_3a_*`, stems `conv1_*`/`pool1_*`, classifier layers ->
    `"head"`); a layer no pattern matches, such as an auto-named `conv2d_3`, gets its own row.
    The input layer of a single-input model is the row `"input"`. Rows are in graph order of
    their first layer; a nested model is one row.

    Args:
        model: a functional or built Sequential `keras.Model`.
        input_shape: None or a shape without batch, as in `count_macs`. Default None.
        patterns: sequence of `(regex, row_name_template)` pairs. Default `BLOCK_PATTERNS`.

    Returns:
        A `ModelSummary`: a list of `BlockRow`s with totals; `str()` renders the table.

    Raises:
        TypeError / ValueError: as `count_macs`.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> from cnnblocks.blocks import vgg_block
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = vgg_block(inputs, 16, 2, name="block1")
        >>> x = keras.layers.Flatten(name="flatten")(x)
        >>> model = keras.Model(inputs, keras.layers.Dense(10, name="predictions")(x))
        >>> [(row.name, row.depth, row.params) for row in cnnblocks.summarize(model)]
        [('input', 0, 0), ('block1', 2, 2768), ('head', 1, 40970)]
    """
    graph = _check_model(model)
    shapes = _input_shapes(input_shape, graph)
    calls = _trace(graph, shapes)
    groups = {}
    for i, call in enumerate(calls):
        single_input = isinstance(call.op, layers.InputLayer) and len(graph.inputs) == 1
        name = "input" if single_input else block_name(call.op.name, patterns)
        groups.setdefault(name, []).append(i)
    rows = []
    for name, members in groups.items():
        ops = list({id(calls[i].op): calls[i].op for i in members}.values())
        # A block's output is the layer named as the block (`mixed9`, a VGG block has none),
        # else its last layer: keras' InceptionV3 names a concatenation inside mixed10
        # `mixed9_1`, which groups with mixed9 but is not its output.
        out = next((i for i in members if calls[i].op.name == name), members[-1])
        rows.append(BlockRow(
            name=name,
            output_shape=tuple(calls[out].output_shapes[0][1:]),
            depth=_longest_path(calls, set(members)),
            params=sum(op.count_params() for op in ops if isinstance(op, keras.layers.Layer)),
            macs=int(sum(_call_macs(calls[i]) for i in members)),
            layers=tuple(op.name for op in ops)))
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    first_input = shapes[0] if shapes else tuple(graph.inputs[0].shape)[1:]
    return ModelSummary(model_name=model.name, input_shape=tuple(first_input), rows=rows,
                        params=int(model.count_params()), trainable_params=int(trainable),
                        depth=_longest_path(calls), macs=int(sum(r.macs for r in rows)))

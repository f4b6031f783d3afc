"""Model analysis: multiply-adds, weight-layer depth, and the model's blocks.

Four functions read a built Keras model (functional or Sequential, nested models included)
without running it:

- `count_macs(model)`: multiply-adds of one forward pass at batch 1;
- `weight_depth(model)`: weight layers on the longest input-to-output path (the "depth" of
  VGG16, ResNet-50, GoogLeNet's 22);
- `blocks(model)`: the model's calls and blocks;
- `summarize(model)`: one row per block (name, kind, arguments, output shape, depth,
  parameters, multiply-adds), adding up to the model's totals.

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

What a block is: a recorded block call, or a group found from the graph's structure
(`cnnblocks.grouping` says how: modules, cells, gates, stages, stem and head). A model nested
in another is inlined, so its blocks are rows of the outer summary; a layer or model called
twice has its parameters counted once (in the first row it is in).

Every function here resolves the model once with `cnnblocks.graph.resolve` and reads that.
"""

import dataclasses
import math

import keras

from cnnblocks import graph as graphs
from cnnblocks import grouping, receptive
from cnnblocks.grouping import Block, WEIGHT_LAYERS  # noqa: F401  (part of this module's API)

format_shape = graphs.format_shape


def _elements(shape, call):
    """Elements of one sample of `shape`; ValueError when a dimension is unknown."""
    if any(d is None for d in shape[1:]):
        raise ValueError(
            f"Layer {call.name!r} has output shape {shape}: a dimension other than the batch "
            "is unknown, so its multiply-adds are undefined. Pass `input_shape`, e.g. "
            "count_macs(model, input_shape=(224, 224, 3)).")
    return math.prod(shape[1:])


def call_macs(call):
    """Multiply-adds of one call (`cnnblocks.graph.Call`) at batch 1 (see the module
    docstring for what counts)."""
    op = call.op
    if not isinstance(op, WEIGHT_LAYERS):
        return 0
    if isinstance(op, grouping.TRANSPOSED):
        # kernel: (*window, filters, in_channels); every input element meets window x filters.
        return _elements(call.input_shapes[0], call) // op.kernel.shape[-1] * math.prod(
            op.kernel.shape)
    out = _elements(call.output_shapes[0], call)
    if isinstance(op, grouping.SEPARABLE):
        # depthwise kernel: (*window, in_channels, multiplier); pointwise: 1x1, c*m -> filters.
        window_and_c = op.depthwise_kernel.shape
        expanded = window_and_c[-2] * window_and_c[-1]
        positions = out // op.filters
        return positions * math.prod(window_and_c) + out * expanded
    if isinstance(op, grouping.DEPTHWISE):
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
            (a list of tuples for a multi-input model). A cnnblocks architecture built with
            a dynamic input size (height and width None, e.g. MobileNetV3's default) is
            evaluated at its registered ImageNet size; any other model with
            an unknown size needs `input_shape`. Shapes are propagated symbolically
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
    return int(sum(call_macs(c) for c in graphs.resolve(model, input_shape=input_shape).calls))


def longest_path(calls, members=None):
    """Weight layers on the longest path through `calls` (only edges between `members`)."""
    best = {}
    for call in calls:
        i = call.index
        if members is not None and i not in members:
            continue
        before = [best[p] for p in call.parents if p in best]
        best[i] = (1 if isinstance(call.op, WEIGHT_LAYERS) else 0) + max(before, default=0)
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
    return longest_path(graphs.resolve(model).calls)



def blocks(model, *, input_shape=None):
    """The calls and blocks of `model`: recorded block calls, and structural groups for the
    rest (`cnnblocks.grouping`).

    Args:
        model: a functional or built Sequential `keras.Model`.
        input_shape: None or a shape without batch, as in `count_macs`.

    Returns:
        `(calls, blocks)`: the flattened calls (`cnnblocks.graph.Call`) and a list of
        `grouping.Block`s in graph order. Input layers belong to no block.
    """
    resolved = graphs.resolve(model, input_shape=input_shape)
    return resolved.calls, resolved.blocks


@dataclasses.dataclass(frozen=True)
class BlockRow:
    """One row of a `ModelSummary`.

    Attributes:
        name: the block name (e.g. `"conv2_block1"`, `"head"`).
        kind: the block kind (`"bottleneck_module"`; `"module"`, `"stage"`, ... for blocks
            grouped by structure).
        args: the block's arguments (a dict; empty for structural blocks).
        label: short text of its widths (`"64 | 96→128 | 16→32 | pool→32"`).
        output_shape: output shape of the block, without the batch dimension.
        depth: weight layers on the longest path through the block.
        params: parameters of the block's layers (Keras' count: BN moving statistics included).
        trainable_params: trainable parameters of the block's layers.
        macs: multiply-adds at batch 1.
        layers: names of the block's layers, in graph order.
        recorded: whether the block was recorded when built (else grouped by structure).
        receptive_field: the block's `cnnblocks.receptive.Field` with
            `summarize(..., receptive_field=True)`, else None.
    """

    name: str
    kind: str
    args: dict
    label: str
    output_shape: tuple
    depth: int
    params: int
    trainable_params: int
    macs: int
    layers: tuple
    recorded: bool = True
    receptive_field: object = None


@dataclasses.dataclass(frozen=True)
class ModelSummary:
    """The per-block summary of a model; iterate it for its `BlockRow`s.

    Attributes:
        model_name: the model's name.
        input_shape: the input shape, without the batch dimension (first input).
        rows: list of `BlockRow`, in graph order; they add up to the totals.
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

    def to_text(self, *, width=100):
        """An aligned text table (kind, widths, output, depth, parameters, MACs) with a total
        line; a widths cell longer than its column (to keep lines within `width` characters)
        wraps onto continuation lines, at spaces where it can, so no width is hidden."""
        rf = any(r.receptive_field is not None for r in self.rows)  # the optional column
        header = ("block", "kind", "widths", "output", "depth", "params", "MACs") + (
            ("RF /stride",) if rf else ())
        body = [(r.name, r.kind, r.label, format_shape((None,) + tuple(r.output_shape)),
                 f"{r.depth:,}", f"{r.params:,}", f"{r.macs:,}") + (
                     (r.receptive_field.text() if r.receptive_field else "",) if rf else ())
                for r in self.rows]
        total = ("total", "", "", "", f"{self.depth:,}", f"{self.params:,}",
                 f"{self.macs:,}") + (("",) if rf else ())
        lines = [header, *body, total]
        n = len(header)
        widths = [max(len(line[i]) for line in lines) for i in range(n)]
        spare = width - (sum(widths) + 2 * (n - 1))
        if spare < 0:
            widths[2] = max(6, widths[2] + spare)

        def cell(text, i):
            return text.rjust(widths[i]) if i >= 4 else text.ljust(widths[i])

        def fmt(line):
            return "  ".join(cell(line[i], i) for i in range(n)).rstrip()

        def rows(line):
            """`line` and its continuation lines (the rest of a wrapped widths cell)."""
            pieces = _wrap(line[2], widths[2])
            blank = ("",) * n
            return [fmt(line[:2] + (pieces[0],) + line[3:])] + [
                fmt(blank[:2] + (piece,) + blank[3:]) for piece in pieces[1:]]

        rule = "-" * len(fmt(header))
        shape = format_shape((None,) + tuple(self.input_shape))
        return "\n".join([
            f"{self.model_name} (input {shape})", fmt(header), rule,
            *(text for line in body for text in rows(line)), rule, fmt(total),
            f"trainable params: {self.trainable_params:,}; "
            f"non-trainable params: {self.params - self.trainable_params:,}"])

    def __str__(self):
        return self.to_text()


def _wrap(text, width):
    """`text` in pieces of at most `width` characters, broken after a space where one is in
    reach (a piece ends on " |" rather than cutting a width), else at `width`."""
    pieces = []
    while len(text) > width:
        cut = text.rfind(" ", 1, width + 1)
        cut = cut if cut > 0 else width
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return pieces + [text]


def _trainable_count(op):
    if not isinstance(op, keras.layers.Layer):
        return 0
    return int(sum(math.prod(w.shape) for w in op.trainable_weights))


def summarize(model, *, input_shape=None, receptive_field=False):
    """A per-block summary: name, kind, arguments, output shape, depth, parameters and
    multiply-adds per block.

    Blocks are the model's recorded block calls (whatever their names, `name=None` included,
    and after a `.keras` round trip) and, for layers no record covers, groups found from the
    graph's structure (see the module docstring). The rows add up to the model's totals
    (parameters, trainable parameters, multiply-adds); input layers have no row. The blocks
    of a nested model are rows too (named `"backbone/conv2_block1"` for a recorded one); a
    layer called twice has its parameters in the first row it is in.

    Args:
        model: a functional or built Sequential `keras.Model`.
        input_shape: None or a shape without batch, as in `count_macs`. Default None.
        receptive_field: bool, whether to add each block's receptive field
            (`cnnblocks.receptive_field`) to its row and an "RF /stride" column to the text
            (ValueError where `receptive_field` cannot follow a layer). Default False.

    Returns:
        A `ModelSummary`: a list of `BlockRow`s with totals; `str()` renders the table.

    Raises:
        TypeError / ValueError: as `count_macs`.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> from cnnblocks.blocks import vgg_block
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = vgg_block(inputs, 16, 2, name="stem")
        >>> x = keras.layers.Flatten(name="flatten")(x)
        >>> model = keras.Model(inputs, keras.layers.Dense(10, name="predictions")(x))
        >>> [(row.name, row.kind, row.params) for row in cnnblocks.summarize(model)]
        [('stem', 'vgg_block', 2768), ('head', 'head', 40970)]
    """
    resolved = graphs.resolve(model, input_shape=input_shape)
    calls, found = resolved.calls, resolved.blocks
    fields = [None] * len(found)
    if receptive_field:
        fields = receptive.block_fields(resolved)[1]
    rows, counted = [], set()
    for block, field in zip(found, fields):
        ops = {}
        for i in block.calls:
            ops.setdefault(id(calls[i].op), calls[i])
        # A layer called twice (a shared layer, a nested model called twice) is counted once,
        # in the first row it is in.
        fresh = [c.op for key, c in ops.items() if key not in counted and c.is_layer]
        counted.update(ops)
        rows.append(BlockRow(
            name=block.name, kind=block.kind, args=block.args, label=block.label,
            output_shape=tuple(calls[block.output].output_shapes[0][1:]),
            depth=longest_path(calls, set(block.calls)),
            params=sum(op.count_params() for op in fresh),
            trainable_params=sum(_trainable_count(op) for op in fresh),
            macs=int(sum(call_macs(calls[i]) for i in block.calls)),
            layers=tuple(c.name for c in ops.values()), recorded=block.recorded,
            receptive_field=field))
    model = resolved.model
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return ModelSummary(model_name=model.name, input_shape=resolved.first_input_shape(),
                        rows=rows, params=int(model.count_params()),
                        trainable_params=int(trainable), depth=longest_path(calls),
                        macs=int(sum(r.macs for r in rows)))

"""Receptive fields: which input pixels each block's output unit depends on.

`receptive_field(model)` gives, for every block (the rows of `cnnblocks.summarize`), for every
layer and at the model's outputs, along each spatial axis:

- the receptive field size `r`: how many input pixels one output unit depends on;
- the effective stride `S`: how far apart in the input two neighbouring units' fields are;
- the effective padding `P`: how far the first unit's field reaches before the input.

Output unit `i` (0-based) reads input pixels `i * S - P` to `i * S - P + r - 1`, in the input's
coordinates (negative or past the end where the field reaches into padding). The method is
Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019 (https://distill.pub/2019/computing-receptive-fields/), applied to the model's
layer graph in topological order.

One layer. A window operation (convolution, pooling) with kernel `k`, dilation `d` (window
`k' = d (k - 1) + 1`), stride `s` and left padding `p` turns a field `(r, S, P)` into
`(r + (k' - 1) S, s S, P + p S)`. Padding layers are windows of size 1 with `p` their left
padding; cropping is a negative padding. Layers that act on each position separately
(activations, batch normalization in inference, dropout, `Dense` on the channel axis, ...)
keep the field.

Padding. Keras' `"valid"` pads nothing, `"causal"` pads `k' - 1` on the left, and `"same"` pads
`t = max((n_out - 1) s + k' - n_in, 0)` in total, `t // 2` on the left and the rest on the
right (TensorFlow's convention, which every Keras backend follows). With stride 1 that is
`(k' - 1) // 2` whatever the size; with a larger stride it depends on the input size `n_in`,
so the effective padding of a network with strided `"same"` layers depends on the input size
(Distill's note on TF's SAME padding). It is computed from the shapes the model was built
with, or from `input_shape`; a model with an unknown spatial size needs `input_shape` then.

Several paths. Where branches merge (`Add`, `Concatenate`, ...) the unit's field is the union
of the branches' fields: from the leftmost first pixel to the rightmost last pixel. When the
branches are aligned (their fields share a centre, as in every Inception module and
bottleneck ResNet module) this is the branch with the largest field, Distill's "maximum over
paths". When they
are not, the merge is reported as a misalignment (`ReceptiveFields.misalignments`, and
`AxisField.aligned` is False downstream): the branches' fields are shifted against each other
and the union is wider than any branch. Branches with different effective strides cannot be
merged position by position (ValueError).

Pixels read at all. Strided "valid" layers can leave the last rows or columns of the input
unread (a 3x3/2 valid convolution on 128 pixels stops at pixel 126). `AxisField.extent` gives
the input pixels a feature map reads at all, at the traced input size; `span(i, clip=True)`
cuts a unit's field to them, which is exactly where its gradient can be non-zero.

Global operations. After a global pooling or a `Flatten` (and anything after them, e.g. the
classifier) a unit depends on the whole input: its field is *global* (`is_global`; `size` is
then the number of input pixels it reads along the axis, its `extent`: the whole input for
every cnnblocks architecture at its default size; stride and padding are None). Where a global
summary is merged back into a feature map (squeeze-and-excitation:
`x * sigmoid(dense(pool(x)))`), the unit keeps its local field and is marked `global_context`.

Operations. `x + y`, `x * s`, `keras.ops.add`, `keras.ops.concatenate` and the other
elementwise `keras.ops` recorded in a functional graph are followed as the layers that do the
same (a merge when they read two tensors, a pointwise step when they read one, as `x + 3.0`),
and so are keras.applications' own unexported layers (ConvNeXt's `LayerScale` and
`StochasticDepth`, Inception-ResNet-V2's scaled add). Nested models are inlined: their layers
are named with the model's name (`"backbone/conv1"`), and the nested model's output under its
own name.

Not handled (ValueError naming the layer): upsampling and transposed convolutions, reshapes
of a feature map, models with several inputs, and layers this module does not know. A custom
layer that acts on each position separately is declared with `pointwise=(MyLayer,)`; the
error for an unknown layer names its class and that option, never a guess.

The model is read once through `cnnblocks.graph.resolve`.
"""

import dataclasses

import keras
from keras import layers

from cnnblocks import _graph
from cnnblocks import graph as graphs
from cnnblocks.layers import (ChannelShuffle, ChannelSplit, LayerScale, LocalResponseNormalization,
                              ScaledAdd, StochasticDepth)

_WINDOW_CONVS = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.DepthwiseConv1D,
                 layers.DepthwiseConv2D, layers.SeparableConv1D, layers.SeparableConv2D)
_POOLS = (layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D,
          layers.AveragePooling1D, layers.AveragePooling2D, layers.AveragePooling3D)
_PADDINGS = (layers.ZeroPadding1D, layers.ZeroPadding2D, layers.ZeroPadding3D)
_CROPPINGS = (layers.Cropping1D, layers.Cropping2D, layers.Cropping3D)
_GLOBAL = (layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D,
           layers.GlobalAveragePooling3D, layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D,
           layers.GlobalMaxPooling3D, layers.Flatten)
_UPSAMPLING = (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose,
               layers.UpSampling1D, layers.UpSampling2D, layers.UpSampling3D, layers.Resizing)
_MERGES = (layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum,
           layers.Minimum, layers.Concatenate, ScaledAdd)
#: Layers that act on each position separately (in inference).
POINTWISE = (layers.Activation, layers.ReLU, layers.LeakyReLU, layers.PReLU, layers.ELU,
             layers.Dropout, layers.SpatialDropout1D, layers.SpatialDropout2D,
             layers.SpatialDropout3D, layers.GaussianDropout, layers.GaussianNoise,
             layers.AlphaDropout, layers.BatchNormalization, layers.Rescaling,
             layers.Normalization, layers.Identity, layers.ActivityRegularization,
             LocalResponseNormalization, LayerScale, StochasticDepth,
             ChannelShuffle, ChannelSplit)  # ShuffleNet V2: channels only
#: Layers that are pointwise when they act on the channel axis only (their `axis`).
_CHANNEL_AXIS_LAYERS = (layers.Softmax, layers.LayerNormalization, layers.UnitNormalization)


@dataclasses.dataclass(frozen=True)
class _Axis:
    """Internal state along one axis: unit `i` reads `[i*stride + left, i*stride + right]`;
    `centres` holds `left + right` (twice the centre offset) of every path; `first`, `last`
    the input pixels read by any unit at all (None where a size is unknown)."""

    stride: int
    left: int
    right: int
    centres: frozenset
    first: object
    last: object
    context: bool = False
    units: object = None

    def window(self, k, s, p, n_in, n_out):
        """Through a window of size `k`, stride `s` and left padding `p`, from `n_in` to
        `n_out` positions."""
        first = last = None
        if None not in (self.first, n_in, n_out):
            # The positions of the input map the windows touch, padding excluded.
            lo, hi = max(0, -p), min(n_in - 1, (n_out - 1) * s - p + k - 1)
            first = max(self.first, lo * self.stride + self.left)
            last = min(self.last, hi * self.stride + self.right)
        units = None
        if self.units is not None and n_out is not None:
            # Output unit j reads positions j*s - p .. j*s - p + k - 1 of the input map: those
            # whose window meets the input's units that read pixels read pixels too; the
            # others read only zero padding (of this layer or of an earlier one).
            lo, hi = self.units
            units = (max(0, -((k - 1 - p - lo) // s)), min(n_out - 1, (hi + p) // s))
        return _Axis(stride=self.stride * s, left=self.left - p * self.stride,
                     right=self.right + (k - 1 - p) * self.stride,
                     centres=frozenset(c + self.stride * (k - 1 - 2 * p) for c in self.centres),
                     first=first, last=last, context=self.context, units=units)


@dataclasses.dataclass(frozen=True)
class _Whole:
    """Internal state of a global unit: it reads input pixels `first` to `last` (or None)."""

    first: object
    last: object


@dataclasses.dataclass(frozen=True)
class AxisField:
    """The receptive field of a unit along one spatial axis.

    Attributes:
        size: the receptive field size `r` in input pixels (not clipped at the image border);
            for a global field, the number of input pixels read (None if the size is unknown).
        stride: the effective stride `S`; None for a global field.
        padding: the effective padding `P`: unit `i` reads pixels `i*S - P` to
            `i*S - P + r - 1`; None for a global field.
        offsets: the centres of the paths' fields relative to `i*S` (one value when aligned;
            several where branches are misaligned); empty for a global field.
        extent: `(first, last)`, the input pixels that any unit of this feature map reads at
            all, at the traced input size: the whole input `(0, n - 1)`, less the last rows or
            columns that strided "valid" layers drop (Xception at 128x128 never reads pixel
            127); None where a size is unknown.
        is_global: whether the unit depends on the whole input (after a global pooling,
            `Flatten`, ...).
        global_context: whether the unit also reads a global summary of the input
            (squeeze-and-excitation) besides its local field.
        units: `(first, last)`, the units of this feature map that read at least one input
            pixel, at the traced input size; the others read only zero padding (this layer's
            or an earlier one's, e.g. a `ZeroPadding2D` after a strided convolution). Empty
            (`first > last`) when none does; None where a size is unknown or for a global
            field.
    """

    size: object
    stride: object
    padding: object
    offsets: tuple = ()
    extent: object = None
    is_global: bool = False
    global_context: bool = False
    units: object = None

    @property
    def aligned(self):
        """Whether all paths to the unit have fields with the same centre."""
        return len(self.offsets) <= 1

    def span(self, index, *, clip=False):
        """`(first, last)` input pixel of output unit `index`'s field: unclipped (it may reach
        into the padding), or with `clip=True` cut to the pixels it can read (`extent`), which
        is where its gradient is non-zero (None for a unit that reads only padding: its
        window, or the windows of the layers before it, fall on zero padding alone; see
        `units`)."""
        if self.is_global:
            if clip and self.extent is not None:
                return self.extent
            raise ValueError("A global field has no per-unit span: the unit reads the whole "
                             "input.")
        first = index * self.stride - self.padding
        last = first + self.size - 1
        if clip:
            if self.extent is None:
                raise ValueError("The input size is unknown: pass `input_shape` to "
                                 "receptive_field to clip fields to the input.")
            first, last = max(first, self.extent[0]), min(last, self.extent[1])
            if first > last or (self.units is not None
                                and not self.units[0] <= index <= self.units[1]):
                return None
        return first, last


@dataclasses.dataclass(frozen=True)
class Field:
    """The receptive field of a block's, a layer's or the model's output units.

    Attributes:
        name: the block or layer name.
        kind: the block kind (`"bottleneck_module"`) or the layer's class name.
        output_shape: its output shape, without the batch dimension.
        axes: one `AxisField` per spatial axis of the input (height, width for images).
    """

    name: str
    kind: str
    output_shape: tuple
    axes: tuple

    @property
    def size(self):
        """Receptive field size per axis, e.g. `(212, 212)`."""
        return tuple(a.size for a in self.axes)

    @property
    def stride(self):
        """Effective stride per axis, e.g. `(32, 32)`; None entries for a global field."""
        return tuple(a.stride for a in self.axes)

    @property
    def padding(self):
        """Effective padding per axis, e.g. `(90, 90)`; None entries for a global field."""
        return tuple(a.padding for a in self.axes)

    @property
    def is_global(self):
        return any(a.is_global for a in self.axes)

    @property
    def aligned(self):
        return all(a.aligned for a in self.axes)

    def span(self, *index, clip=False):
        """Per axis, `(first, last)` input pixel of the field of the output unit at `index`
        (one index per spatial axis); see `AxisField.span`."""
        if len(index) != len(self.axes):
            raise ValueError(f"`index` must give one position per spatial axis "
                             f"({len(self.axes)}); received {index!r}.")
        return tuple(a.span(i, clip=clip) for a, i in zip(self.axes, index))

    def text(self):
        """Short text: `"212 /32"`, `"211x212 /32"`, or `"global"`."""
        if self.is_global:
            return "global"
        mark = "" if self.aligned else " (misaligned)"
        mark += " +global" if any(a.global_context for a in self.axes) else ""
        return f"{_per_axis(self.size)} /{_per_axis(self.stride)}{mark}"


def _per_axis(values):
    """`212` when every axis agrees, else `211x212`."""
    values = tuple(values)
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


@dataclasses.dataclass(frozen=True)
class Misalignment:
    """A merge whose branches' fields are not centred on the same pixel.

    Attributes:
        layer: the merging layer's name.
        axis: the spatial axis (0 = height, 1 = width for images).
        offsets: the branches' field centres relative to `i * S`, sorted.
    """

    layer: str
    axis: int
    offsets: tuple


@dataclasses.dataclass(frozen=True)
class ReceptiveFields:
    """The receptive fields of a model: per block, per layer and at its outputs.

    Attributes:
        model_name: the model's name.
        input_shape: the input shape, without the batch dimension.
        blocks: a `Field` per `cnnblocks.summarize` row, in the same order.
        layers: dict layer name -> `Field` of its output (the last call of a shared layer).
        outputs: a `Field` per model output.
        misalignments: the `Misalignment`s found at merges, in graph order.
    """

    model_name: str
    input_shape: tuple
    blocks: list
    layers: dict
    outputs: list
    misalignments: list

    def __iter__(self):
        return iter(self.blocks)

    def __len__(self):
        return len(self.blocks)

    def __getitem__(self, key):
        """A block's field by name (or position), else a layer's by name."""
        if not isinstance(key, str):
            return self.blocks[key]
        for field in self.blocks:
            if field.name == key:
                return field
        if key in self.layers:
            return self.layers[key]
        raise KeyError(f"No block or layer {key!r}; blocks: "
                       f"{', '.join(f.name for f in self.blocks)}.")

    @property
    def output(self):
        """The field of the (first) model output."""
        return self.outputs[0]

    @property
    def last_feature_map(self):
        """The field of the last block whose units still have a local field (the feature map
        before a global head), or None."""
        local = [f for f in self.blocks if not f.is_global]
        return local[-1] if local else None

    def to_text(self):
        """An aligned text table: per block its output, field size, effective stride and
        padding, and whether its paths are aligned; then the misalignments."""
        header = ("block", "kind", "output", "RF", "stride", "padding", "aligned")
        rows = []
        for f in self.blocks:
            shape = graphs.format_shape((None,) + tuple(f.output_shape))
            if f.is_global:
                rows.append((f.name, f.kind, shape, "global", "-", "-", "-"))
            else:
                context = " +global" if any(a.global_context for a in f.axes) else ""
                rows.append((f.name, f.kind, shape, _per_axis(f.size) + context,
                             _per_axis(f.stride), _per_axis(f.padding),
                             "yes" if f.aligned else "no"))
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

        def fmt(row):
            return "  ".join(c.rjust(w) if 3 <= i <= 5 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip()

        shape = graphs.format_shape((None,) + tuple(self.input_shape))
        lines = [f"{self.model_name} (input {shape}): receptive field size, effective stride "
                 "and effective padding per block", fmt(header), "-" * len(fmt(header)),
                 *map(fmt, rows)]
        last = self.last_feature_map
        if last is not None:
            lines.append(f"last feature map: {last.name} "
                         f"({graphs.format_shape((None,) + tuple(last.output_shape))}): "
                         f"field {_per_axis(last.size)}, stride {_per_axis(last.stride)}, "
                         f"padding {_per_axis(last.padding)}")
        for m in self.misalignments:
            lines.append(f"misaligned: {m.layer} (axis {m.axis}): branch centres at "
                         f"{', '.join(f'{o:g}' for o in m.offsets)} + i*S")
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()


# --- propagation ----------------------------------------------------------------------------

def _config(op):
    try:
        return op.get_config()
    except NotImplementedError:
        return {}


def _data_format(calls):
    """The model's data format, from its layers (one format for all of them)."""
    formats = {_config(c.op).get("data_format") for c in calls
               if isinstance(c.op, keras.layers.Layer) and not isinstance(c.op, keras.Model)}
    formats.discard(None)
    if len(formats) > 1:
        raise ValueError(f"receptive_field needs one data format in the model; it mixes "
                         f"{sorted(formats)}.")
    return formats.pop() if formats else keras.config.image_data_format()


def _spatial_dims(rank, data_format):
    return list(range(1, rank - 1)) if data_format == "channels_last" else list(range(2, rank))


def _tuple(value, n):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * n


def _same_left(k, s, n_in, n_out, name):
    """Left padding of Keras' "same" padding (TensorFlow's convention)."""
    if s == 1:
        return (k - 1) // 2
    if k == 1:
        return 0
    if n_in is None or n_out is None:
        raise ValueError(
            f"Layer {name!r} has 'same' padding with stride {s}, whose left padding depends "
            "on the input size, which is unknown here. Pass `input_shape`, e.g. "
            "receptive_field(model, input_shape=(224, 224, 3)).")
    return max((n_out - 1) * s + k - n_in, 0) // 2


def _window_params(op, call, dims, name):
    """Per spatial axis `(window, stride, left padding)` of a convolution or pooling layer."""
    config = _config(op)
    n = len(dims)
    if isinstance(op, _POOLS):
        kernel, dilation = _tuple(config["pool_size"], n), (1,) * n
        strides = _tuple(config["strides"] or config["pool_size"], n)
    else:
        kernel = _tuple(config["kernel_size"], n)
        dilation = _tuple(config.get("dilation_rate", 1), n)
        strides = _tuple(config["strides"], n)
    padding = config["padding"].lower()
    result = []
    for k, d, s, dim in zip(kernel, dilation, strides, dims):
        window = d * (k - 1) + 1
        if padding == "valid":
            left = 0
        elif padding == "causal":
            left = window - 1
        else:
            left = _same_left(window, s, call.input_shapes[0][dim], call.output_shapes[0][dim],
                              name)
        result.append((window, s, left))
    return result


def _adaptive_params(call, dims):
    """Per axis `(window, stride, 0)` of an adaptive pooling layer whose output size divides
    its input size (then its windows are equal and do not overlap: a plain pooling)."""
    params = []
    for dim in dims:
        n, m = call.input_shapes[0][dim], call.output_shapes[0][dim]
        if n is None or m is None or n % m:
            raise _unsupported(call, f"its windows differ in size (input {n} pooled to {m}); "
                                   "its field is computed where the output size divides the "
                                   "input size")
        params.append((n // m, n // m, 0))
    return params


def _pad_params(op, n, sign):
    """Per axis `(1, 1, left)` of a zero-padding (sign 1) or cropping (sign -1) layer."""
    config = _config(op)
    amounts = config["padding"] if sign > 0 else config["cropping"]
    if n == 1:
        pairs = [_tuple(amounts, 2)]
    else:
        pairs = [_tuple(a, 2) for a in _tuple(amounts, n)]
    return [(1, 1, sign * pair[0]) for pair in pairs]


def _channel_axis_only(op, rank, data_format):
    axes = _config(op).get("axis", -1)
    axes = axes if isinstance(axes, (list, tuple)) else [axes]
    channel = rank - 1 if data_format == "channels_last" else 1
    return all(a % rank == channel for a in axes)


def _unsupported(call, why):
    return ValueError(f"receptive_field cannot follow layer {call.name!r} "
                      f"({type(call.op).__name__}): {why}.")


class _Propagation:
    """Walks a flattened graph (`cnnblocks.graph`), computing each value's field state (a
    tuple of per-axis states)."""

    def __init__(self, data_format, pointwise):
        self.data_format = data_format
        self.pointwise = POINTWISE + tuple(pointwise)
        self.by_call = {}  # call index -> state of its (first) output
        self.layer_states = {}
        self.nested_states = {}
        self.misalignments = []

    def run(self, resolved, input_state):
        """Propagates through the calls of `resolved` (a `graph.ModelGraph`). Layers of a
        nested model are named with its path (`"backbone/conv1"`)."""
        states = {}
        for call in resolved.calls:
            if call.is_input:
                out_states = [input_state] * len(call.outputs)
            else:
                out_states = self.layer(call, [states[v] for v in call.inputs])
            for v, state in zip(call.outputs, out_states):
                states[v] = state
            self.by_call[call.index] = out_states[0]
            if not call.is_input:
                self.layer_states[call.name] = (call, out_states[0])
        for name, _, outputs in resolved.nested:  # a nested model: the field of its output
            self.nested_states[name] = states[outputs[0]]
        return [states[v] for v in resolved.outputs]

    def layer(self, call, ins):
        """The output states of one call."""
        op = call.op
        n_out = len(call.output_shapes)
        kind = _graph.operation_kind(op)
        if isinstance(op, _MERGES) or (kind == "elementwise" and call.is_merge):
            return [self.merge(call, ins)] * n_out
        if kind == "concatenate":
            return [self.merge(call, ins, axis=getattr(op, "axis", -1))] * n_out
        state = ins[0] if ins else None
        if state is None:
            raise _unsupported(call, "it reads no tensor of the model")
        if len(set(call.inputs)) > 1:
            raise _unsupported(call, "it reads several tensors and is not a known merge")
        if any(isinstance(a, _Whole) for a in state):
            return [state] * n_out  # after a global operation everything stays global
        if kind in ("elementwise", "pointwise") or isinstance(op, self.pointwise):
            return [state] * n_out
        rank = len(call.input_shapes[0])
        dims = _spatial_dims(rank, self.data_format)
        if isinstance(op, _WINDOW_CONVS + _POOLS):
            params = _window_params(op, call, dims, call.name)
            return [self.window(state, params, call, dims)] * n_out
        if isinstance(op, _PADDINGS + _CROPPINGS):
            params = _pad_params(op, len(dims), 1 if isinstance(op, _PADDINGS) else -1)
            return [self.window(state, params, call, dims)] * n_out
        if type(op).__name__.startswith(("AdaptiveAveragePooling", "AdaptiveMaxPooling")):
            return [self.window(state, _adaptive_params(call, dims), call, dims)] * n_out
        if isinstance(op, _GLOBAL):
            return [self.whole(state)] * n_out
        if isinstance(op, _CHANNEL_AXIS_LAYERS):
            if _channel_axis_only(op, rank, self.data_format):
                return [state] * n_out
            raise _unsupported(call, "it normalizes over a spatial axis")
        if isinstance(op, layers.Dense):
            if self.data_format == "channels_last":
                return [state] * n_out  # a 1x1 convolution on the channel axis
            raise _unsupported(call, "Dense acts on the last axis, a spatial one in "
                                     "channels_first")
        if isinstance(op, _UPSAMPLING):
            raise _unsupported(call, "it upsamples (fields of upsampling networks are not "
                                     "computed)")
        raise _unsupported(call, "its effect on positions is unknown; if it acts on each "
                                 "position separately, declare it with `pointwise`, e.g. "
                                 f"receptive_field(model, pointwise=({type(op).__name__},))")

    @staticmethod
    def window(state, params, call, dims):
        return tuple(a.window(k, s, p, call.input_shapes[0][dim], call.output_shapes[0][dim])
                     for a, (k, s, p), dim in zip(state, params, dims))

    @staticmethod
    def whole(state):
        """A global operation over a spatial feature map: it reads what the map reads."""
        return tuple(_Whole(a.first, a.last) for a in state)

    def merge(self, call, ins, axis=None):
        """The union of the branches' fields; records a misalignment where they disagree."""
        op = call.op
        if isinstance(op, layers.Concatenate):
            axis = op.axis
        if axis is not None:
            rank = len(call.output_shapes[0])
            if axis % rank in _spatial_dims(rank, self.data_format):
                raise _unsupported(call, "it concatenates along a spatial axis")
        whole = [s for s in ins if isinstance(s[0], _Whole)]
        local = [s for s in ins if not isinstance(s[0], _Whole)]
        if not local:
            return tuple(_Whole(_min(a.first for a in axes), _max(a.last for a in axes))
                         for axes in zip(*whole))
        result = []
        for axis, axes in enumerate(zip(*local)):
            strides = {a.stride for a in axes}
            if len(strides) > 1:
                raise _unsupported(call, f"its inputs have different effective strides "
                                       f"{sorted(strides)} along axis {axis}")
            if len({a.centres for a in axes}) > 1:
                centres = frozenset().union(*(a.centres for a in axes))
                self.misalignments.append(Misalignment(
                    layer=call.name, axis=axis, offsets=_offsets(centres)))
            result.append(_Axis(stride=strides.pop(), left=min(a.left for a in axes),
                                right=max(a.right for a in axes),
                                centres=frozenset().union(*(a.centres for a in axes)),
                                first=_min(a.first for a in axes),
                                last=_max(a.last for a in axes),
                                context=bool(whole) or any(a.context for a in axes),
                                units=_union_units(a.units for a in axes)))
        return tuple(result)


def _union_units(ranges):
    """The units that read pixels in one branch or another: None if a branch does not know."""
    ranges = list(ranges)
    if None in ranges:
        return None
    read = [r for r in ranges if r[0] <= r[1]]
    return (min(r[0] for r in read), max(r[1] for r in read)) if read else ranges[0]


def _min(values):
    values = list(values)
    return None if None in values else min(values)


def _max(values):
    values = list(values)
    return None if None in values else max(values)


def _offsets(centres):
    """Sorted centre offsets from doubled ones: ints, or floats ending in .5."""
    return tuple(sorted(c // 2 if c % 2 == 0 else c / 2 for c in centres))


def _public(state):
    axes = []
    for a in state:
        extent = None if a.first is None else (a.first, a.last)
        if isinstance(a, _Whole):
            size = None if extent is None else a.last - a.first + 1
            axes.append(AxisField(size=size, stride=None, padding=None, extent=extent,
                                  is_global=True))
        else:
            axes.append(AxisField(
                size=a.right - a.left + 1, stride=a.stride, padding=-a.left,
                offsets=_offsets(a.centres), extent=extent, global_context=a.context,
                units=a.units))
    return tuple(axes)


def _start(resolved):
    """The input's initial state and the model's data format; checks the model."""
    if len(resolved.inputs) != 1:
        raise ValueError(f"receptive_field needs a model with one input; the model has "
                         f"{len(resolved.inputs)}.")
    data_format = _data_format(resolved.calls)
    shape = resolved.calls[resolved.input_calls[0]].output_shapes[0]
    dims = _spatial_dims(len(shape), data_format)
    if not dims:
        raise ValueError(f"receptive_field needs an input with spatial axes (e.g. height, "
                         f"width, channels); the model input has shape {shape}.")
    state = tuple(_Axis(stride=1, left=0, right=0, centres=frozenset([0]), first=0,
                        last=None if shape[d] is None else shape[d] - 1,
                        units=None if shape[d] is None else (0, shape[d] - 1)) for d in dims)
    return state, data_format


def block_fields(resolved, pointwise=()):
    """The fields of a resolved model's blocks (`summarize(..., receptive_field=True)` uses
    it).

    Args:
        resolved: a `cnnblocks.graph.ModelGraph`.
        pointwise: as in `receptive_field`.

    Returns:
        `(propagation, fields)`: the walk (per-call and per-layer states) and one `Field` per
        block of `resolved.blocks`, in order.
    """
    state, data_format = _start(resolved)
    prop = _Propagation(data_format, pointwise)
    prop.run(resolved, state)
    calls = resolved.calls
    fields = [Field(name=block.name, kind=block.kind,
                    output_shape=tuple(calls[block.output].output_shapes[0][1:]),
                    axes=_public(prop.by_call[block.output])) for block in resolved.blocks]
    return prop, fields


def receptive_field(model, *, input_shape=None, pointwise=()):
    """Receptive field size, effective stride and effective padding per block and at the output.

    Follows Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks"
    (Distill 2019): per layer, `r += (k' - 1) S`, `P += p S`, `S *= s`; where branches merge,
    the union of their fields (the largest when they are aligned), with misalignments
    reported. The module docstring states the conventions ("same" padding, global layers).
    Nothing is executed.

    Args:
        model: a functional or built Sequential `keras.Model` with one image-like input.
        input_shape: None (the shapes the model was built with) or a shape without the batch
            dimension, e.g. `(224, 224, 3)`, as in `cnnblocks.count_macs`. The effective
            padding of strided "same" layers depends on it. Default None.
        pointwise: extra layer classes that act on each position separately (custom
            activations, ...). Default none.

    Returns:
        A `ReceptiveFields`: `.blocks` (one `Field` per `cnnblocks.summarize` row),
        `.layers` (by layer name), `.outputs`, `.misalignments`; `str()` renders a table.

    Raises:
        TypeError: `model` is not a Keras model.
        ValueError: no layer graph, several inputs, an input without spatial axes, a layer
            whose effect on positions is unknown (named), or a strided "same" layer on an
            unknown input size.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.Conv2D(8, 3, padding="same", name="c1")(inputs)
        >>> x = keras.layers.MaxPooling2D(2, name="p1")(x)
        >>> x = keras.layers.Conv2D(8, 3, padding="same", name="c2")(x)
        >>> fields = cnnblocks.receptive_field(keras.Model(inputs, x))
        >>> f = fields.layers["c2"]
        >>> f.size, f.stride, f.padding
        ((8, 8), (2, 2), (3, 3))
        >>> f.span(0, 5)  # unit (0, 5) reads rows -3..4 and columns 7..14
        ((-3, 4), (7, 14))
    """
    if not isinstance(pointwise, (list, tuple)) or not all(
            isinstance(t, type) for t in pointwise):
        raise TypeError(f"`pointwise` must be a tuple of layer classes, received {pointwise!r}.")
    resolved = graphs.resolve(model, input_shape=input_shape)
    prop, fields = block_fields(resolved, pointwise)
    calls = resolved.calls
    layer_fields = {name: Field(name=name, kind=type(call.op).__name__,
                                output_shape=tuple(call.output_shapes[0][1:]),
                                axes=_public(state))
                    for name, (call, state) in prop.layer_states.items()}
    for name, model_, outputs in resolved.nested:
        shape = calls[resolved.producer[outputs[0]]].output_shapes[0]
        layer_fields[name] = Field(name=name, kind=type(model_).__name__,
                                   output_shape=tuple(shape[1:]),
                                   axes=_public(prop.nested_states[name]))
    outputs = []
    for i in resolved.output_calls:
        call = calls[i]
        outputs.append(Field(name=call.name, kind=type(call.op).__name__,
                             output_shape=tuple(call.output_shapes[0][1:]),
                             axes=_public(prop.by_call[i])))
    return ReceptiveFields(model_name=model.name, input_shape=resolved.first_input_shape(),
                           blocks=fields, layers=layer_fields,
                           outputs=outputs, misalignments=list(prop.misalignments))

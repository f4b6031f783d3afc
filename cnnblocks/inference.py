"""Inference-time rewrites of a trained model: batch normalization folded into the layer before
it, and an optional bfloat16-compute copy.

In inference mode a `BatchNormalization` layer is a per-channel affine map,

    y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta = s * x + t,

so when it directly follows a linear layer (a convolution or a dense layer without a fused
activation) it can be merged into that layer: the kernel's output channel `c` is multiplied by
`s[c]` and the bias becomes `s * bias + t`. The folded network computes the same function (up to
float rounding) with one layer fewer per pair and one pass over the feature map less.

Pre-activation networks (ResNet v2, DenseNet) also put a BN right *before* a convolution or a
dense layer. `_input_fold_plan` folds such a BN into the layer that reads it where that is exact
(see `input_fold_is_exact`): the kernel's input channel `c` is multiplied by `s[c]` and the
bias gains the kernel applied to `t`. A BN followed by an activation (BN-ReLU-conv, the usual
pre-activation unit) cannot be folded either way and stays.

Both functions rebuild the model by walking its functional graph: every layer is re-created
from its config (same class, same name), called on the new tensors in the original order, and
given a copy of the original weights. The original model is never modified.
"""

import keras
import numpy as np
from keras import layers

from cnnblocks import _graph as graphs
from cnnblocks import _validation as check

#: Layers a following BatchNormalization is folded into. Only these exact types, since a
#: subclass may change what its kernel means.
FOLDABLE = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.DepthwiseConv1D,
            layers.DepthwiseConv2D, layers.SeparableConv1D, layers.SeparableConv2D,
            layers.Dense)

#: `optimize_for_inference`'s `dtype` choices.
DTYPES = ("float32", "bfloat16")


def _graph(model, subject="`model`"):
    """The functional graph of `model`; `subject` names it in messages. Refuses a model with a
    `Lambda` layer: its function cannot be checked, so no rewrite of it can be proven exact."""
    graph = graphs.functional_graph(model, subject=subject)
    lambdas = [op.name for op in graph.operations if isinstance(op, layers.Lambda)]
    if lambdas:
        raise ValueError(f"{subject} has Lambda layer(s) {lambdas[:5]}: a Lambda's Python "
                         "function cannot be checked, so cnnblocks does not rewrite models "
                         "with one. Replace it with built-in layers or a registered layer.")
    return graph


def _training_flag(node):
    """The `training` argument a call passes explicitly (True/False), or None."""
    _, kwargs = graphs.call_arguments(node)
    flag = kwargs.get("training")
    return flag if isinstance(flag, bool) else None


def _channel_axis(layer, rank):
    """The output-channel axis (non-negative) of a foldable layer's output of rank `rank`."""
    if isinstance(layer, layers.Dense):
        return rank - 1
    return 1 if layer.data_format == "channels_first" else rank - 1


def _fold_plan(graph, nodes):
    """`{id(bn_node): producer_layer}` for every BatchNormalization that can be folded.

    A BN call is folded when its input is the output of an exact `FOLDABLE` layer that has no
    fused activation, is called once in this graph, feeds nothing but this BN (and is not a
    model output), and normalizes that layer's channel axis; the BN itself is called once.
    """
    calls, readers = {}, {}
    for node in nodes:
        op = graphs.node_operation(node)
        calls[id(op)] = calls.get(id(op), 0) + 1
        for x in graphs.node_inputs(node):
            readers[id(x)] = readers.get(id(x), 0) + 1
    for x in keras.tree.flatten(graph.output):
        readers[id(x)] = readers.get(id(x), 0) + 1
    in_graph = {id(node) for node in nodes}
    plan = {}
    for node in nodes:
        bn, inputs = graphs.node_operation(node), graphs.node_inputs(node)
        if type(bn) is not layers.BatchNormalization or len(inputs) != 1:
            continue
        if _training_flag(node) is True:  # batch statistics in inference: not an affine map
            continue
        x = inputs[0]
        producer, producer_node = graphs.history(x)
        if (_foldable(producer) and id(producer_node) in in_graph
                and calls[id(producer)] == 1 and calls[id(bn)] == 1 and readers[id(x)] == 1
                and bn.axis % len(x.shape) == _channel_axis(producer, len(x.shape))):
            plan[id(node)] = producer
    return plan


def _foldable(layer):
    """Whether a BN after `layer` can go into its kernel (plain float layer, no activation)."""
    return (type(layer) in FOLDABLE
            and layer.get_config().get("activation") in ("linear", None)
            and not getattr(layer, "lora_enabled", False)
            and getattr(layer, "quantization_mode", None) is None)


#: Layers a BatchNormalization right before them (their only input) is folded into. Only these
#: exact types, ungrouped: the input channel `c` of their kernel is row `c` of axis -2.
INPUT_FOLDABLE = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.Dense)


def _reads_no_padding(layer, input_shape):
    """Whether the convolution `layer` reads no zero padding at `input_shape` (batch included):
    "valid", or "same" where every spatial size `n` has total padding
    `max((ceil(n / s) - 1) s + (k - 1) d + 1 - n, 0) = 0` (always so for a 1x1 kernel)."""
    if layer.padding == "valid":
        return True
    if layer.padding != "same":  # "causal": pads on the left unless the kernel is 1
        return all(k == 1 for k in layer.kernel_size)
    spatial = (input_shape[1:-1] if layer.data_format == "channels_last"
               else input_shape[2:])
    for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides, layer.dilation_rate):
        if k == 1:
            continue
        if n is None or max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0):
            return False
    return True


def input_fold_is_exact(bn, layer, input_shape):
    """Whether folding the BatchNormalization `bn` into the layer that reads its output is
    exact (up to float rounding). `layer` is one of `INPUT_FOLDABLE`, `input_shape` the BN's
    output shape.

    With `BN(x) = s x + t` per channel, `layer(BN(x)) = layer'(x)` where `layer'` has the
    kernel's input channel `c` multiplied by `s[c]` and the bias `b + sum(kernel * t)`
    (summed over the window and the input channels). This holds wherever every output reads
    only real inputs: always for `Dense`, for "valid" convolutions and for "same" ones that
    pad nothing at this size (1x1 kernels, or sizes that fit the stride exactly). A padded
    convolution reads zeros of `BN(x)`; the folded one would read zeros of `x`, which BN maps
    to `t`: the two agree only when the shift `t` is exactly 0 in every channel (then the
    bias correction is 0 as well).
    """
    if isinstance(layer, layers.Dense) or _reads_no_padding(layer, input_shape):
        return True
    return bool(np.all(_bn_affine(bn)[1] == 0.0))


def _input_fold_plan(graph, nodes, plan):
    """`{id(bn_node): consumer_layer}` for every BatchNormalization folded into the layer
    after it (the pre-activation order), where `input_fold_is_exact`.

    A BN call is folded forward when it is not folded backward (`plan`), is called once, its
    output is read by nothing but one call of an exact, ungrouped `INPUT_FOLDABLE` layer that
    is called once in this graph (and is not a model output), and it normalizes that layer's
    input-channel axis.
    """
    calls, readers = {}, {}
    for node in nodes:
        op = graphs.node_operation(node)
        calls[id(op)] = calls.get(id(op), 0) + 1
        for x in graphs.node_inputs(node):
            readers.setdefault(id(x), []).append(node)
    for x in keras.tree.flatten(graph.output):
        readers.setdefault(id(x), []).append(None)
    result = {}
    for node in nodes:
        bn = graphs.node_operation(node)
        if (type(bn) is not layers.BatchNormalization or id(node) in plan or calls[id(bn)] != 1
                or len(graphs.node_inputs(node)) != 1 or len(graphs.node_outputs(node)) != 1
                or _training_flag(node) is True):  # batch statistics: not an affine map
            continue
        y = graphs.node_outputs(node)[0]
        consumers = readers.get(id(y), [])
        if len(consumers) != 1 or consumers[0] is None:
            continue
        layer = graphs.node_operation(consumers[0])
        rank = len(y.shape)
        if (type(layer) in INPUT_FOLDABLE and calls[id(layer)] == 1
                and getattr(layer, "groups", 1) == 1
                and not getattr(layer, "lora_enabled", False)
                and getattr(layer, "quantization_mode", None) is None
                and bn.axis % rank == _channel_axis(layer, rank)
                and input_fold_is_exact(bn, layer, tuple(y.shape))):
            result[id(node)] = layer
    return result


def _input_folded(kernel, bias, bn):
    """`(kernel, bias)` of a layer with the BN before it folded in (float64 arrays)."""
    scale, shift = _bn_affine(bn)
    shaped = (-1, 1)  # the input channels are axis -2 of Conv and Dense kernels
    folded_bias = bias + (kernel * shift.reshape(shaped)).reshape(-1, kernel.shape[-1]).sum(0)
    return kernel * scale.reshape(shaped), folded_bias


def _numpy(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable), "float64")


def _bn_affine(bn):
    """`(scale, shift)` of a BatchNormalization in inference mode, in float64."""
    mean, var = _numpy(bn.moving_mean), _numpy(bn.moving_variance)
    gamma = _numpy(bn.gamma) if bn.scale else np.ones_like(mean)
    beta = _numpy(bn.beta) if bn.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + bn.epsilon)
    return scale, beta - mean * scale


def _folded_weights(layer, bn, before=None):
    """`{attribute: value}` of every weight of `layer`, with `bn` folded into kernel and bias;
    with `before` (the BN before the layer, see `_input_fold_plan`), `_input_folded_weights`."""
    if before is not None:
        return _input_folded_weights(layer, bn, before)
    scale, shift = _bn_affine(bn)
    weights = {}
    if isinstance(layer, (layers.SeparableConv1D, layers.SeparableConv2D)):
        weights["depthwise_kernel"] = _numpy(layer.depthwise_kernel).astype("float32")
        name, kernel = "pointwise_kernel", _numpy(layer.pointwise_kernel)
        kernel = kernel * scale  # (1, [1,] in * multiplier, filters): output channels last.
    elif isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
        # (*window, in_channels, multiplier); output channel c * multiplier + m.
        name, kernel = "kernel", _numpy(layer.kernel)
        kernel = kernel * scale.reshape(kernel.shape[-2:])
    else:  # Conv (*window, in / groups, filters), Dense (in, units): output channels last.
        name, kernel = "kernel", _numpy(layer.kernel)
        kernel = kernel * scale
    bias = _numpy(layer.bias) if layer.use_bias else np.zeros_like(scale)
    weights[name] = kernel.astype("float32")
    weights["bias"] = (bias * scale + shift).astype("float32")
    return weights


def _input_folded_weights(layer, bn, before):
    """Conv/Dense weights with the BN `before` folded into the input side and `bn` (the BN
    after the layer, or None) into the output side."""
    kernel = _numpy(layer.kernel)
    bias = _numpy(layer.bias) if layer.use_bias else np.zeros(kernel.shape[-1])
    kernel, bias = _input_folded(kernel, bias, before)
    if bn is not None:
        scale, shift = _bn_affine(bn)
        kernel, bias = kernel * scale, bias * scale + shift
    return {"kernel": kernel.astype("float32"), "bias": bias.astype("float32")}


def _clone(op, config_changes):
    """A new operation of `op`'s class from `op`'s config with `config_changes` applied."""
    config = op.get_config()
    config.update(config_changes)
    return op.__class__.from_config(config)


def _rebuild(model, *, fold, compute_dtype, subject="`model`", substitute=None):
    """The model rebuilt from its graph, BN folded (`fold`) and with `compute_dtype` layers.

    `substitute(layer)`, when given, returns `(new layer, weights)` for a layer to replace
    (`weights` its values for the new layer) or None to keep it (`cnnblocks.deploy`'s
    portable rewrite); it is not combined with `fold` or `compute_dtype`.

    `compute_dtype` None keeps every layer's dtype policy; "bfloat16" gives every layer with a
    float32 policy the `mixed_bfloat16` policy (float32 variables, bfloat16 compute), except the
    layers that produce the model's outputs, which keep float32.
    """
    graph = _graph(model, subject)
    nodes = graphs.ordered_nodes(graph)
    plan = _fold_plan(graph, nodes) if fold else {}
    folded_into = {id(plan[id(node)]): graphs.node_operation(node)
                   for node in nodes if id(node) in plan}
    # BNs folded into the layer after them (pre-activation order): {id(layer): bn}.
    before_plan = _input_fold_plan(graph, nodes, plan) if fold else {}
    folded_before = {id(before_plan[id(node)]): graphs.node_operation(node) for node in nodes
                     if id(node) in before_plan}
    # The layer that produces each model output once BNs are folded: it stays float32.
    output_ops = set()
    for x in keras.tree.flatten(graph.output):
        op, node = graphs.history(x)
        output_ops.add(id(plan[id(node)]) if id(node) in plan else id(op))

    tensors, clones, originals, substituted = {}, {}, {}, {}
    for node in nodes:
        op = graphs.node_operation(node)
        if graphs.is_input_node(node):
            new = _clone(op, {})
            tensors[id(graphs.node_outputs(node)[0])] = new.output
            continue
        if id(node) in plan or id(node) in before_plan:
            # The BN is now part of its producer (or its reader): pass the tensor through.
            tensors[id(graphs.node_outputs(node)[0])] = tensors[id(graphs.node_inputs(node)[0])]
            continue
        if id(op) not in clones:
            originals[id(op)] = op
            swap = None if substitute is None or isinstance(op, keras.Model) else (
                substitute(op))
            if swap is not None:
                clones[id(op)], substituted[id(op)] = swap
            else:
                clones[id(op)] = _clone_operation(op, fold=fold, compute_dtype=compute_dtype,
                                                  keep_float32=id(op) in output_ops,
                                                  folded=(id(op) in folded_into
                                                          or id(op) in folded_before),
                                                  subject=subject, substitute=substitute)
        outputs = graphs.call_again(node, clones[id(op)], tensors)
        for x, y in zip(graphs.node_outputs(node), outputs):
            tensors[id(x)] = y

    for key, new in clones.items():
        old = originals[key]
        if isinstance(old, keras.Model):
            continue  # Rebuilt with its weights.
        if key in substituted:
            new.set_weights(substituted[key])
            continue
        if key in folded_into or key in folded_before:
            for attribute, value in _folded_weights(old, folded_into.get(key),
                                                    before=folded_before.get(key)).items():
                getattr(new, attribute).assign(value)
            continue
        if isinstance(old, keras.Layer):
            new.set_weights(old.get_weights())

    taken = {op.name for op in graph.operations}
    casts = {}

    def output(x):
        y = tensors[id(x)]
        if compute_dtype is not None and y.dtype != x.dtype:
            # Produced by an operation that is not a layer (no dtype policy): cast it back,
            # once per tensor, under a name no other layer has (one operation can make
            # several outputs, e.g. `ops.split`).
            if id(y) not in casts:
                base = f"{graphs.history(x)[0].name}_{x.dtype}"
                name, k = base, 1
                while name in taken:
                    name, k = f"{base}_{k}", k + 1
                taken.add(name)
                casts[id(y)] = layers.Activation("linear", dtype=x.dtype, name=name)(y)
            y = casts[id(y)]
        return y

    inputs = keras.tree.map_structure(lambda x: tensors[id(x)], graph.input)
    outputs = keras.tree.map_structure(output, graph.output)
    return keras.Model(inputs, outputs, name=model.name)


def _clone_operation(op, *, fold, compute_dtype, keep_float32, folded, subject,
                     substitute=None):
    """A fresh copy of one graph operation (nested models are rebuilt recursively)."""
    if isinstance(op, keras.Model):
        return _rebuild(op, fold=fold, compute_dtype=compute_dtype,
                        subject=f"The nested model {op.name!r} in {subject}",
                        substitute=substitute)
    changes = {}
    if folded:
        changes["use_bias"] = True
    if compute_dtype == "bfloat16" and not keep_float32 and isinstance(op, keras.Layer):
        policy = op.dtype_policy
        if policy.name == "float32":
            changes["dtype"] = keras.DTypePolicy("mixed_bfloat16")
    return _clone(op, changes)


def fold_batchnorm(model):
    """A new inference-only model with every foldable BatchNormalization merged into the layer
    before it.

    A `BatchNormalization` called with `training=True` inside the graph uses batch statistics
    even at inference, so it is never folded (it stays, exactly as it was). Any other
    `BatchNormalization` is folded when it directly follows a `Conv1D/2D/3D`,
    `DepthwiseConv1D/2D`, `SeparableConv1D/2D` or `Dense` layer that has no fused activation,
    is that layer's only consumer, and normalizes its channel axis. In inference mode BN is
    `y = s * x + t` per channel with `s = gamma / sqrt(moving_variance + epsilon)` and
    `t = beta - moving_mean * s` (`gamma = 1` when `scale=False`, `beta = 0` when
    `center=False`); folding multiplies the kernel's output channel `c` by `s[c]` and sets the
    bias to `s * bias + t`:

    - `Conv*D` / `Dense`: the kernel's last axis (output channels);
    - `SeparableConv*D`: the pointwise kernel and the bias (the depthwise kernel is unchanged);
    - `DepthwiseConv*D`: the kernel `(*window, channels, multiplier)`, output channel
      `c * multiplier + m` scaled by `s[c * multiplier + m]`.

    A layer without a bias (`use_bias=False`, as in Xception and Inception-V3) gets one.
    The folded layer keeps its name; the BN layer disappears.

    A BN right *before* a `Conv1D/2D/3D` (ungrouped) or `Dense` layer that is its only reader
    (pre-activation order, BN -> conv with nothing between) is folded into that layer's input
    side where this is exact (`input_fold_is_exact`): the kernel's input channel `c` is
    multiplied by `s[c]` and the bias gains `sum(kernel * t)`, for `Dense`, for "valid"
    convolutions and for "same" ones that pad nothing at the model's input size (1x1 kernels);
    a padded convolution only where the shift `t` is exactly 0. A layer can take a BN on each
    side. BN-ReLU-conv, the pre-activation unit of ResNet v2 and DenseNet, has a ReLU between
    and keeps its BN. Every other layer is re-created
    with its name, config and weights; BNs that cannot be folded (after an activation, after
    a layer with several consumers, shared layers) stay as they are. Nested models are rebuilt
    recursively (their BNs folded inside them). The original model is not modified.

    The result computes the original model's inference-mode outputs (`training=False`) up to
    float32 rounding (the tests see relative differences below 1e-6 on ResNet-50, Xception,
    Inception-V3 and GoogLeNet with random BN statistics). It is not meant for training:
    without BN, fine-tuning behaves differently. `model.layers` lists the layers in Keras'
    graph order (by depth), which can differ from the original's where BNs were removed;
    a nested `Sequential` comes back as a functional model.

    Args:
        model: a functional `keras.Model` or a built `keras.Sequential`, possibly with nested
            functional or Sequential models.

    Returns:
        A new functional `keras.Model` with the same name, inputs and output structure.
        It saves to `.keras` and loads with `safe_mode=True` as the original does.

    Raises:
        TypeError: `model` is not a `keras.Model`.
        ValueError: `model` (or a nested model) is subclassed, so it has no graph to rebuild.

    Example:
        >>> import keras
        >>> import cnnblocks
        >>> inputs = keras.Input((16, 16, 3))
        >>> x = keras.layers.Conv2D(8, 3, use_bias=False, name="conv")(inputs)
        >>> x = keras.layers.BatchNormalization(name="bn")(x)
        >>> model = keras.Model(inputs, keras.layers.ReLU(name="relu")(x))
        >>> folded = cnnblocks.fold_batchnorm(model)
        >>> [layer.name for layer in folded.layers]
        ['input_layer', 'conv', 'relu']
        >>> folded.get_layer("conv").use_bias
        True
    """
    return _rebuild(model, fold=True, compute_dtype=None)


def optimize_for_inference(model, *, dtype="float32"):
    """A new model for fast inference: BatchNormalization folded, optionally bfloat16 compute.

    Args:
        model: a functional `keras.Model` or a built `keras.Sequential`.
        dtype: `"float32"` (default): `fold_batchnorm(model)`, same results up to rounding.
            `"bfloat16"`: the folded model with every float32 layer given the
            `mixed_bfloat16` policy (float32 weights, bfloat16 arithmetic), except the layers
            that produce the outputs of the model (or of a nested model), which stay float32:
            inputs are still float32 and a softmax classifier still returns float32
            probabilities.

    Returns:
        A new functional `keras.Model` (same name and layer names as `fold_batchnorm`).

    Raises:
        TypeError: `model` is not a `keras.Model`.
        ValueError: `dtype` is not one of `"float32"`, `"bfloat16"`; or the model has no graph.

    Note:
        bfloat16 keeps float32's exponent range but only 8 bits of mantissa. On ResNet-50
        (random weights, randomized BN statistics) the softmax outputs differ from float32 by
        4e-3 of their maximum at 224x224 (6e-3 on the logits at 32x32) and the top-5 classes
        agree; `tests/test_inference.py` bounds these, `docs/benchmarks.md` reports them. It is
        faster only on hardware with native bfloat16 arithmetic (recent GPUs and TPUs, CPUs
        with AVX512-BF16 or AMX); on other CPUs (AVX2 only) it is emulated and measured slower
        than float32.

        On CPU, what folding saves depends on TensorFlow's kernels: its oneDNN kernels fuse a
        convolution with its bias, a residual add and a ReLU, so the folded model runs little
        but convolutions. TensorFlow turns them on by itself only on CPUs with AVX512-VNNI/BF16
        or AMX; elsewhere set the environment variable `TF_ENABLE_ONEDNN_OPTS=1` before
        importing TensorFlow (`benchmarks/bench_vs_keras.py` does, and `docs/benchmarks.md`
        reports the speed-ups measured).

    Example:
        >>> import cnnblocks
        >>> model = cnnblocks.ResNet50(weights=None, input_shape=(64, 64, 3))
        >>> fast = cnnblocks.optimize_for_inference(model, dtype="bfloat16")
        >>> fast.get_layer("conv1_conv").compute_dtype, fast.output.dtype
        ('bfloat16', 'float32')
    """
    _graph(model)
    check.choice(dtype, "dtype", DTYPES)
    return _rebuild(model, fold=True, compute_dtype=None if dtype == "float32" else dtype)

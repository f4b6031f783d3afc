"""The layer graph of a functional Keras model: the one place cnnblocks reads Keras internals.

Keras 3 has no public API for a functional model's call graph: `model.layers` loses shared calls
and the connections between calls. Analysis, block records, diagrams, inference rewrites and the
testing helpers all need that graph, so they read it through this module, and only this module
touches Keras' private attributes. They are listed in `PRIVATE_ATTRIBUTES`;
`tests/test_graph.py` checks each of them on the installed Keras and fails with a message naming
the one that changed.

It also classifies the operations Keras records without a public class (`x + y` is a call of
`keras.src.ops.numpy.Add`) and the layers keras.applications defines without exporting them
(`operation_kind`), by their module and class name; the same test checks those names.

Everything else here is public API: shapes come from the recorded `KerasTensor`s or from
`compute_output_spec`, the model's inputs and outputs from `model.input` / `model.output`.
"""

import numbers

import keras

#: The private Keras attributes this module relies on: (owner, attribute, what it is for).
PRIVATE_ATTRIBUTES = (
    ("Functional", "_nodes_by_depth", "the model's calls (nodes), grouped by depth"),
    ("Sequential", "_functional", "the functional graph inside a built Sequential model"),
    ("KerasTensor", "_keras_history", "(operation, node index, tensor index) that made a tensor"),
    ("Operation", "_inbound_nodes", "the calls of a layer, indexed by `_keras_history`"),
    ("Node", "operation", "the layer (operation) of a call"),
    ("Node", "arguments", "the call's arguments (`.args`, `.kwargs`); `.fill_in(tensors)` "
                          "re-binds them"),
    ("Node", "input_tensors", "the tensors a call reads"),
    ("Node", "outputs", "the tensors a call writes"),
    ("Node", "is_input", "whether a call is an input layer's"),
)


#: keras.ops operations that act elementwise (with broadcasting) on the tensors they read, by
#: class name: called on symbolic tensors (`x + y` is `keras.ops.add`, `x * 0.5`), Keras records
#: each as a call of an operation object of `keras.src.ops` (no public class).
ELEMENTWISE_OPERATIONS = frozenset({
    "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Power",
    "Negative", "Abs", "Absolute", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Tanh", "Sign",
    "Clip", "Erf", "Cast", "Relu", "Relu6", "Sigmoid", "Softplus", "Softsign", "Silu", "Swish",
    "Gelu", "Elu", "Selu", "LeakyRelu", "HardSigmoid", "HardSilu", "HardSwish", "Mish", "Celu",
    "LogSigmoid", "HardTanh", "Sparsemax", "Where"})
#: The `keras.src` packages whose operations `operation_kind` classifies.
_OPS_MODULES = ("keras.src.ops.numpy", "keras.src.ops.nn", "keras.src.ops.math",
                "keras.src.ops.core")
#: Layers keras.applications defines without exporting them, by (module, class name), with
#: how they act: "pointwise" (each position alone: a per-channel scale, batch-wise stochastic
#: depth) or "elementwise" (a merge of same-shaped tensors: `x + scale * y`).
APPLICATION_LAYERS = {
    ("keras.src.applications.convnext", "LayerScale"): "pointwise",
    ("keras.src.applications.convnext", "StochasticDepth"): "pointwise",
    ("keras.src.applications.inception_resnet_v2", "CustomScaleLayer"): "elementwise",
}


def operation_kind(op):
    """How a recorded operation acts: `"layer"` for a `keras.layers.Layer`; for a `keras.ops`
    operation `"elementwise"`, `"concatenate"` (its `axis` attribute says along which axis) or
    `"other"`; a keras.applications layer that Keras does not export: its entry in
    `APPLICATION_LAYERS`."""
    known = APPLICATION_LAYERS.get((type(op).__module__, type(op).__name__))
    if known is not None:
        return known
    if isinstance(op, keras.layers.Layer):
        return "layer"
    if type(op).__module__ in _OPS_MODULES:
        if type(op).__name__ in ELEMENTWISE_OPERATIONS:
            return "elementwise"
        if type(op).__name__ == "Concatenate":
            return "concatenate"
    return "other"


def functional_graph(model, arg="model", *, subject=None):
    """The functional graph of `model` (a built Sequential's inner one); raises when it has none.

    Args:
        model: the model.
        arg: the argument's name, for messages.
        subject: how messages name the model (default: the argument `arg`).

    Raises:
        TypeError: `model` is not a `keras.Model`.
        ValueError: `model` is subclassed or an unbuilt Sequential (no graph to walk).
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


def ordered_nodes(graph):
    """The graph's calls in topological order (inputs first), stable across builds: within one
    depth, in the order of `graph.operations`."""
    layer_order = {id(op): i for i, op in enumerate(getattr(graph, "operations", []))}
    nodes = []
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        nodes.extend(sorted(graph._nodes_by_depth[depth],
                            key=lambda n: layer_order.get(id(n.operation), -1)))
    return nodes


def is_input_node(node):
    return node.is_input


def node_operation(node):
    return node.operation


def node_inputs(node):
    """The tensors a call reads."""
    return list(node.input_tensors)


def node_outputs(node):
    """The tensors a call writes."""
    return list(node.outputs)


def call_arguments(node):
    """`(args, kwargs)` a call was made with (tensors as `KerasTensor`s)."""
    return tuple(node.arguments.args), dict(node.arguments.kwargs)


def call_again(node, operation, tensors):
    """Calls `operation` with `node`'s arguments, each tensor replaced by `tensors[id(tensor)]`;
    returns the flat list of outputs (the way a rewrite replays a graph)."""
    args, kwargs = node.arguments.fill_in(tensors)
    return keras.tree.flatten(operation(*args, **kwargs))


def output_spec(node, tensors):
    """The output specs of `node`'s operation on the tensors `tensors[id(tensor)]`."""
    args, kwargs = node.arguments.fill_in(tensors)
    return keras.tree.flatten(node.operation.compute_output_spec(*args, **kwargs))


def history(tensor):
    """`(operation, node)` that produced a symbolic tensor, or `(None, None)` for another value
    (a NumPy array, an eager tensor)."""
    record = getattr(tensor, "_keras_history", None)
    if record is None:
        return None, None
    operation, node_index, _ = record
    return operation, operation._inbound_nodes[node_index]


def is_symbolic(tensor):
    """Whether `tensor` is a Keras symbolic tensor with a recorded history."""
    return keras.utils.is_keras_tensor(tensor) and history(tensor)[0] is not None


def operations_between(inputs, outputs):
    """The operations computed from `inputs` to reach `outputs`, in topological order.

    Walks back from `outputs` and stops at the tensors of `inputs`; the operations met are the
    ones a function created when it mapped `inputs` to `outputs` (a block's layers).
    Operations producing `inputs` are not included.
    """
    stop = {id(t) for t in inputs}
    seen, order = set(), []

    def visit(tensor):
        if id(tensor) in stop:
            return
        op, node = history(tensor)
        if node is None or id(node) in seen:
            return
        seen.add(id(node))
        if not node.is_input:
            for parent in node.input_tensors:
                visit(parent)
        order.append(op)

    for tensor in outputs:
        visit(tensor)
    return list({id(op): op for op in order}.values())


def ancestors(tensor):
    """Every operation `tensor` depends on (itself produced by the last), topological order."""
    return operations_between([], [tensor])


def source_input_layers(tensor):
    """The input layers (`keras.layers.InputLayer`) `tensor` is computed from."""
    return [op for op in ancestors(tensor) if isinstance(op, keras.layers.InputLayer)]


def layer_inputs(layer):
    """The tensors read by a layer's first call (empty for an input layer or an uncalled one)."""
    nodes = layer._inbound_nodes
    return [] if not nodes or nodes[0].is_input else list(nodes[0].input_tensors)


def check_input_spec(op, inputs):
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


def check_input_shapes(input_shape, graph):
    """Validates `input_shape` (one shape or one per input) against the model's inputs; returns
    a list of shapes without the batch dimension, or None."""
    if input_shape is None:
        return None
    inputs = keras.tree.flatten(graph.input)
    if isinstance(input_shape, (list, tuple)) and input_shape and all(
            isinstance(s, (list, tuple)) for s in input_shape):
        shapes = list(input_shape)
    elif isinstance(input_shape, (list, tuple)):
        shapes = [input_shape]
    else:
        raise TypeError("`input_shape` must be a tuple of positive integers without the batch "
                        f"dimension, e.g. (224, 224, 3); received {input_shape!r}.")
    if len(shapes) != len(inputs):
        raise ValueError(f"`input_shape` must give one shape per model input ({len(inputs)}); "
                         f"received {input_shape!r}.")
    result = []
    for shape, tensor in zip(shapes, inputs):
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

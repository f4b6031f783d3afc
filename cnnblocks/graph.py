"""The graph engine: a model resolved once into the one value every tool reads.

`resolve(model)` walks a functional or built Sequential Keras model once and returns a
`ModelGraph`: its calls in topological order, with their shapes and the calls they read from,
the block records stored when cnnblocks built it, and (computed on first use) its blocks.
`summarize`, `count_macs`, `weight_depth`, `receptive_field`, `plot`/`to_dot`,
`feature_extractor`, the snapshots and `cnnblocks.testing` all read that value, so a model is
walked once per question, and every tool sees the same graph.

What the graph is.

- **Flat.** A nested model (functional or Sequential, any depth) is inlined: its layers are
  calls of the outer graph, each with the `path` of model names that leads to it
  (`("backbone",)`), so blocks inside it are blocks of the outer model. A model or layer
  called twice gives two calls of the same layer (its parameters are the layer's, counted
  once by the tools; its multiply-adds are counted per call).
- **Operations too.** Keras records `x + y`, `keras.ops.add(x, y)`, `x * 0.5` and the other
  `keras.ops` called on symbolic tensors as calls of an operation, not a layer: they are
  calls here as well (`Call.is_layer` is False). A call that reads two or more distinct
  tensors is a *merge* (`layers.Add`, `x + y`, a scaled add, `Concatenate`, a gate); one that
  reads one tensor acts on it alone (`x + 3.0`).
- **Values.** Each tensor of the flattened graph is a value, numbered; a call reads
  `inputs` and writes `outputs` (value numbers), and `parents` are the calls that wrote them.

Keras internals are read through `cnnblocks._graph` only.
"""

import dataclasses
import functools

import keras

from cnnblocks import _graph, grouping, identity


@dataclasses.dataclass(eq=False)
class Call:
    """One call of a layer or operation in the flattened graph.

    Attributes:
        index: its position in `ModelGraph.calls` (topological order).
        op: the layer or operation called.
        node: the Keras node of the call (in the graph of the model that made it).
        path: names of the nested models this call is inside, outermost first; `()` at the
            top level.
        inputs: value numbers the call reads (in the order it reads them).
        outputs: value numbers the call writes.
        input_shapes: list of input shapes (batch dimension included).
        output_shapes: list of output shapes.
        parents: indices of the calls that wrote its inputs, without repeats, in order.
    """

    index: int
    op: object
    node: object
    path: tuple
    inputs: tuple
    outputs: tuple
    input_shapes: list
    output_shapes: list
    parents: list

    @property
    def name(self):
        """The layer's name, prefixed by its nested models' (`"backbone/conv1"`)."""
        return "/".join((*self.path, self.op.name))

    @property
    def is_input(self):
        """Whether this is a model input (an input layer of the top-level model)."""
        return isinstance(self.op, keras.layers.InputLayer)

    @property
    def is_layer(self):
        """Whether the call is a layer's (else a `keras.ops` operation's, e.g. `x + y`)."""
        return isinstance(self.op, keras.layers.Layer)

    @property
    def is_merge(self):
        """Whether the call reads two or more distinct values (a merge of branches)."""
        return len(set(self.inputs)) >= 2


@dataclasses.dataclass(eq=False)
class ModelGraph:
    """A model resolved once (`resolve`): its flattened calls, shapes, records and blocks.

    Attributes:
        model: the model.
        calls: the `Call`s in topological order (inputs first).
        inputs: value numbers of the model's inputs, in input order.
        outputs: value numbers of the model's outputs, in output order.
        records: `(path, identity.BlockRecord)` of every recorded block of the model and of
            the models nested in it.
        input_shapes: the input shapes the graph was traced at (without batch), or None for
            the shapes the model was built with.
        nested: `(name, model, output values)` of each call of a nested model (its name
            with its path), in graph order.
    """

    model: object
    calls: list
    inputs: list
    outputs: list
    records: list
    input_shapes: object
    nested: list = dataclasses.field(default_factory=list)

    @functools.cached_property
    def producer(self):
        """Value number -> index of the call that writes it."""
        return {v: c.index for c in self.calls for v in c.outputs}

    @functools.cached_property
    def children(self):
        """Per call, the indices of the calls reading its outputs, in order."""
        result = [[] for _ in self.calls]
        for call in self.calls:
            for p in call.parents:
                result[p].append(call.index)
        return result

    @functools.cached_property
    def blocks(self):
        """The model's blocks (`grouping.Block`s), in graph order: its recorded block calls,
        and groups found from the graph's structure for the rest (`cnnblocks.grouping`)."""
        return grouping.find_blocks(self.calls, self.records)

    @property
    def output_calls(self):
        """Indices of the calls that produce the model's outputs, in output order."""
        return [self.producer[v] for v in self.outputs]

    @property
    def input_calls(self):
        return [self.producer[v] for v in self.inputs]

    def layers(self):
        """The distinct layers of the graph (each once, in the order of their first call)."""
        return list({id(c.op): c.op for c in self.calls if c.is_layer and not c.is_input}
                    .values())

    def first_input_shape(self):
        """The first input's shape, without the batch dimension."""
        return tuple(self.calls[self.input_calls[0]].output_shapes[0][1:])


class _Tracer:
    """Builds the flattened call list."""

    def __init__(self):
        self.calls = []
        self.producer = {}
        self.shapes = {}
        self.next_value = 0
        self.records = []
        self.inputs = []
        self.nested = []
        self.requested = None

    def value(self, shape):
        v = self.next_value
        self.next_value += 1
        self.shapes[v] = tuple(shape)
        return v

    def add(self, op, node, path, inputs, outputs):
        index = len(self.calls)
        parents = list(dict.fromkeys(self.producer[v] for v in inputs if v in self.producer))
        call = Call(index=index, op=op, node=node, path=path, inputs=tuple(inputs),
                    outputs=tuple(outputs), input_shapes=[self.shapes[v] for v in inputs],
                    output_shapes=[self.shapes[v] for v in outputs], parents=parents)
        self.calls.append(call)
        for v in outputs:
            self.producer[v] = index
        return call

    def trace(self, model, graph, path, input_values, specs):
        """Adds the calls of `graph` reading `input_values` (None at the top level: input
        calls are made); returns the value numbers of its outputs.

        `specs` maps `id(tensor)` to a symbolic tensor of the new shape where shapes are
        re-propagated (`input_shape`, or a nested model called at another size), else None.
        """
        self.records.extend((path, r) for r in identity.block_records(model))
        values = {}
        graph_inputs = keras.tree.flatten(graph.input)
        if input_values is not None:
            for x, v in zip(graph_inputs, input_values):
                values[id(x)] = v
        for node in _graph.ordered_nodes(graph):
            op = _graph.node_operation(node)
            node_outputs = _graph.node_outputs(node)
            if _graph.is_input_node(node):
                if input_values is None:
                    outs = [self.value(self._spec(x, specs).shape) for x in node_outputs]
                    for x, v in zip(node_outputs, outs):
                        values[id(x)] = v
                    self.add(op, node, path, [], outs)
                continue
            ins = [values[id(t)] for t in _graph.node_inputs(node)]
            inner = _nested_graph(op)
            if inner is not None:
                inner_specs = self._inner_specs(inner, ins, specs is not None)
                outs = self.trace(op, inner, path + (op.name,), ins, inner_specs)
                self.nested.append(("/".join((*path, op.name)), op, tuple(outs)))
                if specs is not None:
                    self._set_specs(node, specs, [self.shapes[v] for v in outs])
            else:
                if specs is not None:
                    shapes = self._propagate(node, op, specs, path, self.requested)
                else:
                    shapes = [tuple(x.shape) for x in node_outputs]
                outs = [self.value(s) for s in shapes]
                self.add(op, node, path, ins, outs)
            for x, v in zip(node_outputs, outs):
                values[id(x)] = v
        if input_values is None:
            self.inputs = [values[id(x)] for x in graph_inputs]
        return [values[id(t)] for t in keras.tree.flatten(graph.output)]

    @staticmethod
    def _spec(tensor, specs):
        return tensor if specs is None else specs[id(tensor)]

    def _inner_specs(self, inner, ins, propagating):
        """Specs for a nested model's inputs: None where it is called at its own shapes."""
        inner_inputs = keras.tree.flatten(inner.input)
        here = [self.shapes[v] for v in ins]
        own = [tuple(x.shape) for x in inner_inputs]
        if not propagating and [s[1:] for s in here] == [s[1:] for s in own]:
            return None
        return {id(x): keras.KerasTensor(s, dtype=x.dtype) for x, s in zip(inner_inputs, here)}

    @staticmethod
    def _set_specs(node, specs, shapes):
        for x, s in zip(_graph.node_outputs(node), shapes):
            specs[id(x)] = keras.KerasTensor(s, dtype=x.dtype)

    @staticmethod
    def _propagate(node, op, specs, path, requested):
        try:
            _graph.check_input_spec(op, [specs[id(x)] for x in _graph.node_inputs(node)])
            outputs = _graph.output_spec(node, specs)
        except Exception as err:  # noqa: BLE001 - any layer may reject the new shape
            name = "/".join((*path, op.name))
            what = (f"`input_shape` {requested!r}" if requested is not None else
                    "the input shapes it is called with")
            raise ValueError(f"The model does not accept {what}: layer {name!r} fails with "
                             f"{type(err).__name__}: {err}") from None
        for x, y in zip(_graph.node_outputs(node), outputs):
            specs[id(x)] = y
        return [tuple(y.shape) for y in outputs]


def _nested_graph(op):
    """The functional graph of a nested model, or None for a layer or operation; raises for a
    nested model without one (subclassed, unbuilt Sequential)."""
    if not isinstance(op, keras.Model):
        return None
    return _graph.functional_graph(op, subject=f"The nested model {op.name!r}")


def default_input_shapes(model, graph, input_shape):
    """The input shapes (without batch) to trace `model` at: `input_shape` when given
    (checked), else None, except for a cnnblocks architecture built with unknown height and
    width, which takes its registered ImageNet size (found through its model record)."""
    shapes = _graph.check_input_shapes(input_shape, graph)
    inputs = keras.tree.flatten(graph.input)
    dims = tuple(inputs[0].shape)[1:] if len(inputs) == 1 else ()
    unknown = [i for i, d in enumerate(dims) if d is None]
    if shapes is not None or len(dims) != 3 or unknown not in ([0, 1], [1, 2]):
        return shapes  # given, static, or not an image with unknown height and width
    name = (identity.model_record(model) or {}).get("model")
    if not isinstance(name, str):
        return None
    from cnnblocks import registry  # every family module: imported only when needed
    try:
        size = registry.entry(name).default_size
    except ValueError:  # a record naming a model this version does not register
        return None
    return [tuple(size if d is None else d for d in dims)]


def resolve(model, *, input_shape=None, arg="model"):
    """Resolves `model` once into a `ModelGraph`.

    Args:
        model: a functional or built Sequential `keras.Model` (nested models of either kind
            are inlined), or a `ModelGraph` (returned as it is).
        input_shape: None (the shapes the model was built with; a cnnblocks architecture
            built with unknown height and width takes its ImageNet size) or a shape without
            the batch dimension, e.g. `(224, 224, 3)` (a list of them for several inputs):
            shapes are propagated symbolically (`compute_output_spec`; nothing runs, no
            weights are made).
        arg: the argument's name, for messages.

    Returns:
        A `ModelGraph`.

    Raises:
        TypeError: `model` is not a `keras.Model`; `input_shape` is not a tuple.
        ValueError: `model` (or a model nested in it) is subclassed or an unbuilt Sequential
            model, which have no layer graph to read; `input_shape` does not fit the model.
        Nothing is changed on the model.

    Example:
        >>> import keras
        >>> from cnnblocks import graph
        >>> inputs = keras.Input((8, 8, 3), name="image")
        >>> x = keras.layers.Conv2D(3, 3, padding="same", name="conv")(inputs)
        >>> g = graph.resolve(keras.Model(inputs, x + inputs))  # `x + y`: an operation
        >>> [(c.op.name, c.is_layer, c.is_merge) for c in g.calls][:2]
        [('image', True, False), ('conv', True, False)]
        >>> g.calls[2].is_layer, g.calls[2].is_merge, g.calls[2].parents
        (False, True, [1, 0])
    """
    if isinstance(model, ModelGraph):
        if input_shape is not None and input_shape != model.input_shapes:
            return resolve(model.model, input_shape=input_shape, arg=arg)
        return model  # resolved already
    top = _graph.functional_graph(model, arg)
    shapes = default_input_shapes(model, top, input_shape)
    specs = None
    if shapes is not None:
        specs = {id(x): keras.KerasTensor((None,) + tuple(s), dtype=x.dtype)
                 for x, s in zip(keras.tree.flatten(top.input), shapes)}
    tracer = _Tracer()
    tracer.requested = shapes
    outputs = tracer.trace(model, top, (), None, specs)
    return ModelGraph(model=model, calls=tracer.calls, inputs=tracer.inputs, outputs=outputs,
                      records=tracer.records, input_shapes=shapes, nested=tracer.nested)


def format_shape(shape):
    """`"56x56x64"` from `(None, 56, 56, 64)`; unknown sizes are `?`."""
    return "x".join("?" if d is None else str(d) for d in shape[1:])

"""Block identity: every call of a cnnblocks block is recorded, so tools can find it again.

A block is a plain function `block(x, <widths>, *, <options>, name=None) -> tensor` that adds a
few ordinary Keras layers to a functional graph. Decorated with `@block_function`, each call
(the outermost one: blocks calling blocks record only the outer call) leaves a `BlockRecord`:
its kind (the function's name), its arguments, the names of the layers it created, and a short
label of its widths. The layers themselves stay exactly as Keras makes them (no wrapper, no
nested model, no Lambda), so layer names and weight files are unchanged.

Where records live. A record is kept by the input layer the block's input is computed from: the
first call of a block on a graph turns that `keras.layers.InputLayer` into this module's
`InputLayer`, a registered subclass with the same name, behaviour and weights (none) whose
config carries the records. They therefore travel with the model: `model.save("m.keras")` and
`keras.models.load_model("m.keras", safe_mode=True)` (with `cnnblocks` imported) keep them, and
`cnnblocks.fold_batchnorm` keeps them. Architectures record their stems and heads the same way
with `region`, and the model's own record (family, registry name, feature taps) with
`record_model`.

Names. With `name=None` a block takes a unique, deterministic prefix: its kind, numbered as Keras
numbers layers (`inception_module`, `inception_module_1`, ... in a fresh session), skipping any
prefix already used in the graph the block is called on. A given `name` that is already the
name of a block the input is computed from is refused (ValueError naming it): one model holds
one block of each name.
"""

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import numbers

import keras

from cnnblocks import _graph
from cnnblocks import _validation as check

#: Config keys of the recording input layer.
_BLOCKS_KEY = "cnnblocks_blocks"
_MODEL_KEY = "cnnblocks_model"

#: Set while a block or region is being built: calls inside it are part of it, not blocks.
_BUILDING = contextvars.ContextVar("cnnblocks_building_block", default=False)


@dataclasses.dataclass(frozen=True)
class BlockRecord:
    """What one block call was.

    Attributes:
        name: the layer-name prefix of the block (the `name` given, or the one it picked).
        kind: the block function's name (`"inception_module"`), or a region's kind
            (`"stem"`, `"head"`).
        args: dict of the call's arguments (widths and options, defaults filled in; `x` and
            `name` left out), JSON values.
        label: a short text of the widths, e.g. `"64 | 96→128 | 16→32 | pool→32"`.
        layers: names of the layers the call created, in graph order.
        outputs: names of the layers producing the block's outputs.
    """

    name: str
    kind: str
    args: dict
    label: str
    layers: tuple
    outputs: tuple

    def to_config(self):
        return {"name": self.name, "kind": self.kind, "args": self.args, "label": self.label,
                "layers": list(self.layers), "outputs": list(self.outputs)}

    @classmethod
    def from_config(cls, config):
        return cls(name=config["name"], kind=config["kind"], args=dict(config.get("args", {})),
                   label=config.get("label", ""), layers=tuple(config.get("layers", ())),
                   outputs=tuple(config.get("outputs", ())))


@keras.saving.register_keras_serializable(package="cnnblocks", name="InputLayer")
class InputLayer(keras.layers.InputLayer):
    """A `keras.layers.InputLayer` that keeps cnnblocks' block records in its config.

    It behaves exactly as Keras' input layer (its class name is `InputLayer` too); the two
    extra config entries are the records of the blocks built on it and, for a cnnblocks
    architecture, the model record.
    """

    def __init__(self, *args, cnnblocks_blocks=(), cnnblocks_model=None, **kwargs):
        super().__init__(*args, **kwargs)
        _init_records(self, cnnblocks_blocks, cnnblocks_model)

    def get_config(self):
        config = super().get_config()
        config[_BLOCKS_KEY] = [dict(r) for r in self.__dict__[_BLOCKS_KEY]]
        if self.__dict__[_MODEL_KEY] is not None:
            config[_MODEL_KEY] = dict(self.__dict__[_MODEL_KEY])
        return config


InputLayer.__qualname__ = "InputLayer"


def _init_records(layer, blocks, model):
    # Plain attributes, out of Keras' tracking (which would wrap lists and dicts).
    object.__setattr__(layer, _BLOCKS_KEY, [dict(b) for b in blocks])
    object.__setattr__(layer, _MODEL_KEY, None if model is None else dict(model))


def _recording_layer(input_layer):
    """`input_layer`, turned into the recording `InputLayer` if it is a plain one."""
    if not isinstance(input_layer, InputLayer):
        input_layer.__class__ = InputLayer
        _init_records(input_layer, (), None)
    return input_layer


def _jsonable(value):
    """A JSON-friendly copy of an argument value (tuples become lists; objects their name)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return getattr(value, "__name__", None) or type(value).__name__


def _store(inputs, outputs, *, kind, name, args, label):
    """Records the block that maps `inputs` to `outputs` on their input layer."""
    inputs = [t for t in keras.tree.flatten(inputs) if _graph.is_symbolic(t)]
    outputs = keras.tree.flatten(outputs)
    if not inputs or not all(_graph.is_symbolic(t) for t in outputs):
        return None  # eager call: there is no graph to record in
    created = _graph.operations_between(inputs, outputs)
    sources = _graph.source_input_layers(inputs[0])
    if not created or not sources:
        return None
    record = BlockRecord(
        name=name, kind=kind, args={k: _jsonable(v) for k, v in args.items()}, label=label,
        layers=tuple(op.name for op in created),
        outputs=tuple(_graph.history(t)[0].name for t in outputs))
    holder = _recording_layer(sources[0])
    holder.__dict__[_BLOCKS_KEY].append(record.to_config())
    return record


@contextlib.contextmanager
def _building():
    token = _BUILDING.set(True)
    try:
        yield
    finally:
        _BUILDING.reset(token)


class _Region:
    """The handle `region` yields: call `done(outputs)` with the region's output tensor(s)."""

    def __init__(self, inputs, kind, name, args, label):
        self.inputs, self.kind, self.name, self.args, self.label = inputs, kind, name, args, label
        self.outputs = None

    def done(self, outputs):
        self.outputs = outputs
        return outputs


@contextlib.contextmanager
def region(inputs, kind, name, *, args=None, label=""):
    """Records the layers built inside the `with` body as one block of kind `kind`.

    For the parts of an architecture that are not one block call (a stem, a head): blocks
    called inside the body are part of the region and are not recorded on their own. Nested
    inside another block or region, it records nothing.

    Args:
        inputs: the tensor (or list of tensors) the region starts from.
        kind: str, e.g. `"stem"`, `"head"`.
        name: str, the region's name (its summary row).
        args: dict of what defines it (widths, strides). Default none.
        label: short text of its widths, for diagrams.

    Example:
        >>> import keras
        >>> from cnnblocks import identity
        >>> x = keras.Input((32, 32, 3))
        >>> with identity.region(x, "stem", "conv1", args={"filters": 8}) as stem:
        ...     y = stem.done(keras.layers.Conv2D(8, 3, name="conv1_conv")(x))
    """
    outer = _BUILDING.get()
    handle = _Region(inputs, kind, name, dict(args or {}), label)
    with _building():
        yield handle
    if not outer and handle.outputs is not None:
        _store(inputs, handle.outputs, kind=kind, name=name, args=handle.args, label=label)


def unique_prefix(kind, x):
    """A layer-name prefix for an unnamed block: `kind`, numbered as Keras numbers layers, and
    not the prefix of any layer `x` is computed from."""
    taken = set()
    if _graph.is_symbolic(x):
        taken = {op.name for op in _graph.ancestors(x)}
    while True:
        uid = keras.backend.get_uid(kind)
        prefix = kind if uid == 1 else f"{kind}_{uid - 1}"
        if not any(n == prefix or n.startswith(prefix + "_") for n in taken):
            return prefix


def _check_unused(name, kind, x):
    """ValueError if a block or region named `name` is among the blocks `x` is computed from:
    one model cannot hold two blocks of one name (nor Keras two layers of one name)."""
    if not _graph.is_symbolic(x):
        return
    upstream = {op for t in keras.tree.flatten(x) if _graph.is_symbolic(t)
                for op in _graph.ancestors(t)}
    same = [config for op in upstream if isinstance(op, keras.layers.InputLayer)
            for config in getattr(op, "__dict__", {}).get(_BLOCKS_KEY, ())
            if config.get("name") == name]
    upstream = {op.name for op in upstream}
    for config in same:
        if upstream.intersection(config.get("layers", ())):
            raise ValueError(f"`name` {name!r} of this {kind} is already the name of a "
                             f"{config.get('kind')} block this block's input is computed from; "
                             "give each block of a model its own name (or name=None).")


def _default_label(args):
    """The positional widths of a block, e.g. `"64 2"`."""
    return " ".join(str(v) for v in args.values() if isinstance(v, (int, list)))


def block_function(label=None):
    """Decorator of the public blocks: each outermost call is recorded (see module docstring).

    The decorated function must take the input tensor first and a keyword `name=None`. Its
    kind is its `__name__`. Every other argument given a symbolic tensor (a second input, as
    a NASNet cell's `previous`) is an input of the block too: the record holds the layers
    between all its inputs and its output, and leaves the tensor out of `args`. `label(args)` formats the widths for diagrams (args: the bound
    arguments without `x` and `name`); default: the integer arguments before the first
    keyword-only one, joined by spaces.
    """
    def decorate(fn):
        signature = inspect.signature(fn)
        params = list(signature.parameters.values())
        positional = [p.name for p in params[1:] if p.kind == p.POSITIONAL_OR_KEYWORD]
        kind = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if _BUILDING.get():
                return fn(*args, **kwargs)
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"{kind}(): {err}") from None
            bound.apply_defaults()
            x = bound.arguments[params[0].name]
            name = check.layer_prefix(bound.arguments.get("name"), "name")
            if name is None:
                name = unique_prefix(kind, x)
            else:
                _check_unused(name, kind, x)
            bound.arguments["name"] = name
            # The block's inputs: `x` and every other tensor argument (a NASNet cell's
            # `previous`), so the record holds only the layers the call created.
            tensors = [k for k, v in bound.arguments.items()
                       if k != params[0].name and _graph.is_symbolic(v)]
            record_args = {k: v for k, v in bound.arguments.items()
                           if k not in (params[0].name, "name", *tensors)}
            with _building():
                y = fn(*bound.args, **bound.kwargs)
            text = (label(record_args) if label is not None else
                    _default_label({k: record_args[k] for k in positional if k in record_args}))
            _store([x, *(bound.arguments[k] for k in tensors)], y, kind=kind, name=name,
                   args=record_args, label=text)
            return y

        wrapper.block_kind = kind
        return wrapper
    return decorate


def block_records(model):
    """The `BlockRecord`s of `model`'s blocks, in build order (none for a foreign model).

    Records are read from the model's input layers; a record whose layers are none of the
    model's (a block of another model built on the same input) is left out.
    """
    graph = _graph.functional_graph(model)
    names = {op.name for op in graph.operations}
    records, seen = [], set()
    for tensor in keras.tree.flatten(graph.input):
        layer = _graph.history(tensor)[0]
        for config in getattr(layer, "__dict__", {}).get(_BLOCKS_KEY, ()):
            record = BlockRecord.from_config(config)
            key = (record.name, record.layers)
            if key not in seen and names.intersection(record.layers):
                seen.add(key)
                records.append(record)
    return records


def recorded_layer_names(tensor):
    """The names of the layers of every block and region recorded on the input layers
    `tensor` is computed from: those of every cnnblocks model and block built on that input
    so far (branches that do not lead to `tensor` included)."""
    if not _graph.is_symbolic(tensor):
        return set()
    return {name for layer in _graph.source_input_layers(tensor)
            for config in getattr(layer, "__dict__", {}).get(_BLOCKS_KEY, ())
            for name in config.get("layers", ())}


def record_model(inputs, **model_record):
    """Stores the model record (family, registry name, feature taps, ...) of an architecture
    on its input layer (a JSON dict)."""
    for tensor in keras.tree.flatten(inputs):
        if _graph.is_symbolic(tensor):
            for layer in _graph.source_input_layers(tensor):
                layer = _recording_layer(layer)
                object.__setattr__(layer, _MODEL_KEY, _jsonable(model_record))


def model_record(model):
    """The model record stored by `record_model` (a dict), or None."""
    graph = _graph.functional_graph(model)
    for tensor in keras.tree.flatten(graph.input):
        layer = _graph.history(tensor)[0]
        record = getattr(layer, "__dict__", {}).get(_MODEL_KEY)
        if record:
            return dict(record)
    return None

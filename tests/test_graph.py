"""The fence around Keras internals: `cnnblocks._graph` is the one module that reads Keras'
private attributes, every one it relies on is listed in `PRIVATE_ATTRIBUTES`, and each is
checked here on the installed Keras, so a Keras release that changes one fails with a message
naming it."""

import re
from pathlib import Path

import keras
import pytest

from cnnblocks import _graph, graph

PACKAGE = Path(__file__).resolve().parent.parent / "cnnblocks"


def _objects():
    """One of each object whose attributes `_graph` reads: a Functional model with a shared
    layer, a Sequential model, a KerasTensor, a layer, a node."""
    inputs = keras.Input((4,), name="x")
    dense = keras.layers.Dense(3, name="fc")
    y = dense(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(y))
    sequential = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    node = y._keras_history[0]._inbound_nodes[0]
    return {"Functional": model, "Sequential": sequential, "KerasTensor": y, "Operation": dense,
            "Node": node}


@pytest.mark.parametrize("owner, attribute, why", _graph.PRIVATE_ATTRIBUTES,
                         ids=[f"{o}.{a}" for o, a, _ in _graph.PRIVATE_ATTRIBUTES])
def test_keras_still_has_the_private_attributes(owner, attribute, why):
    obj = _objects()[owner]
    assert hasattr(obj, attribute), (
        f"Keras {keras.__version__} no longer has {owner}.{attribute} ({why}); "
        "cnnblocks/_graph.py must be adapted to it.")


def test_the_attributes_work_as_relied_on():
    objects = _objects()
    model, tensor, node = objects["Functional"], objects["KerasTensor"], objects["Node"]
    assert isinstance(model._nodes_by_depth, dict)
    operation, index, _ = tensor._keras_history
    assert operation._inbound_nodes[index] is node and node.operation is operation
    assert list(node.outputs) == [tensor] and len(node.input_tensors) == 1
    assert node.input_tensors[0]._keras_history[0]._inbound_nodes[0].is_input
    assert isinstance(node.arguments.kwargs, dict)
    args, _ = node.arguments.fill_in({id(node.input_tensors[0]): "filled"})
    assert list(args) == ["filled"]
    assert objects["Sequential"]._functional is not None
    calls = graph.resolve(model).calls
    assert [c.op.name for c in calls] == ["x", "fc", "out"]
    assert [c.parents for c in calls] == [[], [0], [1]]


def test_operations_and_application_layers_are_classified():
    """`x + y`, `x * 0.5` and `keras.ops.concatenate` are recorded as `keras.src.ops` objects
    with no public class; keras.applications' unexported layers are found by module and class
    name. A Keras release that moves them fails here, by name."""
    import importlib

    inputs = keras.Input((4, 4, 2))
    y = keras.layers.Conv2D(2, 1, name="conv")(inputs)
    ops = [inputs + y, y * 0.5, keras.ops.concatenate([inputs, y], axis=-1),
           keras.ops.reshape(y, (-1, 32))]
    kinds = [_graph.operation_kind(t._keras_history[0]) for t in ops]
    assert kinds == ["elementwise", "elementwise", "concatenate", "other"]
    assert _graph.operation_kind(keras.layers.ReLU()) == "layer"
    for (module, name), kind in _graph.APPLICATION_LAYERS.items():
        cls = getattr(importlib.import_module(module), name, None)
        assert cls is not None, f"Keras {keras.__version__} has no {module}.{name}"
        assert kind in ("pointwise", "elementwise")


# Private Keras attributes, by name; `_graph.py` alone may use them.
PRIVATE = re.compile(r"\._(keras_history|inbound_nodes|outbound_nodes|nodes_by_depth|functional|"
                     r"inputs_struct|outputs_struct|build_shapes_dict|tracker)\b|"
                     r"\.(parent_nodes|input_tensors|fill_in)\b|\bnode\.arguments\b")


def test_no_other_module_touches_keras_internals():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_graph.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRIVATE.search(line.split("#")[0]):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not offenders, "Keras internals outside cnnblocks/_graph.py:\n" + "\n".join(offenders)


def test_no_tensorflow_and_no_lambda_in_the_package():
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import tensorflow|from tensorflow)", text, re.M), path
        assert not re.search(r"layers\.Lambda\(", text), path


def test_setup_bounds_keras_below_4():
    setup = (PACKAGE.parent / "setup.py").read_text(encoding="utf-8")
    assert re.search(r'"keras>=3\.\d+,<4"', setup)

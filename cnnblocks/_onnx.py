"""Edits of ONNX files (`onnx` protobufs) for `cnnblocks.quantization`: float32 weights
stored as float16, a graph cut down to some of its outputs."""

import numpy as np

_FLOAT16_MAX = float(np.finfo(np.float16).max)


def float16_weights(model, name):
    """A copy of `model` whose float32 weights are stored as float16, each cast back to
    float32 by a `Cast` node; refuses a weight beyond float16's range."""
    import onnx
    from onnx import helper, numpy_helper
    result = onnx.ModelProto()
    result.CopyFrom(model)
    weights, casts = [], []
    for tensor in result.graph.initializer:
        if tensor.data_type != onnx.TensorProto.FLOAT:
            weights.append(tensor)
            continue
        values = numpy_helper.to_array(tensor)
        if values.size and float(np.max(np.abs(values))) > _FLOAT16_MAX:
            raise ValueError(f"`model` {name!r} cannot be stored in float16: a weight "
                             f"({tensor.name!r}) reaches {float(np.max(np.abs(values))):.3g}, "
                             f"beyond float16's {_FLOAT16_MAX:g}.")
        stored = f"{tensor.name}__float16"
        weights.append(numpy_helper.from_array(values.astype(np.float16), stored))
        casts.append(helper.make_node("Cast", [stored], [tensor.name], to=onnx.TensorProto.FLOAT,
                                      name=f"{tensor.name}__cast"))
    replace(result.graph.initializer, weights)
    replace(result.graph.node, casts + list(result.graph.node))
    return result


def cut(model, outputs):
    """A copy of `model` with only the graph outputs `outputs` (renamed as a single-model
    export names them) and the nodes and weights they need."""
    import onnx
    result = onnx.ModelProto()
    result.CopyFrom(model)
    kept = [o for o in result.graph.output if o.name in outputs]
    needed, nodes = set(outputs), []
    for node in reversed(result.graph.node):
        if any(o in needed for o in node.output):
            nodes.append(node)
            needed.update(i for i in node.input if i)
    nodes.reverse()
    weights = [t for t in result.graph.initializer if t.name in needed]
    plain = {o.name: "Identity:0" if j == 0 else f"Identity_{j}:0" for j, o in enumerate(kept)}
    renames = {name: f"{name}__inner" for name in set(plain.values()) - set(plain)}
    renames.update(plain)          # an inner tensor with an output's name steps aside first
    for node in nodes:
        node.output[:] = [renames.get(o, o) for o in node.output]
        node.input[:] = [renames.get(i, i) for i in node.input]
    for o in kept:
        o.name = renames.get(o.name, o.name)
    infos = [v for v in result.graph.value_info if v.name in needed]
    for info in infos:
        info.name = renames.get(info.name, info.name)
    for field, values in (("node", nodes), ("initializer", weights), ("output", kept),
                          ("value_info", infos)):
        replace(getattr(result.graph, field), values)
    return result


def replace(field, values):
    """Sets a repeated protobuf field to copies of `values` (which may be its own items)."""
    copies = []
    for value in values:
        copy = type(value)()
        copy.CopyFrom(value)
        copies.append(copy)
    del field[:]
    field.extend(copies)

"""Model analysis: multiply-adds, weight-layer depth, and the model's blocks.

Four functions read a built Keras model (functional or Sequential, nested models included)
without running it:

- `count_macs(model)`: multiply-adds of one forward pass at batch 1;
- `weight_depth(model)`: weight layers on the longest input-to-output path (the "depth" of
  VGG16, ResNet-50, GoogLeNet's 22);
- `blocks(model)`: the model's blocks, each with its layers;
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

What a block is. Every call of a cnnblocks block (and every stem or head region of a cnnblocks
architecture) is recorded when it is built (`cnnblocks.identity`), whatever its name and after
a `.keras` round trip: it is one block, with its kind and arguments. Layers no record covers
(a keras.applications model, a Sequential tutorial model, hand-written code between blocks)
are grouped from the graph's structure, never from their names (names only label the rows):

- a *module*: the layers on the branches between a fork and the merge (`Add`, `Concatenate`,
  `Multiply`, ...) where they meet again, the merge, and the activations (or normalizations)
  right after it, up to the next fork (a residual block with its final ReLU, an Inception
  module);
- a *stage* (or *stem*, before the first module): a chain of layers, ended by a pooling layer;
- the *head*: from a global pooling or `Flatten` layer to the output;
- a nested model is one row of kind `model`.

The layer graph is read through `cnnblocks._graph`, the one module that touches Keras
internals.
"""

import collections
import dataclasses
import functools
import math

import keras
from keras import layers

from cnnblocks import _graph, identity
from cnnblocks.layers import ScaledAdd

_SEPARABLE = (layers.SeparableConv1D, layers.SeparableConv2D)
_DEPTHWISE = (layers.DepthwiseConv1D, layers.DepthwiseConv2D)
_TRANSPOSED = (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
_DENSE_OR_CONV = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.Dense)

#: The layer types that count as one level of depth and whose multiply-adds are counted.
WEIGHT_LAYERS = _SEPARABLE + _DEPTHWISE + _TRANSPOSED + _DENSE_OR_CONV


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
    graph = _graph.functional_graph(call.op, "model")
    own = [tuple(x.shape)[1:] for x in graph.inputs]
    here = [s[1:] for s in call.input_shapes]
    return None if own == here else here


def call_macs(call):
    """Multiply-adds of one traced call (`cnnblocks._graph.Call`) at batch 1 (see the module docstring for what counts)."""
    op = call.op
    if isinstance(op, keras.Model):
        graph = _graph.functional_graph(op, "model")
        return sum(call_macs(c) for c in _graph.trace(graph, _nested_shapes(call)))
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


def input_shapes(model, input_shape=None):
    """The input shapes (without batch) the analysis functions evaluate `model` at.

    `input_shape` when given (checked against the model's inputs). Else None (the shapes the
    model was built with), except for a cnnblocks architecture whose one input has unknown
    dimensions (MobileNetV3 builds with `(None, None, 3)` by default, as keras.applications):
    those dimensions take the model's ImageNet size (`default_size` of its registry entry,
    found through its model record), so its multiply-adds are defined. A model without a
    record (a keras.applications model, a hand-made one) keeps its unknown sizes, and
    `count_macs` asks for `input_shape`.

    Returns:
        A list of shapes without the batch dimension, or None.
    """
    graph = _graph.functional_graph(model)
    shapes = _graph.check_input_shapes(input_shape, graph)
    inputs = keras.tree.flatten(graph.input)
    dims = tuple(inputs[0].shape)[1:] if len(inputs) == 1 else ()
    unknown = [i for i, d in enumerate(dims) if d is None]
    if shapes is not None or len(dims) != 3 or unknown not in ([0, 1], [1, 2]):
        return shapes  # given, static, or not an image with unknown height and width
    record = identity.model_record(model) or {}
    if not isinstance(record.get("model"), str):
        return None
    from cnnblocks import registry  # the registry imports every family: import it late
    try:
        size = registry.entry(record["model"]).default_size
    except ValueError:  # a record naming a model this version does not register
        return None
    return [tuple(size if d is None else d for d in dims)]


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
            evaluated at its registered ImageNet size (`input_shapes`); any other model with
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
    graph = _graph.functional_graph(model)
    calls = _graph.trace(graph, input_shapes(model, input_shape))
    return int(sum(call_macs(c) for c in calls))


def _call_depth(call):
    if isinstance(call.op, keras.Model):
        graph = _graph.functional_graph(call.op, "model")
        return _longest_path(_graph.trace(graph))
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
    return _longest_path(_graph.trace(_graph.functional_graph(model)))



# --- Blocks ---------------------------------------------------------------------------------
#: Layers that merge branches: the end of a structural module.
MERGES = (layers.Add, layers.Concatenate, layers.Multiply, layers.Subtract, layers.Average,
          layers.Maximum, layers.Minimum, ScaledAdd)
#: Layers that end a structural stage (global pooling starts the head instead).
_POOLS = (layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D,
          layers.AveragePooling1D, layers.AveragePooling2D, layers.AveragePooling3D)
#: Layers that start a structural head.
_HEAD_STARTS = (layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D,
                layers.GlobalAveragePooling3D, layers.GlobalMaxPooling1D,
                layers.GlobalMaxPooling2D, layers.GlobalMaxPooling3D, layers.Flatten)


@dataclasses.dataclass
class Block:
    """One block of a model, as `blocks` finds it.

    Attributes:
        name: the block's name (its layer prefix for a recorded block; a label made from the
            layer names for a structural one).
        kind: the block function (`"inception_module"`), a region kind (`"stem"`, `"head"`),
            or for a structural group `"module"`, `"stem"`, `"stage"`, `"head"`, `"model"`,
            `"layers"`.
        args: the block's arguments (recorded blocks), else `{}`.
        label: short text of its widths (recorded blocks), else `""`.
        recorded: whether the block was recorded when built (else grouped by structure).
        calls: indices of its calls in the trace, in graph order.
        output: index of the call producing its output.
    """

    name: str
    kind: str
    args: dict
    label: str
    recorded: bool
    calls: list
    output: int


def dominators(order, parents, root=None):
    """Immediate dominator of each vertex of a DAG (Cooper, Harvey & Kennedy's intersection).

    `order` lists the vertices topologically, `parents[v]` the vertices `v` reads (in the
    order it reads them); `root` is a virtual source before every vertex without parents.
    Returns `(dominator, meet)`: `dominator[v]` is the last vertex every path from the root to
    `v` passes through, `meet(a, b)` the nearest common dominator of two vertices. On the
    reversed graph (children as parents, a virtual exit as root) these are post-dominators.
    """
    dominator, depth = {}, {root: 0}

    def meet(a, b):
        while a != b:
            if depth[a] < depth[b]:
                a, b = b, a
            a = dominator[a]
        return a

    for v in order:
        ps = parents[v] or [root]
        dominator[v] = functools.reduce(meet, ps)
        depth[v] = depth[dominator[v]] + 1
    return dominator, meet


def _post_dominators(children):
    """Immediate post-dominator of each vertex `0..n-1` of a topologically ordered DAG, vertex
    `n` standing for a virtual exit after every output: `(ipdom list, meet)`."""
    n = len(children)
    ipdom, meet = dominators(reversed(range(n)), children, root=n)
    return [ipdom[v] for v in range(n)], meet


def trunk(calls):
    """Indices of the calls every input-to-output path passes through, in graph order."""
    n = len(calls)
    children = [[] for _ in calls]
    for j, call in enumerate(calls):
        for p in call.parents:
            children[p].append(j)
    ipdom, meet = _post_dominators(children)
    sources = [i for i, c in enumerate(calls) if not c.parents]
    result, v = [], functools.reduce(meet, sources) if sources else n
    while v != n:
        result.append(v)
        v = ipdom[v]
    return result


def _units(calls, records):
    """Contracts each recorded block's calls into one unit.

    Returns `(units, parents)`: `units` a topologically ordered list of lists of call indices
    paired with their record (or None), `parents[u]` the units unit `u` reads from.
    """
    by_name = collections.defaultdict(list)
    for i, call in enumerate(calls):
        by_name[call.op.name].append(i)
    owner = {}
    recorded = []
    for record in records:
        members = sorted(i for name in record.layers for i in by_name.get(name, ())
                         if i not in owner)
        if members:
            for i in members:
                owner[i] = len(recorded)
            recorded.append((members, record))
    raw = [(members, record) for members, record in recorded]
    raw += [([i], None) for i in range(len(calls)) if i not in owner]
    unit_of = {}
    for u, (members, _) in enumerate(raw):
        for i in members:
            unit_of[i] = u
    edges = [set() for _ in raw]
    for j, call in enumerate(calls):
        for p in call.parents:
            if unit_of[p] != unit_of[j]:
                edges[unit_of[j]].add(unit_of[p])
    # Topological order (Kahn), ties broken by the first call index: graph order.
    indegree = [len(e) for e in edges]
    children = [[] for _ in raw]
    for u, ps in enumerate(edges):
        for p in ps:
            children[p].append(u)
    ready = sorted((raw[u][0][0], u) for u in range(len(raw)) if indegree[u] == 0)
    order = []
    while ready:
        _, u = ready.pop(0)
        order.append(u)
        for c in children[u]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append((raw[c][0][0], c))
                ready.sort()
    new = {u: k for k, u in enumerate(order)}
    units = [raw[u] for u in order]
    parents = [sorted(new[p] for p in edges[u]) for u in order]
    return units, parents


def _common_prefix(names):
    """The longest `_`-separated prefix shared by more than half of `names` (at least one
    whole word), or None."""
    counts = collections.Counter()
    for name in names:
        words = name.split("_")
        for k in range(1, len(words)):
            counts["_".join(words[:k])] += 1
    best = None
    for prefix, count in counts.items():
        if count * 2 > len(names) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def _structural(calls, units, parents):
    """Groups the units no record covers (see the module docstring); returns, per unit, the
    index of its group and the groups as `(kind, [unit, ...], merge unit or None)`."""
    n = len(units)
    children = [[] for _ in range(n)]
    for u, ps in enumerate(parents):
        for p in ps:
            children[p].append(u)
    ipdom, meet = _post_dominators(children)
    sources = [u for u in range(n) if not parents[u]]
    trunk, v = [], functools.reduce(meet, sources) if sources else n
    while v != n:
        trunk.append(v)
        v = ipdom[v]
    on_trunk = set(trunk)

    def op(u):
        return calls[units[u][0][0]].op

    def fixed(u):
        return units[u][1] is not None or isinstance(op(u), keras.layers.InputLayer)

    # A branch unit joins the unit its branch merges back into (its immediate post-dominator);
    # a branch that never merges back (a side output) is a group of its own.
    joins = {}
    for u in reversed(range(n)):
        if u in on_trunk or fixed(u):
            continue
        target = ipdom[u]
        while target in joins:
            target = joins[target]
        if target != n and not fixed(target):
            joins[u] = target
    members = collections.defaultdict(list)
    for u, target in joins.items():
        members[target].append(u)

    groups, group_of = [], {}

    def add(kind, units_, merge=None):
        groups.append((kind, sorted(units_), merge))
        for u in units_:
            group_of[u] = len(groups) - 1

    current = None
    seen_module = False
    for u in trunk:
        if fixed(u):
            current = None
            continue
        layer = op(u)
        if isinstance(layer, keras.Model):
            add("model", [u, *members[u]])
            current = None
            continue
        if isinstance(layer, MERGES) and members[u]:
            add("module", [u, *members[u]], merge=u)
            seen_module = True
            current = "after_merge" if len(children[u]) == 1 else None
            continue
        if isinstance(layer, _HEAD_STARTS) or current == "head":
            if current != "head":
                add("head", [u])
                current = "head"
            else:
                groups[-1][1].append(u)
                group_of[u] = len(groups) - 1
            continue
        if current == "after_merge" and not isinstance(layer, WEIGHT_LAYERS + _POOLS):
            # An activation (or normalization, dropout) right after the merge is the module's
            # own last step, as a ResNet block's final ReLU.
            groups[-1][1].append(u)
            group_of[u] = len(groups) - 1
            if len(children[u]) != 1:
                current = None
            continue
        if current == "after_merge":
            current = None
        if current != "chain":
            add("stage" if seen_module else "stem?", [u])
            current = "chain"
        else:
            groups[-1][1].append(u)
            group_of[u] = len(groups) - 1
        if isinstance(layer, _POOLS):
            current = None
    # Branch units that joined a trunk unit belong to its group; the rest (side outputs and
    # branches into recorded blocks) are grouped with the side units they connect to.
    for u in range(n):
        if u in group_of or fixed(u):
            continue
        target = joins.get(u)
        if target is not None and target in group_of:
            group_of[u] = group_of[target]
            groups[group_of[u]][1].append(u)
            continue
        near = [group_of[p] for p in parents[u] if p in group_of and p not in on_trunk]
        if near:
            group_of[u] = near[0]
            groups[near[0]][1].append(u)
        else:
            add("layers", [u])
    # Chains before the first module are the stem; without any module they are stages.
    any_module = any(kind == "module" for kind, _, _ in groups)
    groups = [("stem" if any_module else "stage", us, m) if kind == "stem?" else (kind, us, m)
              for kind, us, m in groups]
    return group_of, groups


def _label_names(groups_info):
    """Unique names for structural groups: `head` for the head; else the layer's name for a
    single layer, a prefix most of its layer names share, its merge layer's name, or the kind
    numbered (`stage1`, `stem2`)."""
    used, names, counters = set(), [], collections.Counter()
    totals = collections.Counter(kind for kind, _, _ in groups_info)
    for kind, layer_names, merge_name in groups_info:
        if kind == "head":
            name = None  # "head", numbered when there are several
        elif len(layer_names) == 1:
            name = layer_names[0]
        else:
            name = _common_prefix(layer_names) or merge_name
        if name is None:
            counters[kind] += 1
            name = kind if totals[kind] == 1 else f"{kind}{counters[kind]}"
        base, k = name, 1
        while name in used:
            name = f"{base}_{k}"
            k += 1
        used.add(name)
        names.append(name)
    return names


def _blocks(model, calls, graph):
    records = identity.block_records(model)
    units, parents = _units(calls, records)
    group_of, groups = _structural(calls, units, parents)
    result = []
    by_group = {}
    for u, (members, record) in enumerate(units):
        if record is not None:
            names = {calls[i].op.name: i for i in members}
            out = next((names[o] for o in record.outputs if o in names), members[-1])
            result.append(Block(name=record.name, kind=record.kind, args=dict(record.args),
                                label=record.label, recorded=True, calls=list(members),
                                output=out))
        elif u in group_of:
            g = group_of[u]
            if g not in by_group:
                by_group[g] = len(result)
                result.append(None)
    # Structural groups, in the position of their first unit.
    infos = []
    for g, (kind, us, merge) in enumerate(groups):
        layer_names = [calls[i].op.name for u in us for i in units[u][0]]
        infos.append((kind, layer_names, calls[units[merge][0][0]].op.name
                      if merge is not None else None))
    names = _label_names(infos)
    for g, position in by_group.items():
        kind, us, merge = groups[g]
        call_ids = sorted(i for u in us for i in units[u][0])
        trunk_units = [u for u in us if len(units[u][0]) == 1]
        out = units[max(trunk_units)][0][0] if trunk_units else call_ids[-1]
        result[position] = Block(name=names[g], kind=kind, args={}, label="", recorded=False,
                                 calls=call_ids, output=out)
    return [b for b in result if b is not None]


def blocks(model, *, input_shape=None):
    """The blocks of `model`: recorded block calls, and structural groups for the rest.

    Args:
        model: a functional or built Sequential `keras.Model`.
        input_shape: None or a shape without batch, as in `count_macs`.

    Returns:
        `(calls, blocks)`: the traced calls (`cnnblocks._graph.Call`) and a list of `Block`s
        in graph order. Input layers belong to no block.
    """
    graph = _graph.functional_graph(model)
    calls = _graph.trace(graph, input_shapes(model, input_shape))
    return calls, _blocks(model, calls, graph)


def format_shape(shape):
    """`"56x56x64"` from `(None, 56, 56, 64)`; unknown sizes are `?`."""
    return "x".join("?" if d is None else str(d) for d in shape[1:])


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
        line; the widths column is cut to keep lines within `width` characters."""
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
            if len(text) > widths[i]:
                text = text[:widths[i] - 1] + "…"
            return text.rjust(widths[i]) if i >= 4 else text.ljust(widths[i])

        def fmt(line):
            return "  ".join(cell(line[i], i) for i in range(n)).rstrip()

        rule = "-" * len(fmt(header))
        shape = format_shape((None,) + tuple(self.input_shape))
        return "\n".join([
            f"{self.model_name} (input {shape})", fmt(header), rule, *map(fmt, body), rule,
            fmt(total),
            f"trainable params: {self.trainable_params:,}; "
            f"non-trainable params: {self.params - self.trainable_params:,}"])

    def __str__(self):
        return self.to_text()


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
    (parameters, trainable parameters, multiply-adds); input layers have no row. A nested
    model is one row.

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
    calls, found = blocks(model, input_shape=input_shape)
    fields = [None] * len(found)
    if receptive_field:
        from cnnblocks import receptive  # it imports this module
        fields = receptive.block_fields(calls, found, _graph.functional_graph(model))[1]
    rows = []
    for block, field in zip(found, fields):
        ops = list({id(calls[i].op): calls[i].op for i in block.calls}.values())
        rows.append(BlockRow(
            name=block.name, kind=block.kind, args=block.args, label=block.label,
            output_shape=tuple(calls[block.output].output_shapes[0][1:]),
            depth=_longest_path(calls, set(block.calls)),
            params=sum(op.count_params() for op in ops if isinstance(op, keras.layers.Layer)),
            trainable_params=sum(_trainable_count(op) for op in ops),
            macs=int(sum(call_macs(calls[i]) for i in block.calls)),
            layers=tuple(op.name for op in ops), recorded=block.recorded,
            receptive_field=field))
    graph = _graph.functional_graph(model)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    shapes = input_shapes(model, input_shape)
    first_input = shapes[0] if shapes else tuple(keras.tree.flatten(graph.input)[0].shape)[1:]
    return ModelSummary(model_name=model.name, input_shape=tuple(first_input), rows=rows,
                        params=int(model.count_params()), trainable_params=int(trainable),
                        depth=_longest_path(calls), macs=int(sum(r.macs for r in rows)))

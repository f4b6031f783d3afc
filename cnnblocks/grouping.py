"""Blocks: the model's recorded block calls, and groups found from the graph's structure.

Every call of a cnnblocks block (and every stem or head region of a cnnblocks architecture) is
recorded when it is built (`cnnblocks.identity`), whatever its name and after a `.keras`
round trip: it is one block, with its kind and arguments. Layers no record covers (a
keras.applications model, a Sequential tutorial model, hand-written code between blocks) are
grouped from the graph's structure, never from their names (names only label the rows).

The structure read here (`find_blocks`):

- *Merges* are calls reading two or more distinct tensors: `layers.Add`, `x + y`,
  `keras.ops.add`, a scaled add (InceptionResNet's scale layer), `Concatenate`, a gate
  (`Multiply`, `x * y`).
- The *trunk* is the calls every input-to-output path passes through. A merge on the trunk
  with the branches that join it (the calls whose paths all meet again first at it: their
  immediate post-dominator) is a **module** (a residual block, an Inception module, a dense
  layer); the activations right after it are its last step (a ResNet block's final ReLU), and
  normalizations and activations alone between two modules are the next module's first steps
  (pre-activation). A merge off the trunk whose output is read more than once (a NASNet cell,
  which the next two cells read) is a module of its own in the same way. A module that reads
  two blocks' outputs from outside is a **cell**.
- A **gate** is a merge that broadcasts one of its inputs over the other (squeeze-and-
  excitation's `x * sigmoid(fc(pool(x)))`): it is a step inside the block around it.
- The chains between modules are cut into **stages**: after a pooling layer (a VGG stage, a
  stem); before a depthwise or strided convolution, or a spatial convolution that narrows
  the channels (a stem only widens them), when the chain already has a spatial convolution
  (a stem before the first inverted residual, or before EfficientNetV2-B0's first block, a
  3x3 convolution from 32 to 16 channels); and after the first pointwise
  (1x1) convolution that follows a depthwise one, with its normalization and activation (a
  depthwise-separable or inverted-residual block without a shortcut). Chains before the first
  block (a module, a cell or a depthwise block) are the **stem**.
- The **head** runs from a global pooling or `Flatten` layer to the output; a branch that
  never merges back (an auxiliary classifier, a second output) is a head of its own.

A model nested in another is inlined by `cnnblocks.graph`: its blocks are blocks of the outer
model.
"""

import collections
import dataclasses
import functools
import math

import keras
from keras import layers

from cnnblocks import _graph

#: Layer types whose multiply-adds are counted and which count as one level of depth.
SEPARABLE = (layers.SeparableConv1D, layers.SeparableConv2D)
DEPTHWISE = (layers.DepthwiseConv1D, layers.DepthwiseConv2D)
TRANSPOSED = (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
DENSE_OR_CONV = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.Dense)
WEIGHT_LAYERS = SEPARABLE + DEPTHWISE + TRANSPOSED + DENSE_OR_CONV
POOLS = (layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D,
         layers.AveragePooling1D, layers.AveragePooling2D, layers.AveragePooling3D)
GLOBAL_POOLS = (layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D,
                layers.GlobalAveragePooling3D, layers.GlobalMaxPooling1D,
                layers.GlobalMaxPooling2D, layers.GlobalMaxPooling3D)
#: Layers that start a structural head.
HEAD_STARTS = GLOBAL_POOLS + (layers.Flatten,)
NORMALIZATIONS = (layers.BatchNormalization, layers.LayerNormalization,
                  layers.GroupNormalization, layers.UnitNormalization)
PADDINGS = (layers.ZeroPadding1D, layers.ZeroPadding2D, layers.ZeroPadding3D)


@dataclasses.dataclass
class Block:
    """One block of a model.

    Attributes:
        name: the block's name (its layer prefix for a recorded block; a label made from the
            layer names for a structural one).
        kind: the block function (`"inception_module"`), a region kind (`"stem"`, `"head"`),
            or for a structural group `"module"`, `"cell"`, `"stem"`, `"stage"`, `"head"`,
            `"layers"`.
        args: the block's arguments (recorded blocks), else `{}`.
        label: short text of its widths (recorded blocks), else `""`.
        recorded: whether the block was recorded when built (else grouped by structure).
        calls: indices of its calls, in graph order.
        output: index of the call producing its output.
        path: the nested models it is in (`()` at the top level).
    """

    name: str
    kind: str
    args: dict
    label: str
    recorded: bool
    calls: list
    output: int
    path: tuple = ()


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


def trunk(parents):
    """The vertices every source-to-sink path of a topologically ordered DAG passes through,
    in order (`parents[v]`: the vertices `v` reads)."""
    n = len(parents)
    children = [[] for _ in range(n)]
    for v, ps in enumerate(parents):
        for p in ps:
            children[p].append(v)
    ipdom, meet = _post_dominators(children)
    sources = [v for v in range(n) if not parents[v]]
    result, v = [], functools.reduce(meet, sources) if sources else n
    while v != n:
        result.append(v)
        v = ipdom[v]
    return result


def _units(calls, records):
    """Contracts each recorded block's calls into one unit.

    Returns `(units, parents)`: `units` a topologically ordered list of `(call indices,
    (path, record) or None)`, `parents[u]` the units unit `u` reads from.
    """
    by_name = collections.defaultdict(list)
    for call in calls:
        by_name[(call.path, call.op.name)].append(call.index)
    owner, recorded = {}, []
    for path, record in records:
        members = sorted(i for name in record.layers for i in by_name.get((path, name), ())
                         if i not in owner)
        if members:
            for i in members:
                owner[i] = len(recorded)
            recorded.append((members, (path, record)))
    raw = recorded + [([c.index], None) for c in calls if c.index not in owner]
    unit_of = {i: u for u, (members, _) in enumerate(raw) for i in members}
    edges = [set() for _ in raw]
    for call in calls:
        for p in call.parents:
            if unit_of[p] != unit_of[call.index]:
                edges[unit_of[call.index]].add(unit_of[p])
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


class _Structure:
    """The unit graph and the structural facts the grouping reads."""

    def __init__(self, calls, units, parents):
        self.calls, self.units, self.parents = calls, units, parents
        self.n = n = len(units)
        self.children = [[] for _ in range(n)]
        for u, ps in enumerate(parents):
            for p in ps:
                self.children[p].append(u)
        self.ipdom, meet = _post_dominators(self.children)
        sources = [u for u in range(n) if not parents[u]]
        self.trunk, v = [], functools.reduce(meet, sources) if sources else n
        while v != n:
            self.trunk.append(v)
            v = self.ipdom[v]
        self.on_trunk = set(self.trunk)
        self.idom, _ = dominators(range(n), parents, root=-1)
        self.outputs = {u for u in range(n) if not self.children[u]}  # nothing reads them
        self.cells = set()

    def call(self, u):
        return self.calls[self.units[u][0][0]]

    def op(self, u):
        return self.call(u).op

    def fixed(self, u):
        """A recorded block or a model input: never part of a structural group."""
        return self.units[u][1] is not None or self.call(u).is_input

    def is_merge(self, u):
        return not self.fixed(u) and self.call(u).is_merge

    def is_cell_root(self, u):
        """A concatenation off the trunk that ends a cell of its own (a NASNet cell, which
        the next cells read): one whose output does not run, through a plain chain of
        layers, into a merge (Inception-V3's inner concatenations feed the module's; an
        Inception-ResNet branch's runs through a 1x1 convolution into the scaled add)."""
        if (u in self.on_trunk or not self.is_merge(u)
                or _graph.operation_kind(self.op(u)) not in ("concatenate", "layer")
                or (self.call(u).is_layer and not isinstance(self.op(u),
                                                             layers.Concatenate))):
            return False
        v = u
        while len(self.children[v]) == 1:
            v = self.children[v][0]
            if self.is_merge(v):
                return False
        return True

    def forks_into(self, u, merge):
        """Whether `u` lies on a branch between a fork and `merge`: strictly after the last
        unit every path to `merge` passes (its dominator). Towers read from different inputs
        meet at a merge without a fork, and stay blocks of their own."""
        fork = self.idom[merge]
        if fork == -1 or u == fork:
            return False
        v = u
        while v != -1:
            v = self.idom[v]
            if v == fork:
                return True
        return False

    def has(self, units, kinds):
        return any(isinstance(self.op(v), kinds) for v in units)


def _join_branches(s):
    """Which root (a merge) each branch unit belongs to: `{unit: root}`, and per root its
    members. A branch unit joins the unit its branch merges back into (its immediate
    post-dominator); a branch that never merges back (a side output) joins nothing. Cell
    roots (`_Structure.is_cell_root`) join nothing either, once their members hold a merge of
    their own (a NASNet cell's additions; a lone concatenation of two paths is a step of the
    cell it feeds)."""
    s.cells = {u for u in range(s.n) if s.is_cell_root(u)}
    while True:
        joins = {}
        for u in reversed(range(s.n)):
            if u in s.on_trunk or s.fixed(u) or u in s.cells:
                continue
            target = s.ipdom[u]
            while target in joins:
                target = joins[target]
            if target != s.n and not s.fixed(target) and s.forks_into(u, target):
                joins[u] = target
        members = collections.defaultdict(list)
        for u, target in joins.items():
            members[target].append(u)
        lone = {u for u in s.cells if not any(s.is_merge(v) for v in members[u])}
        if not lone:
            return joins, members
        s.cells -= lone


def _is_gate(s, u):
    """A merge that broadcasts one of its inputs over the others: squeeze-and-excitation's
    `x * sigmoid(fc(pool(x)))`, a per-channel scale computed from the input."""
    call = s.call(u)
    if _graph.operation_kind(call.op) == "concatenate" or isinstance(call.op,
                                                                      layers.Concatenate):
        return False
    size = [_per_sample(shape) for shape in call.input_shapes]
    return None not in size and min(size) < _per_sample(call.output_shapes[0])


def _per_sample(shape):
    dims = shape[1:]
    return None if None in dims else math.prod(dims)


def _spatial(op):
    """A convolution or pooling that mixes neighbouring positions."""
    if isinstance(op, DEPTHWISE + SEPARABLE + POOLS):
        return True
    if isinstance(op, WEIGHT_LAYERS) and not isinstance(op, layers.Dense):
        kernel = getattr(op, "kernel_size", (1,))
        strides = getattr(op, "strides", (1,))
        return any(k != 1 for k in kernel) or any(st != 1 for st in strides)
    return False


def _starts_unit(call):
    """A depthwise convolution, a strided full convolution, or a spatial full convolution
    that narrows the channels (a stem only widens them): the start of a new block in a chain
    that already holds a spatial convolution."""
    op = call.op
    if isinstance(op, DEPTHWISE):
        return True
    if not isinstance(op, DENSE_OR_CONV) or isinstance(op, layers.Dense):
        return False
    if any(st != 1 for st in getattr(op, "strides", (1,))):
        return True
    channels_in = call.input_shapes[0][-1] if call.input_shapes else None
    narrows = (channels_in is not None and getattr(op, "filters", None) is not None
               and op.filters < channels_in)
    return narrows and _spatial(op)


def _is_tail(s, u):
    """A step that ends the block before it: an activation, dropout or other single-input
    layer without weights that is neither a normalization, a padding nor a pooling."""
    op = s.op(u)
    return (not s.is_merge(u) and not isinstance(op, WEIGHT_LAYERS + NORMALIZATIONS + PADDINGS
                                                   + POOLS + HEAD_STARTS)
            and not (isinstance(op, keras.layers.Layer) and op.weights))


class _Segmenter:
    """Cuts a sequence of trunk elements into groups (module, stage, head)."""

    def __init__(self, s, members):
        self.s, self.members = s, members
        self.groups = []  # [kind, [units], root or None]
        self.chain = None  # the open chain group
        self.depthwise_seen = False
        # After a depthwise conv, its pointwise conv: "pointwise" (its normalization and
        # activation may follow), "normed" (its activation may follow), else None.
        self.closing = None
        self.tail_of = None  # the module whose activation tail is open

    def close(self):
        self.chain = None
        self.depthwise_seen, self.closing = False, None

    def element(self, u):
        return [u, *self.members.get(u, ())]

    def add_module(self, u):
        units = self.element(u)
        chain = self.chain
        if chain is not None and not self.s.has(chain[1], WEIGHT_LAYERS + POOLS):
            # Normalizations and activations alone before a module are its first steps.
            self.groups.remove(chain)
            units = chain[1] + units
        self.close()
        group = ["module", units, u]
        self.groups.append(group)
        self.tail_of = group if len(self.s.children[u]) == 1 else None

    def add_chain(self, u, kind):
        if self.chain is None:
            self.chain = [kind, [], None]
            self.groups.append(self.chain)
        self.chain[1].extend(self.element(u))

    def feed(self, u):
        s, op = self.s, self.s.op(u)
        if self.chain is not None and self.chain[0] == "head":
            self.chain[1].extend(self.element(u))
            return
        if s.is_merge(u) and self.members.get(u) and not _is_gate(s, u):
            self.add_module(u)
            return
        if self.tail_of is not None and _is_tail(s, u):
            self.tail_of[1].append(u)
            if len(s.children[u]) != 1:
                self.tail_of = None
            return
        self.tail_of = None
        if isinstance(op, HEAD_STARTS):
            self.close()
            self.add_chain(u, "head")
            return
        if self.closing and not (_is_tail(s, u) or (self.closing == "pointwise"
                                                     and isinstance(op, NORMALIZATIONS))):
            self.close()  # a depthwise block ends after its pointwise conv's norm and act
        if (self.chain is not None and _starts_unit(s.call(u))
                and any(_spatial(s.op(v)) for v in self.chain[1])):
            self.close()
        self.add_chain(u, "stage")
        if isinstance(op, DEPTHWISE):
            self.depthwise_seen = True
        elif self.depthwise_seen and isinstance(op, WEIGHT_LAYERS) and not _spatial(op):
            self.closing = "pointwise"
        elif self.closing == "pointwise" and isinstance(op, NORMALIZATIONS):
            self.closing = "normed"
        if isinstance(op, POOLS):
            self.close()


def _structural(s):
    """Groups the units no record covers; returns the groups as `[kind, [unit, ...], root]`
    in graph order (root: the merge of a module, else None)."""
    joins, members = _join_branches(s)
    seg = _Segmenter(s, members)
    for u in s.trunk:
        if s.fixed(u):
            seg.close()
            seg.tail_of = None
            continue
        seg.feed(u)
    groups = seg.groups
    # Cells off the trunk (a merge read by the next two cells): a module each, with their
    # members and the activations right after them.
    for u in sorted(s.cells):
        groups.append(["module", [u, *members.get(u, ())], u])
    group_of = {v: g for g, group in enumerate(groups) for v in group[1]}
    # Units before the trunk (the towers of a model with several inputs) and side branches
    # (an auxiliary head): chains of their own, cut as the trunk is.
    rest = [u for u in range(s.n) if u not in group_of and not s.fixed(u)]
    pending = []
    for u in rest:
        target = joins.get(u)
        while target is not None and target not in group_of:
            target = joins.get(target)
        if target is not None:
            groups[group_of[target]][1].append(u)
            group_of[u] = group_of[target]
        elif u not in joins:
            pending.append(u)
    # Each pending chain is cut on its own: a unit continues the chain whose last unit is
    # the only pending unit it reads.
    tails, placed = {}, set(pending)
    for u in pending:
        read = [p for p in s.parents[u] if p in placed]
        seg = tails.pop(read[0], None) if len(read) == 1 else None
        if seg is None:
            seg = _Segmenter(s, members)
        seg.feed(u)
        tails[u] = seg
    for seg in dict.fromkeys(tails.values()):
        groups.extend(seg.groups)
    for group in groups:
        group[1] = sorted(set(group[1]))
        if group[0] == "module" and _two_inputs(s, group[1]):
            group[0] = "cell"
    groups = [g for g in groups if g[1]]
    groups.sort(key=lambda g: min(g[1]))
    # Chains before the first block (a module, a cell, a depthwise block) are the stem; a
    # side chain reaching an output is a head.
    first_block = next((i for i, g in enumerate(groups) if g[0] in ("module", "cell")
                        or s.has(g[1], DEPTHWISE)), None)
    for i, group in enumerate(groups):
        if group[0] == "stage" and first_block is not None and i < first_block:
            group[0] = "stem"
        if group[0] == "stage" and group[1][-1] in s.outputs and group[1][0] not in s.on_trunk:
            group[0] = "head"
    return groups


def _two_inputs(s, units):
    """Whether a group reads the outputs of two or more other groups or inputs."""
    inside = set(units)
    outside = {p for u in units for p in s.parents[u] if p not in inside}
    return len(outside) >= 2


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


def _label_names(infos, taken):
    """Unique names for structural groups: `head` for the head; else the layer's name for a
    single layer, a prefix most of its layer names share, its merge layer's name, or the kind
    numbered (`stage1`, `stem2`)."""
    used, names, counters = set(taken), [], collections.Counter()
    totals = collections.Counter(kind for kind, _, _ in infos)
    for kind, layer_names, merge_name in infos:
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


def find_blocks(calls, records):
    """The blocks of a flattened graph (`cnnblocks.graph.Call`s and `(path, BlockRecord)`s):
    recorded block calls, and structural groups for the rest, in graph order. Input layers
    belong to no block."""
    units, parents = _units(calls, records)
    s = _Structure(calls, units, parents)
    groups = _structural(s)
    entries = []  # (first call, Block or group index)
    for u, (members, found) in enumerate(units):
        if found is not None:
            path, record = found
            by_name = {calls[i].op.name: i for i in members}
            out = next((by_name[o] for o in record.outputs if o in by_name), members[-1])
            name = "/".join((*path, record.name))
            entries.append((members[0], Block(
                name=name, kind=record.kind, args=dict(record.args), label=record.label,
                recorded=True, calls=list(members), output=out, path=path)))
    infos = []
    for g, (kind, us, root) in enumerate(groups):
        layer_names = [calls[i].op.name for u in us for i in units[u][0]]
        infos.append((kind, layer_names, s.op(root).name if root is not None else None))
        call_ids = sorted(i for u in us for i in units[u][0])
        entries.append((call_ids[0], g, call_ids))
    names = _label_names(infos, {e[1].name for e in entries if isinstance(e[1], Block)})
    result = []
    for entry in sorted(entries, key=lambda e: e[0]):
        if isinstance(entry[1], Block):
            result.append(entry[1])
            continue
        g, call_ids = entry[1], entry[2]
        kind, us, root = groups[g]
        out = _group_output(s, us, root, units)
        result.append(Block(name=names[g], kind=kind, args={}, label="", recorded=False,
                            calls=call_ids, output=out, path=calls[call_ids[0]].path))
    return result


def _group_output(s, units, root, all_units):
    """The call producing a structural group's output: its last unit that is read from
    outside the group (or is an output), else its last call."""
    inside = set(units)
    leaving = [u for u in units if u in s.outputs or any(c not in inside for c in
                                                             s.children[u])]
    u = max(leaving) if leaving else max(units)
    return all_units[u][0][-1]

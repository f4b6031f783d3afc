"""Model diagrams at three levels: blocks, modules as the papers draw them, and layers.

All three are drawn with pydot and Graphviz' `dot`, from the blocks `cnnblocks.summarize` lists
(`cnnblocks.analysis.blocks`: recorded block calls, and structural groups for layers no record
covers, e.g. a keras.applications model), so a diagram and the summary always agree:

- `level="block"`: one box per block: its name, its kind and widths
  (`inception_module 64 | 96→128 | 16→32 | pool→32`), its branches with their kernels
  (`1x1 | 1x1→3x3 | 1x1→5x5 | max3x3→1x1 → concat`), its output shape (with `/2` where it
  halves the spatial size), its parameters and multiply-adds. Consecutive identical blocks
  (same kind, widths, parameters and output shape, joined in a chain) are drawn once with a
  count (`conv4_block2 … conv4_block36`, 35 identical blocks); pass `collapse_repeats=False`
  to draw every block.
- `level="module"`: every block drawn as the papers draw it, as a frame around its layers.
  Batch normalization, activations, padding and dropout are folded into the layer before (or
  after) them and named in small print, so what remains is the paper's figure: an Inception
  module's branches side by side in the order of its concatenation's inputs (for cnnblocks'
  modules the paper's order: 1x1 | 3x3 reduce→3x3 | 5x5 reduce→5x5 | pool→proj), a residual
  module's main path beside its shortcut, separable and depthwise convolutions labelled as
  such. Repeated blocks are folded as at the block level.
- `level="layer"`: one box per layer call (its name, what it does, e.g. `Conv2D 1x7, 192`, and
  its output shape), the graph `keras.utils.plot_model` draws, with settings that work for
  every model here: edges are plain splines (Keras' `splines="ortho"` aborts Graphviz on
  Xception, "trapezoid-table overflow"), `concentrate` is off, nodes are named after the layers
  (the same model always gives the same file), and every name is escaped (`a<b&c` draws).

Kernel sizes are written height x width, as Keras' `kernel_size`: `1x7` is one row of seven,
`7x1` a column. At every level the inputs of a merge (`Concatenate`, `Add`) are drawn left to
right in the order the merge reads them.

Layout. A long model is wrapped into columns (rows with `rankdir="LR"`), cut only where every
path passes through one layer, so a diagram is about as wide as it is tall instead of a
20,000-pixel column; the edge from the end of one column to the top of the next is dashed.

Tooltips. In an SVG, hovering a box shows what it is: a layer's class, its configuration (kernel,
strides, padding, activation, ...), its input and output shapes and parameters; a block's kind,
arguments, layers, parameters and multiply-adds.

Bitmaps. Graphviz' cairo renderer caps a PNG at 32,767 pixels a side and scales bigger
drawings down. `plot` checks the size it drew and, when a PNG was over the limit, draws it again
at the largest dpi that fits and warns; a PDF page over 200 inches (the limit of some readers)
warns too. SVG has no limit.
"""

import collections
import dataclasses
import html
import math
import os
import pathlib
import shutil
import subprocess
import tempfile
import types
import warnings

import keras
from keras import layers

from cnnblocks import _graph as _graphs
from cnnblocks import _validation as check
from cnnblocks import analysis, grouping
from cnnblocks import graph as graphs
from cnnblocks.layers import ScaledAdd

LEVELS = ("layer", "module", "block")
RANKDIRS = ("TB", "LR", "BT", "RL")
#: File extensions `plot` writes, and the Graphviz output format of each (`dot`: the source).
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
#: Largest side, in pixels, of a bitmap Graphviz' cairo renderer writes unscaled.
PNG_MAX_PIXELS = 32767
#: Largest page side, in inches, that PDF readers must support (PDF 1.7 Annex C: 14,400 units).
PDF_MAX_INCHES = 200
#: Graphviz' default `pad` around a drawing, in inches (4 points on each side).
_PAD_INCHES = 4 / 72
#: A drawing longer than this (inches, along the edges' direction) is wrapped into columns.
WRAP_INCHES = 24.0
#: Width-to-height ratio the columns of a wrapped drawing aim for.
_ASPECT = 1.4
#: Space between ranks and between neighbours, inches (Graphviz' defaults: 0.5 and 0.25).
_RANKSEP, _NODESEP = 0.3, 0.2

_INSTALL = (
    "Diagrams need the pydot package and the Graphviz programs: `pip install pydot`, and "
    "Graphviz from your system's package manager (Debian/Ubuntu: `sudo apt-get install "
    "graphviz`; macOS: `brew install graphviz`; conda: `conda install graphviz`; others: "
    "https://graphviz.org/download/). `cnnblocks.to_dot` needs only pydot.")

_SEPARABLE = (layers.SeparableConv1D, layers.SeparableConv2D)
_DEPTHWISE = (layers.DepthwiseConv1D, layers.DepthwiseConv2D)
_TRANSPOSED = (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
_POOLS = (layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D,
          layers.AveragePooling1D, layers.AveragePooling2D, layers.AveragePooling3D)
_GLOBAL_POOLS = (layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D,
                 layers.GlobalAveragePooling3D, layers.GlobalMaxPooling1D,
                 layers.GlobalMaxPooling2D, layers.GlobalMaxPooling3D)
#: Layers drawn as boxes of their own at the module level; the others (normalization,
#: activations, padding, dropout, ...) are folded into a neighbour.
_MERGES = (layers.Add, layers.Concatenate, layers.Multiply, layers.Subtract, layers.Average,
           layers.Maximum, layers.Minimum, ScaledAdd)
_DRAWN = (grouping.WEIGHT_LAYERS + _POOLS + _GLOBAL_POOLS + _MERGES
          + (layers.Flatten, layers.InputLayer))
#: How the module level names a folded layer.
_FOLDED_NAMES = {"BatchNormalization": "BN", "ZeroPadding1D": "pad", "ZeroPadding2D": "pad",
                 "ZeroPadding3D": "pad", "LocalResponseNormalization": "LRN",
                 "LayerNormalization": "LN", "Dropout": "dropout", "Rescaling": "rescale",
                 "Normalization": "normalize", "ReLU": "relu", "Softmax": "softmax",
                 "ChannelShuffle": "shuffle", "ChannelSplit": "split"}
#: Merge layers' names in drawings.
_MERGE_NAMES = {"Add": "add", "Concatenate": "concat", "Multiply": "multiply",
                "Subtract": "subtract", "Average": "average", "Maximum": "maximum",
                "Minimum": "minimum"}
#: Fill colours.
_WHITE, _POOL, _MERGE, _INPUT = "#ffffff", "#e5f2e5", "#fdf1cf", "#f2f2f2"
_RECORDED, _STRUCTURAL, _REPEATED = "#dbe9f6", "#f2f2f2", "#b3cde3"


# Both bases: a missing package is an ImportError (as in keras.utils.plot_model), a missing
# program a RuntimeError; callers may catch either.
class GraphvizNotFoundError(ImportError, RuntimeError):
    """pydot or Graphviz' `dot` program is missing; the message says how to install them."""


def _pydot():
    try:
        import pydot
    except ImportError:
        raise GraphvizNotFoundError(f"pydot is not installed. {_INSTALL}") from None
    return pydot


def _dot_program():
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFoundError(
            f"Graphviz' `dot` program was not found on the PATH. {_INSTALL}")
    return path


def _quote(text):
    """A quoted DOT string for `text` (pydot leaves keywords such as `graph` bare); line breaks
    become DOT's `\\n`."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def _check_args(model, level, rankdir, show_shapes, collapse_repeats):
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, received {type(model).__name__}: "
                        f"{model!r:.80}.")
    check.choice(level, "level", LEVELS)
    check.choice(rankdir, "rankdir", RANKDIRS)
    for arg, value in (("show_shapes", show_shapes), ("collapse_repeats", collapse_repeats)):
        if not isinstance(value, bool):
            raise TypeError(f"`{arg}` must be a bool, received {value!r}.")


# --- what a layer does, in words ----------------------------------------------------------------

def _config(op):
    if not isinstance(op, keras.Layer) or isinstance(op, keras.Model):
        return {}
    try:
        return op.get_config()
    except Exception:  # noqa: BLE001 - a custom layer without get_config: draw it without
        return {}


def _dims(value):
    """`"1x7"` from `(1, 7)`; `"3"` for a scalar; None when not a size."""
    if isinstance(value, (list, tuple)) and value:
        return "x".join(map(str, value))
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _stride(config):
    """`"/2"` for strides 2 (`"/1x2"` for uneven ones), `""` for 1."""
    strides = config.get("strides")
    if isinstance(strides, int):
        strides = (strides,)
    if not isinstance(strides, (list, tuple)) or all(v == 1 for v in strides):
        return ""
    return "/" + (str(strides[0]) if len(set(strides)) == 1 else "x".join(map(str, strides)))


def _layer_text(op):
    """What a layer does, in a few words: `Conv2D 3x3 /2, 64`, `MaxPooling2D 3x3 /2`."""
    kind = type(op).__name__
    config = _config(op)
    window = _dims(config.get("kernel_size") or config.get("pool_size"))
    parts = [window] if window else []
    if _stride(config):
        parts.append(_stride(config))
    width = config.get("filters") or config.get("units")
    text = " ".join([kind, *parts])
    return f"{text}, {width}" if width else text


def _op_text(op):
    """A drawn layer at the module level, as papers label it: `1x7 conv, 192`,
    `3x3 sep conv, 728`, `3x3 max pool /2`, `concat`, `fc 1000`."""
    config = _config(op)
    window = _dims(config.get("kernel_size") or config.get("pool_size")) or ""
    stride = _stride(config)
    stride = f" {stride}" if stride else ""
    dilation = config.get("dilation_rate")
    if isinstance(dilation, (list, tuple)) and any(d != 1 for d in dilation):
        stride += f" dilated {_dims(dilation)}"
    if isinstance(op, _SEPARABLE):
        return f"{window} sep conv{stride}, {config['filters']}"
    if isinstance(op, _DEPTHWISE):
        multiplier = config.get("depth_multiplier", 1)
        return f"{window} depthwise{stride}" + (f", x{multiplier}" if multiplier != 1 else "")
    if isinstance(op, _TRANSPOSED):
        return f"{window} transposed conv{stride}, {config['filters']}"
    if isinstance(op, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
        groups = config.get("groups", 1)
        return (f"{window} conv{stride}, {config['filters']}"
                + (f", {groups} groups" if groups != 1 else ""))
    if isinstance(op, layers.Dense):
        return f"fc {config['units']}"
    if isinstance(op, _POOLS):
        kind = "max" if "Max" in type(op).__name__ else "avg"
        return f"{window} {kind} pool{stride}"
    if isinstance(op, _GLOBAL_POOLS):
        return "global " + ("max" if "Max" in type(op).__name__ else "avg") + " pool"
    if _is_merge(op):
        return _MERGE_NAMES.get(type(op).__name__, type(op).__name__)
    if isinstance(op, layers.Flatten):
        return "flatten"
    if isinstance(op, keras.Model):
        return f"model {op.name}"
    return _folded_text(op)


def _is_merge(op):
    """A merge layer, or a `keras.ops` elementwise operation (`x + y`)."""
    return isinstance(op, _MERGES) or _graphs.operation_kind(op) in ("elementwise",
                                                                     "concatenate")


def _folded_text(op):
    """A folded layer in small print: `BN`, `relu`, `pad`, `dropout 0.4`."""
    name = type(op).__name__
    config = _config(op)
    if name == "Activation":
        activation = config.get("activation")
        return activation if isinstance(activation, str) else "activation"
    if name == "Dropout" and "rate" in config:
        return f"dropout {config['rate']:g}"
    return _FOLDED_NAMES.get(name, name)


def _kernel_text(op):
    """A layer in a block's branch text: `1x7`, `3x3/2`, `sep3x3`, `max3x3/2`, `fc`; None for
    a layer left out of it."""
    config = _config(op)
    window = _dims(config.get("kernel_size") or config.get("pool_size")) or ""
    stride = _stride(config)
    if isinstance(op, _SEPARABLE):
        return f"sep{window}{stride}"
    if isinstance(op, _DEPTHWISE):
        return f"dw{window}{stride}"
    if isinstance(op, _TRANSPOSED):
        return f"up{window}{stride}"
    if isinstance(op, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
        return f"{window}{stride}"
    if isinstance(op, layers.Dense):
        return "fc"
    if isinstance(op, _POOLS):
        return ("max" if "Max" in type(op).__name__ else "avg") + window + stride
    if isinstance(op, _GLOBAL_POOLS):
        return "gmp" if "Max" in type(op).__name__ else "gap"
    if isinstance(op, layers.Flatten):
        return "flatten"
    if isinstance(op, keras.Model):
        return op.name
    return None


_TOOLTIP_SKIP = ("name", "trainable", "dtype", "data_format", "build_config", "momentum",
                 "synchronized", "sparse", "ragged", "optional")


def _config_text(op):
    """`kernel_size=(1, 7), strides=(1, 1), padding=same, ...`: the configuration, without
    initializers, regularizers, constraints, unset options and dtype policies."""
    items = []
    for key, value in _config(op).items():
        if (key in _TOOLTIP_SKIP or key.startswith("renorm") or value is None
                or key.endswith(("_initializer", "_regularizer", "_constraint"))
                or isinstance(value, dict) or len(str(value)) > 60):
            continue
        items.append(f"{key}={value}")
    return ", ".join(items)


def _call_tooltip(call):
    """What a layer call is: class, configuration, shapes, parameters."""
    op = call.op
    params = op.count_params() if isinstance(op, keras.Layer) else 0
    lines = [f"{op.name} ({type(op).__name__})"]
    config = _config_text(op)
    if config:
        lines.append(config)
    if call.input_shapes:
        lines.append("input: " + ", ".join(graphs.format_shape(s) for s in call.input_shapes))
    lines.append("output: " + ", ".join(graphs.format_shape(s) for s in call.output_shapes))
    lines.append(f"{params:,} parameters")
    return "\n".join(lines)


def _folded_tooltip(call):
    """A folded layer in its box's tooltip: `+ conv1_bn (BatchNormalization, epsilon=...)`."""
    config = _config_text(call.op)
    params = call.op.count_params() if isinstance(call.op, keras.Layer) else 0
    extra = f", {params:,} parameters" if params else ""
    return f"+ {call.op.name} ({type(call.op).__name__}{', ' + config if config else ''}{extra})"


def _giga(macs):
    if macs >= 1e9:
        return f"{macs / 1e9:.2f} G"
    if macs >= 1e6:
        return f"{macs / 1e6:.1f} M"
    return f"{macs:,}"


# --- a drawing, before Graphviz -----------------------------------------------------------------

@dataclasses.dataclass
class _Line:
    """One line of a label: `text` (plain), `size` (points), `style` (`b`, `i`, `small`)."""

    text: str
    size: float = 11
    style: str = ""
    markup: str = None

    def html(self):
        text = self.markup if self.markup is not None else html.escape(self.text)
        if self.style == "b":
            text = f"<b>{text}</b>"
        elif self.style == "i":
            text = f"<i>{text}</i>"
        elif self.style == "small":
            text = f'<font color="#555555">{text}</font>'
        return f'<font point-size="{self.size:g}">{text}</font>'


def _label(lines, align=None):
    if align:  # each line aligned (`<br align="left"/>` ends the line it aligns)
        brk = f'<br align="{align}"/>'
        return "<" + brk.join(line.html() for line in lines) + brk + ">"
    return "<" + "<br/>".join(line.html() for line in lines) + ">"


def _extent(lines):
    """Estimated `(width, height)` in inches of a box labelled `lines`."""
    width = max((len(line.text) * line.size * 0.55 / 72 for line in lines), default=0.5)
    height = sum(line.size * 1.25 / 72 for line in lines)
    return width + 0.3, height + 0.15


@dataclasses.dataclass
class _Node:
    id: str
    lines: list
    tooltip: str
    attrs: dict = dataclasses.field(default_factory=dict)
    cluster: str = None


@dataclasses.dataclass
class _Cluster:
    id: str
    lines: list
    tooltip: str
    attrs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Drawing:
    """Nodes in topological order, edges `(a, b)` in the order of each merge's inputs, and
    clusters (frames around nodes)."""

    nodes: list = dataclasses.field(default_factory=list)
    edges: list = dataclasses.field(default_factory=list)
    clusters: list = dataclasses.field(default_factory=list)

    def edge(self, a, b):
        """Adds the edge `a -> b`, once."""
        if a != b and (a, b) not in self._seen:
            self._seen.add((a, b))
            self.edges.append((a, b))

    def __post_init__(self):
        self._seen = set()


def _distinct(values):
    return list(dict.fromkeys(values))


def _trunk(parents):
    """Vertices every source-to-sink path passes through (`grouping.trunk`)."""
    return grouping.trunk(parents)


def _cuts(drawing, rankdir):
    """Where to wrap a long drawing: the ids of the nodes that end a column (empty: no wrap).

    Cuts are made only at nodes every path passes through, never inside a cluster, so one
    column's nodes connect to the next only through the edges leaving its last node. The number
    of columns makes the drawing about `_ASPECT` times as wide as tall.
    """
    index = {node.id: k for k, node in enumerate(drawing.nodes)}
    n = len(drawing.nodes)
    parents = [[] for _ in range(n)]
    children = [[] for _ in range(n)]
    for a, b in drawing.edges:
        parents[index[b]].append(index[a])
        children[index[a]].append(index[b])
    across = rankdir in ("LR", "RL")
    length, breadth = [], []
    for node in drawing.nodes:
        width, height = _extent(node.lines)
        length.append((width if across else height) + _RANKSEP)
        breadth.append((height if across else width) + _NODESEP)
    for cluster in drawing.clusters:  # its label adds to the first node's length
        first = next(k for k, node in enumerate(drawing.nodes) if node.cluster == cluster.id)
        width, height = _extent(cluster.lines)
        length[first] += (width if across else height)
    end, level = [0.0] * n, [0] * n
    for k in range(n):
        start = max((end[p] for p in parents[k]), default=0.0)
        end[k] = start + length[k]
        level[k] = max((level[p] + 1 for p in parents[k]), default=0)
    total = max(end, default=0.0)
    if total <= WRAP_INCHES:
        return []
    per_level = collections.defaultdict(float)
    for k in range(n):
        per_level[level[k]] += breadth[k]
    wide = max(per_level.values())
    # TB: width C * wide, height total / C; LR: width total / C, height C * wide.
    ratio = 1 / _ASPECT if across else _ASPECT
    columns = max(2, round(math.sqrt(ratio * total / wide)))
    columns = min(columns, max(2, int(total // 6)))  # columns at least 6 inches long
    last_in_cluster = {}
    for k, node in enumerate(drawing.nodes):
        if node.cluster is not None:
            last_in_cluster[node.cluster] = k
    candidates = [k for k in _trunk(parents) if children[k]
                  and (drawing.nodes[k].cluster is None
                       or last_in_cluster[drawing.nodes[k].cluster] == k)]
    cuts, done = [], 0.0
    for j in range(1, columns):
        target = done + (total - done) / (columns - j + 1)  # the rest, shared out evenly
        after = [k for k in candidates if not cuts or k > cuts[-1]]
        if not after:
            break
        best = min(after, key=lambda k: abs(end[k] - target))
        if end[best] < total - 2.0 and end[best] - done > 2.0:
            cuts.append(best)
            done = end[best]
    return [drawing.nodes[k].id for k in cuts]


def _segments(drawing, cuts):
    """Column of each node: how many cut nodes precede it on its paths."""
    cut_ids = set(cuts)
    column = {}
    parents = collections.defaultdict(list)
    for a, b in drawing.edges:
        parents[b].append(a)
    for node in drawing.nodes:
        column[node.id] = max((column[p] + (p in cut_ids) for p in parents[node.id]), default=0)
    return column


def _branch_entries(drawing):
    """For each merge, the first node of each branch (after the node where they split), in the
    order the merge reads the branches; only lists of two or more nodes in one cluster."""
    parents = collections.defaultdict(list)
    for a, b in drawing.edges:
        parents[b].append(a)
    dominator, _ = grouping.dominators([node.id for node in drawing.nodes], parents)
    cluster = {node.id: node.cluster for node in drawing.nodes}

    def entry(v, split):
        while v != split:
            ps = parents[v]
            up = ps[0] if len(ps) == 1 else dominator[v]
            if up == split or up is None:
                return v
            v = up
        return None

    result = []
    for node in drawing.nodes:
        if len(parents[node.id]) < 2:
            continue
        split = dominator[node.id]
        entries = _distinct(e for e in (entry(p, split) for p in parents[node.id]) if e)
        if len(entries) > 1 and len({cluster[e] for e in entries}) == 1:
            result.append(entries)
    return result


def _in_merge_order(drawing):
    """Reorders the nodes and edges so that Graphviz draws each merge's inputs left to right in
    the order the merge reads them: the nodes in depth-first post-order from the outputs
    (parents visited in the order they are read), the edges by their target in that order.
    (Graphviz needs both: `ordering=in` on the merge and this declaration order.)"""
    parents = collections.defaultdict(list)
    has_child = set()
    for a, b in drawing.edges:
        parents[b].append(a)
        has_child.add(a)
    nodes = {node.id: node for node in drawing.nodes}
    order, visited = [], set()
    for sink in [node.id for node in drawing.nodes if node.id not in has_child]:
        visited.add(sink)
        stack = [(sink, iter(parents[sink]))]
        while stack:
            node_id, pending = stack[-1]
            for parent in pending:
                if parent not in visited:
                    visited.add(parent)
                    stack.append((parent, iter(parents[parent])))
                    break
            else:
                stack.pop()
                order.append(node_id)
    position = {node_id: k for k, node_id in enumerate(order)}
    drawing.nodes = [nodes[node_id] for node_id in order]
    drawing.edges = sorted(drawing.edges, key=lambda e: position[e[1]])  # stable: input order


def _render(pydot, model, drawing, rankdir, node_defaults):
    """The pydot graph of a drawing: clusters, ordered merges, wrapped columns.

    A wrapped drawing is one connected graph per column, which Graphviz lays out side by side:
    an edge into a later column starts at a small connector node at the top of that column
    (`from conv3_block4_out`), named `<node>/continued` (no layer or block name has a `/`).
    """
    across = rankdir in ("LR", "RL")
    if across:  # Graphviz stacks a rank's nodes upwards there: declare everything reversed
        drawing.edges.reverse()
    _in_merge_order(drawing)
    graph = pydot.Dot(_quote(model.name), graph_type="digraph")
    graph.set("rankdir", rankdir)
    graph.set("ranksep", str(_RANKSEP))
    graph.set("nodesep", str(_NODESEP))
    graph.set("remincross", "false")  # a second crossing pass would undo the merge order
    graph.set_node_defaults(**node_defaults)
    graph.set_edge_defaults(arrowsize="0.7")
    cuts = _cuts(drawing, rankdir)
    column = _segments(drawing, cuts)
    entries = _branch_entries(drawing)
    if across:  # the first row on top
        drawing.nodes.sort(key=lambda node: -column[node.id])
        first = {}
        for node in drawing.nodes:
            first.setdefault(node.cluster, column[node.id])
        drawing.clusters.sort(key=lambda cluster: -first[cluster.id])
    clusters = {}
    for cluster in drawing.clusters:
        sub = pydot.Cluster("c", label=_label(cluster.lines, "left"),
                            tooltip=_quote(cluster.tooltip), style="rounded,filled",
                            labeljust="l", labelloc="b", fontname="Helvetica",
                            **cluster.attrs)
        sub.obj_dict["name"] = _quote(f"cluster_{cluster.id}")
        clusters[cluster.id] = sub
        graph.add_subgraph(sub)
    merges = collections.Counter(b for _, b in drawing.edges)
    connectors = set()
    titles = {cluster.id: cluster.lines[0].text for cluster in drawing.clusters}
    labels = {node.id: titles.get(node.cluster, node.lines[0].text) for node in drawing.nodes}
    for node in drawing.nodes:
        for a, b in drawing.edges:  # connectors go just before the first node they feed
            if b == node.id and column[a] != column[b] and a not in connectors:
                connectors.add(a)
                graph.add_node(pydot.Node(
                    _quote(f"{a}/continued"), label=_quote(f"from {labels[a]}"),
                    tooltip=_quote(f"continued from {a}, at the end of the previous column"),
                    shape="plaintext", style="", fontcolor="#555555", fontsize="10"))
        attrs = dict(node.attrs)
        if merges[node.id] > 1:
            attrs["ordering"] = "in"  # with the declaration order: inputs left to right
        item = pydot.Node(_quote(node.id), label=_label(node.lines),
                          tooltip=_quote(node.tooltip), **attrs)
        (clusters[node.cluster] if node.cluster is not None else graph).add_node(item)
    for a, b in drawing.edges:
        if column[a] != column[b]:
            graph.add_edge(pydot.Edge(_quote(f"{a}/continued"), _quote(b), style="dashed"))
        else:
            graph.add_edge(pydot.Edge(_quote(a), _quote(b)))
    # The branches of a merge start on one rank, left to right in the order the merge reads
    # them (invisible edges within a rank fix the order); with `ordering=in` on the merge they
    # end in that order too.
    cluster_of = {node.id: node.cluster for node in drawing.nodes}
    for k, branch in enumerate(entries):
        cluster = cluster_of[branch[0]]
        same = pydot.Subgraph(f"branches{k}", rank="same")
        for a, b in zip(branch, branch[1:]):
            same.add_edge(pydot.Edge(_quote(a), _quote(b), style="invis"))
        (clusters[cluster] if cluster is not None else graph).add_subgraph(same)
    return graph


# --- the layer level ------------------------------------------------------------------------------

_LAYER_NODE = dict(shape="box", style="rounded,filled", fillcolor=_WHITE, fontname="Helvetica",
                   fontsize="11", margin="0.12,0.05")


def _layer_drawing(calls, show_shapes):
    drawing = _Drawing()
    ids = []
    for i, call in enumerate(calls):
        name = call.name
        node_id = name if name not in ids else f"{name}#{i}"  # a shared layer's second call
        ids.append(node_id)
        lines = [_Line(name, 11, "b"), _Line(_layer_text(call.op))]
        if show_shapes:
            lines.append(_Line(", ".join(graphs.format_shape(s) for s in call.output_shapes)))
        drawing.nodes.append(_Node(node_id, lines, _call_tooltip(call)))
    for j, call in enumerate(calls):
        for p in call.parents:
            drawing.edge(ids[p], ids[j])
    return drawing


def _layer_graph(pydot, model, show_shapes, rankdir):
    """One box per layer call (name, what it does, output shape), named after the layers;
    every name is escaped, so any layer name draws."""
    try:
        calls = graphs.resolve(model).calls
    except ValueError:  # a subclassed model: no graph inside, one box (as Keras draws it)
        drawing = _Drawing(nodes=[_Node(model.name, [_Line(model.name, 11, "b"),
                                                     _Line(type(model).__name__)],
                                        f"{model.name} ({type(model).__name__})")])
        return _render(pydot, model, drawing, rankdir, _LAYER_NODE)
    return _render(pydot, model, _layer_drawing(calls, show_shapes), rankdir, _LAYER_NODE)


# --- blocks: shared by the block and module levels ------------------------------------------------

@dataclasses.dataclass
class _Box:
    """One block of a block-level diagram.

    Attributes:
        name: the block name, or the input layer's name.
        kind: the block's kind (`"inception_module"`, `"stage"`, ...), or `"input"`.
        label: the block's widths (`"64 | 96→128 | ..."`), or `""`.
        recorded: whether the block was recorded when built.
        output_shape: output shape of the block, batch dimension included.
        params: parameters of its layers (Keras' count).
        macs: multiply-adds of its layers at batch 1 (None when a size is unknown).
        last: name of the last block when `repeat > 1`, else None.
        repeat: how many identical chained blocks the box stands for.
        branches: its branches with their kernels (`"1x1 | 1x1→3x3 → concat"`), or `""`.
        stride: how much the block shrinks the spatial size (`2`), or 1.
        tooltip: what the block is (kind, arguments, layers), for SVG tooltips.
    """

    name: str
    kind: str
    label: str
    recorded: bool
    output_shape: tuple
    params: int
    macs: object
    last: str = None
    repeat: int = 1
    branches: str = ""
    stride: int = 1
    tooltip: str = ""


def _collapse(boxes, edges, signatures):
    """Merges chains of identical boxes into one box with a `repeat` count.

    Returns `(boxes, edges, into)`, `into` mapping each merged box's name to its first box's.
    """
    outs, ins = {}, {}
    for a, b in edges:
        outs.setdefault(a, []).append(b)
        ins.setdefault(b, []).append(a)
    into = {}  # box name -> name of the box it was merged into
    for box in boxes:
        prev = ins.get(box.name, [])
        if (box.kind != "input" and len(prev) == 1 and outs.get(prev[0]) == [box.name]
                and signatures.get(prev[0]) == signatures[box.name]):
            into[box.name] = into.get(prev[0], prev[0])
    merged = {b.name: b for b in boxes}
    for name, head in into.items():
        merged[head].repeat += 1
        merged[head].last = name
    kept = [b for b in boxes if b.name not in into]
    new_edges = []
    for a, b in edges:
        edge = (into.get(a, a), into.get(b, b))
        if edge[0] != edge[1] and edge not in new_edges:
            new_edges.append(edge)
    return kept, new_edges, into


def _macs(calls, members):
    try:
        return int(sum(analysis.call_macs(calls[i]) for i in members))
    except ValueError:  # a spatial size is unknown
        return None


def _fold(calls, owner):
    """Folds normalization, activation, padding, dropout (layers not in `_DRAWN`) into the
    layer before them (or after them) in the same block.

    Returns `unit_of`: for each call, the call whose box it is drawn in. Units ordered by that
    call's index are in topological order.
    """
    n = len(calls)
    parents = [_distinct(c.parents) for c in calls]
    children = [[] for _ in range(n)]
    for j in range(n):
        for p in parents[j]:
            children[p].append(j)
    folded = [not isinstance(c.op, _DRAWN) for c in calls]
    unit_of = list(range(n))
    for i in range(n):
        ps = parents[i]
        if (folded[i] and len(ps) == 1 and owner[i] is not None and owner[ps[0]] == owner[i]
                and len(children[ps[0]]) == 1):
            unit_of[i] = unit_of[ps[0]]
    for i in reversed(range(n)):
        cs = children[i]
        if (folded[i] and unit_of[i] == i and len(cs) == 1 and owner[cs[0]] == owner[i]
                and owner[i] is not None and len(parents[cs[0]]) == 1):
            unit_of[i] = unit_of[cs[0]]
    return unit_of


def _unit_edges(calls, unit_of):
    """`(a, b)` unit edges, each merge's inputs in the order it reads them."""
    edges = []
    for j, call in enumerate(calls):
        for p in call.parents:
            edge = (unit_of[p], unit_of[j])
            if edge[0] != edge[1] and edge not in edges:
                edges.append(edge)
    return edges


def _branches(calls, units, sources):
    """A block's branches with their kernels, as text: `1x1 | 1x1→3x3 | max3x3→1x1 → concat`.

    `units` are the block's unit calls in topological order; `sources[u]` the units `u` reads,
    in the order it reads them, None standing for the block's input. A merge's branches are
    the paths back from each of its inputs to the unit where they split (its immediate
    dominator, None when they split before the block); an empty branch is an identity (`id`).
    """
    dominator, _ = grouping.dominators(units, sources)

    def path(v, stop):
        items = []
        while v is not None and v != stop:
            if len(sources[v]) > 1:
                split = dominator[v]
                merge = _MERGE_NAMES.get(type(calls[v].op).__name__, type(calls[v].op).__name__)
                items.append((" | ".join(path(s, split) or "id" for s in sources[v]), merge))
                v = split
                continue
            text = _kernel_text(calls[v].op)
            if text:
                items.append(text)
            v = sources[v][0] if sources[v] else None
        if len(items) == 1 and isinstance(items[0], tuple) and stop is None:
            return f"{items[0][0]} → {items[0][1]}"
        return "→".join(f"[{t[0]} → {t[1]}]" if isinstance(t, tuple) else t
                        for t in reversed(items))

    return path(units[-1], None) if len(units) > 1 else ""


def _block_data(model):
    """Traced calls, blocks, the block owning each call (None for inputs), units and boxes."""
    calls, found = analysis.blocks(model)
    owner = [None] * len(calls)
    for b, block in enumerate(found):
        for i in block.calls:
            owner[i] = b
    unit_of = _fold(calls, owner)
    sources = collections.defaultdict(list)  # unit -> units it reads (None: outside its block)
    for i, call in enumerate(calls):
        u = unit_of[i]
        for p in call.parents:
            source = unit_of[p] if owner[p] == owner[u] else None
            if unit_of[p] != u and source not in sources[u]:
                sources[u].append(source)
    boxes, signatures, names = [], {}, {}
    for i, call in enumerate(calls):
        if isinstance(call.op, keras.layers.InputLayer):
            names[i] = call.op.name
            boxes.append(_Box(name=call.op.name, kind="input", label="", recorded=False,
                              output_shape=call.output_shapes[0], params=0, macs=0,
                              tooltip=_call_tooltip(call)))
    for b, block in enumerate(found):
        ops = list({id(calls[i].op): calls[i].op for i in block.calls}.values())
        units = sorted({unit_of[i] for i in block.calls if owner[unit_of[i]] == b})
        output = calls[block.output].output_shapes[0]
        inputs = [calls[p].output_shapes[0] for i in block.calls for p in calls[i].parents
                  if owner[p] != b]
        box = _Box(name=block.name, kind=block.kind, label=block.label, recorded=block.recorded,
                   output_shape=output,
                   params=sum(op.count_params() for op in ops if isinstance(op, keras.Layer)),
                   macs=_macs(calls, block.calls),
                   branches=_branches(calls, units, sources),
                   stride=_shrink(inputs[0] if inputs else output, output))
        box.tooltip = _block_tooltip(block, box, calls)
        boxes.append(box)
        signatures[block.name] = (block.kind, block.label, tuple(type(op).__name__ for op in ops),
                                  box.params, box.output_shape)
    for b, block in enumerate(found):
        for i in block.calls:
            names[i] = block.name
    edges = []
    for j, call in enumerate(calls):
        for p in call.parents:
            edge = (names[p], names[j])
            if edge[0] != edge[1] and edge not in edges:
                edges.append(edge)
    return types.SimpleNamespace(calls=calls, blocks=found, owner=owner, unit_of=unit_of,
                                 boxes=boxes, edges=edges, signatures=signatures)


def _shrink(before, after):
    """By how much the spatial size shrinks from shape `before` to `after` (channels last or
    first: the largest ratio of the dimensions both have), 1 when it does not."""
    dims = [(a, b) for a, b in zip(before[1:-1], after[1:-1]) if a and b]
    if len(before) != len(after) or not dims:
        return 1
    ratio = max(round(a / b) for a, b in dims)
    return ratio if ratio > 1 else 1


def _block_tooltip(block, box, calls):
    lines = [f"{block.name}: {block.kind}" + (f" {block.label}" if block.label else "")]
    if block.args:
        lines.append(", ".join(f"{k}={v}" for k, v in block.args.items()))
    if box.branches:
        lines.append(f"branches: {box.branches}")
    names = _distinct(calls[i].op.name for i in block.calls)
    shown = names if len(names) <= 12 else names[:6] + ["…"] + names[-5:]
    lines.append(f"{len(names)} layers: " + ", ".join(shown))
    lines.append(f"output: {graphs.format_shape(box.output_shape)}")
    macs = "" if box.macs is None else f", {box.macs:,} multiply-adds"
    lines.append(f"{box.params:,} parameters{macs}")
    return "\n".join(lines)


def _boxes(model, collapse_repeats):
    """`(boxes, edges)` of a block-level diagram: `_Box`es in graph order, `(name, name)` pairs.

    The boxes are `cnnblocks.analysis.blocks(model)` plus one per input layer.
    """
    data = _block_data(model)
    if not collapse_repeats:
        return data.boxes, data.edges
    boxes, edges, _ = _collapse(data.boxes, data.edges, data.signatures)
    return boxes, edges


def _shape_text(box):
    text = graphs.format_shape(box.output_shape)
    return f"{text} /{box.stride}" if box.stride > 1 else text


def _wrap(text, width=46):
    """Splits a branch text at ` | ` into lines of about `width` characters."""
    parts = text.split(" | ")
    lines, current = [], ""
    for k, part in enumerate(parts):
        piece = part + (" |" if k < len(parts) - 1 else "")
        if current and len(current) + len(piece) + 1 > width:
            lines.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    return lines + [current]


def _box_lines(box, show_shapes, *, branches=True):
    name = box.name if box.repeat == 1 else f"{box.name} \u2026 {box.last}"
    lines = [_Line(name, 13, "b")]
    if box.kind != "input":
        markup = f"<i>{html.escape(box.kind)}</i> {html.escape(box.label)}".rstrip()
        lines.append(_Line(f"{box.kind} {box.label}".rstrip(), 11, markup=markup))
        if branches and box.branches:
            lines += [_Line(text, 10, "small") for text in _wrap(box.branches)]
    if box.repeat > 1:
        lines.append(_Line(f"{box.repeat} identical blocks", 11))
    if show_shapes:
        lines.append(_Line(_shape_text(box), 11))
    if box.kind != "input":
        each = " each" if box.repeat > 1 else ""
        macs = "" if box.macs is None else f", {_giga(box.macs)} MACs"
        lines.append(_Line(f"{box.params:,} params{macs}{each}", 11))
    return lines


def _fill(box):
    if box.repeat > 1:
        return _REPEATED
    if box.kind == "input" or not box.recorded:
        return _STRUCTURAL
    return _RECORDED


# --- the block level ------------------------------------------------------------------------------

_BLOCK_NODE = dict(shape="box", style="rounded,filled", fontname="Helvetica", fontsize="12",
                   margin="0.15,0.08")


def _block_graph(pydot, model, show_shapes, rankdir, collapse_repeats):
    boxes, edges = _boxes(model, collapse_repeats)
    drawing = _Drawing()
    for box in boxes:
        drawing.nodes.append(_Node(box.name, _box_lines(box, show_shapes), box.tooltip,
                                   {"fillcolor": _fill(box),
                                    "penwidth": str(2 if box.repeat > 1 else 1)}))
    for a, b in edges:
        drawing.edge(a, b)
    return _render(pydot, model, drawing, rankdir, _BLOCK_NODE)


# --- the module level ---------------------------------------------------------------------------

_MODULE_NODE = dict(shape="box", style="rounded,filled", fillcolor=_WHITE, fontname="Helvetica",
                    fontsize="11", margin="0.1,0.04")


def _unit_fill(op):
    if _is_merge(op):
        return _MERGE
    if isinstance(op, _POOLS + _GLOBAL_POOLS):
        return _POOL
    if isinstance(op, layers.InputLayer):
        return _INPUT
    return _WHITE


def _module_graph(pydot, model, show_shapes, rankdir, collapse_repeats):
    data = _block_data(model)
    calls, unit_of, owner = data.calls, data.unit_of, data.owner
    boxes = {box.name: box for box in data.boxes}
    into = {}
    if collapse_repeats:
        _, _, into = _collapse(list(data.boxes), data.edges, data.signatures)
    block_index = {block.name: b for b, block in enumerate(data.blocks)}
    hidden = {block_index[name] for name in into}
    members = collections.defaultdict(list)
    for i, u in enumerate(unit_of):
        members[u].append(i)
    units_of_block = collections.defaultdict(list)
    for u in members:
        units_of_block[owner[u]].append(u)
    ids = {}
    used = set()
    for u in sorted(members):
        name = calls[u].op.name
        ids[u] = name if name not in used else f"{name}#{u}"
        used.add(ids[u])
    drawing = _Drawing()
    single = {}
    for b, block in enumerate(data.blocks):
        if b in hidden:
            continue
        box = boxes[block.name]
        if len(units_of_block[b]) == 1:
            single[b] = box
            continue
        drawing.clusters.append(_Cluster(block.name, _box_lines(box, show_shapes,
                                                                branches=False), box.tooltip,
                                         {"fillcolor": _fill(box),
                                          "penwidth": str(2 if box.repeat > 1 else 1)}))
    for u in sorted(members):
        b = owner[u]
        if b in hidden:
            continue
        call = calls[u]
        if isinstance(call.op, layers.InputLayer):
            lines = [_Line(call.op.name, 11, "b"), _Line("input")]
            if show_shapes:
                lines.append(_Line(graphs.format_shape(call.output_shapes[0])))
        else:
            lines = [_Line(_op_text(call.op))]
            extra = _distinct(_folded_text(calls[i].op) for i in members[u] if i != u)
            if extra:
                lines.append(_Line(" · ".join(extra), 9, "small"))
        tooltip = "\n".join([_call_tooltip(call)] + [_folded_tooltip(calls[i])
                                                     for i in members[u] if i != u])
        node = _Node(ids[u], lines, tooltip, {"fillcolor": _unit_fill(call.op)})
        if b in single:
            box = single[b]
            node.lines = _box_lines(box, show_shapes, branches=False)[:1] + lines
            if show_shapes:
                node.lines.append(_Line(_shape_text(box), 10))
            node.tooltip = f"{box.tooltip}\n\n{tooltip}"
            fill = _unit_fill(call.op)
            node.attrs["fillcolor"] = fill if fill != _WHITE else _fill(box)
        elif b is not None:
            node.cluster = data.blocks[b].name
        drawing.nodes.append(node)
    outputs = {b: unit_of[block.output] for b, block in enumerate(data.blocks)}
    for a, b in _unit_edges(calls, unit_of):
        if owner[b] in hidden:
            continue
        if owner[a] in hidden:  # the last of a folded run: its first block's output
            a = outputs[block_index[into[data.blocks[owner[a]].name]]]
        drawing.edge(ids[a], ids[b])
    return _render(pydot, model, drawing, rankdir, _MODULE_NODE)


# --- DOT source and files -----------------------------------------------------------------------

def to_dot(model, *, level="layer", show_shapes=True, rankdir="TB", collapse_repeats=True):
    """The Graphviz DOT source of a model diagram (needs pydot, not the Graphviz programs).

    Args:
        model: a `keras.Model` (functional or Sequential; `level="block"` and `"module"` need a
            layer graph).
        level: `"layer"` (one box per layer, as `keras.utils.plot_model`), `"module"` (each
            block as the papers draw it: its convolutions, pools and merges in a frame, branches
            side by side, normalization and activations in small print) or `"block"` (one box
            per block: name, kind and widths, branches, output shape, parameters,
            multiply-adds). Default `"layer"`.
        show_shapes: bool, show the shapes. Default True.
        rankdir: `"TB"` (top to bottom), `"LR"`, `"BT"` or `"RL"`. Default `"TB"`.
        collapse_repeats: bool, at the block and module levels draw chains of identical
            blocks once, with a count. Default True.

    Returns:
        str, the DOT source: nodes are named after the layers (or blocks).

    Raises:
        TypeError: `model` is not a keras.Model, or a flag is not a bool.
        ValueError: unknown `level` or `rankdir`; a block or module diagram of a subclassed
            model.
        GraphvizNotFoundError: pydot is not installed.

    Example:
        >>> import cnnblocks
        >>> model = cnnblocks.create_model("resnet50", weights=None)
        >>> source = cnnblocks.to_dot(model, level="block")
        >>> source.count(" -> ")  # a chain: input, conv1, pool1, 8 boxes for 16 modules, head
        11
    """
    _check_args(model, level, rankdir, show_shapes, collapse_repeats)
    pydot = _pydot()
    if level == "layer":
        graph = _layer_graph(pydot, model, show_shapes, rankdir)
    elif level == "module":
        graph = _module_graph(pydot, model, show_shapes, rankdir, collapse_repeats)
    else:
        graph = _block_graph(pydot, model, show_shapes, rankdir, collapse_repeats)
    return graph.to_string()


def _run_dot(args, source, to_file):
    result = subprocess.run([_dot_program(), *args], input=source.encode("utf-8"),
                            capture_output=True, check=False)
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"Graphviz failed to draw {to_file} (exit status "
                           f"{result.returncode}): {stderr}")
    return result.stdout.decode("utf-8", errors="replace")


def _size_inches(plain):
    """Width and height of a laid-out drawing (`dot -Tplain` output), in inches, padding
    included."""
    first = plain.split("\n", 1)[0].split()
    return (float(first[2]) + 2 * _PAD_INCHES, float(first[3]) + 2 * _PAD_INCHES)


def _hint(level):
    return "use an .svg file" + (" or level='block'" if level != "block" else "")


def _draw(source, to_file, fmt, dpi, level):
    """Lays the graph out once, writing the file and its plain-text layout; redraws a PNG that
    was over the bitmap limit at a dpi that fits, and warns; warns for a PDF page over
    `PDF_MAX_INCHES`."""
    if fmt not in ("png", "pdf"):
        _run_dot([f"-T{fmt}", "-o", str(to_file)], source, to_file)
        return
    with tempfile.TemporaryDirectory() as tmp:
        plain = pathlib.Path(tmp) / "layout.txt"
        args = [f"-Gdpi={dpi}"] if fmt == "png" else []
        _run_dot(args + ["-Tplain", "-o", str(plain), f"-T{fmt}", "-o", str(to_file)], source,
                 to_file)
        width, height = _size_inches(plain.read_text(encoding="utf-8"))
    if fmt == "pdf":
        if max(width, height) > PDF_MAX_INCHES:
            warnings.warn(
                f"{to_file}: the page is {width:.0f} x {height:.0f} inches; some PDF readers "
                f"(Adobe Acrobat) refuse pages over {PDF_MAX_INCHES} inches: {_hint(level)}.",
                stacklevel=3)
        return
    pixels = (math.ceil(width * dpi), math.ceil(height * dpi))
    if max(pixels) <= PNG_MAX_PIXELS:
        return
    fit = max(1, math.floor(PNG_MAX_PIXELS / max(width, height)))
    warnings.warn(
        f"{to_file}: at dpi={dpi} the diagram is {pixels[0]:,} x {pixels[1]:,} pixels, over "
        f"Graphviz' {PNG_MAX_PIXELS:,}-pixel bitmap limit; it is drawn at dpi={fit} instead, "
        f"where 14-point text is {14 * fit / 72:.0f} pixels tall: {_hint(level)}.",
        stacklevel=3)
    _run_dot([f"-Gdpi={fit}", "-Tpng", "-o", str(to_file)], source, to_file)


def plot(model, to_file, *, level="layer", show_shapes=True, rankdir="TB", dpi=96,
         collapse_repeats=True):
    """Draws a model diagram to an SVG, PNG or PDF file (or writes its DOT source).

    Like `keras.utils.plot_model`, with settings that work for every model in cnnblocks: the
    format follows the file extension, layer names are shown, long models wrap into columns,
    SVG boxes carry tooltips (hover: configuration, shapes, parameters), and no Graphviz
    setting that crashes on large graphs is used. A PNG that would exceed Graphviz'
    32,767-pixel limit is drawn at the largest dpi that fits, with a warning; so is a PDF page
    over 200 inches. The command line draws the same: `cnnblocks plot NAME|FILE.keras -o OUT
    [--level ...] [--rankdir ...]`.

    Args:
        model: a `keras.Model` (functional or Sequential; the block and module levels need a
            layer graph).
        to_file: str or path-like ending in `.svg`, `.png`, `.pdf`, or `.dot`/`.gv` (the DOT
            source; no Graphviz program needed).
        level: `"layer"`, `"module"` or `"block"`, as in `to_dot`. Default `"layer"`.
        show_shapes: bool, show the shapes. Default True.
        rankdir: `"TB"`, `"LR"`, `"BT"` or `"RL"`. Default `"TB"`.
        dpi: int, resolution of a PNG. Default 96.
        collapse_repeats: bool, as in `to_dot`. Default True.

    Returns:
        `pathlib.Path` of the written file.

    Raises:
        TypeError: `model` is not a keras.Model, `to_file` not a path, `dpi` not an int.
        ValueError: unknown `level` or `rankdir`, or an extension other than the above.
        GraphvizNotFoundError: pydot or Graphviz' `dot` is missing (an ImportError and a
            RuntimeError); the message says how to install them.
        RuntimeError: Graphviz failed.

    Example:
        >>> import cnnblocks
        >>> model = cnnblocks.create_model("googlenet", weights=None)
        >>> cnnblocks.plot(model, "googlenet_modules.svg", level="module")
        PosixPath('googlenet_modules.svg')
    """
    if not isinstance(to_file, (str, os.PathLike)):
        raise TypeError(f"`to_file` must be a path (str or os.PathLike), received "
                        f"{type(to_file).__name__}: {to_file!r:.80}.")
    to_file = pathlib.Path(to_file)
    fmt = FORMATS.get(to_file.suffix.lower())
    if fmt is None:
        raise ValueError(f"`to_file` must end in one of {', '.join(FORMATS)}; received "
                         f"{str(to_file)!r}.")
    dpi = check.positive_int(dpi, "dpi")
    source = to_dot(model, level=level, show_shapes=show_shapes, rankdir=rankdir,
                    collapse_repeats=collapse_repeats)
    if fmt == "dot":
        to_file.write_text(source, encoding="utf-8")
        return to_file
    _draw(source, to_file, fmt, dpi, level)
    return to_file

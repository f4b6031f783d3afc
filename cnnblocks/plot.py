"""Model diagrams: one box per layer, or one box per block.

Two levels, both drawn with pydot and Graphviz' `dot`:

- `level="layer"`: one box per layer call (its name, what it does, e.g. `Conv2D 1x7, 192`, and
  its output shape), the graph `keras.utils.plot_model` draws, with settings that work for
  every model here: edges are plain splines (Keras' `splines="ortho"` aborts Graphviz on
  Xception, "trapezoid-table overflow"), `concentrate` is off, nodes are named after the layers
  (the same model always gives the same file), and every name is escaped (`a<b&c` draws).
- `level="block"`: one box per block, the blocks `cnnblocks.summarize` lists
  (`cnnblocks.analysis.blocks`: recorded block calls, and structural groups for layers no record
  covers), so the diagram and the summary always agree. A box shows the block's name, its kind
  and widths (`inception_module 64 | 96→128 | 16→32 | pool→32`), its output shape, parameters
  and multiply-adds.

  Consecutive identical blocks (same kind, widths, parameters and output shape, joined in a
  chain) are drawn once with a count (`conv4_block2 ... conv4_block36`, 35 identical blocks), so
  ResNet-152 fits on a page; pass `collapse_repeats=False` to draw every block.

Bitmaps. Graphviz' cairo renderer caps a PNG at 32,767 pixels a side and scales bigger
drawings down. Before writing a PNG (or a PDF, whose readers may refuse pages over 200 inches)
`plot` lays the graph out, predicts the size, and warns: a layer-level PNG of ResNet-50 fits at
96 dpi, ResNet-152's does not fit at any readable resolution. SVG has no limit.
"""

import dataclasses
import html
import math
import os
import pathlib
import shutil
import subprocess
import warnings

import keras

from cnnblocks import _graph as _graphs
from cnnblocks import _validation as check
from cnnblocks import analysis

LEVELS = ("layer", "block")
RANKDIRS = ("TB", "LR", "BT", "RL")
#: File extensions `plot` writes, and the Graphviz output format of each (`dot`: the source).
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
#: Largest side, in pixels, of a bitmap Graphviz' cairo renderer writes unscaled.
PNG_MAX_PIXELS = 32767
#: Largest page side, in inches, that PDF readers must support (PDF 1.7 Annex C: 14,400 units).
PDF_MAX_INCHES = 200
#: Graphviz' default `pad` around a drawing, in inches (4 points on each side).
_PAD_INCHES = 4 / 72

_INSTALL = (
    "Diagrams need the pydot package and the Graphviz programs: `pip install pydot`, and "
    "Graphviz from your system's package manager (Debian/Ubuntu: `sudo apt-get install "
    "graphviz`; macOS: `brew install graphviz`; conda: `conda install graphviz`; others: "
    "https://graphviz.org/download/). `cnnblocks.to_dot` needs only pydot.")


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


def _quote(name):
    """A DOT identifier for `name`, always quoted (pydot leaves keywords such as `graph` bare)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_args(model, level, rankdir, show_shapes, collapse_repeats):
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, received {type(model).__name__}: "
                        f"{model!r:.80}.")
    check.choice(level, "level", LEVELS)
    check.choice(rankdir, "rankdir", RANKDIRS)
    for arg, value in (("show_shapes", show_shapes), ("collapse_repeats", collapse_repeats)):
        if not isinstance(value, bool):
            raise TypeError(f"`{arg}` must be a bool, received {value!r}.")


def _new_graph(pydot, model, rankdir):
    graph = pydot.Dot(_quote(model.name), graph_type="digraph")
    graph.set("rankdir", rankdir)
    return graph


def _layer_text(op):
    """What a layer does, in a few words: `Conv2D 3x3 /2, 64`, `MaxPooling2D 3x3 /2`."""
    kind = type(op).__name__
    config = op.get_config() if isinstance(op, keras.Layer) else {}
    window = config.get("kernel_size") or config.get("pool_size")
    parts = []
    if isinstance(window, (list, tuple)) and window:
        parts.append("x".join(map(str, window)))
    strides = config.get("strides")
    if isinstance(strides, (list, tuple)) and any(v != 1 for v in strides):
        parts.append("/" + ("x".join(map(str, strides)) if len(set(strides)) > 1
                            else str(strides[0])))
    width = config.get("filters") or config.get("units")
    text = " ".join([kind, *parts])
    return f"{text}, {width}" if width else text


def _layer_graph(pydot, model, show_shapes, rankdir):
    """One box per layer call (name, what it does, output shape), named after the layers;
    every name is escaped, so any layer name draws."""
    graph = _new_graph(pydot, model, rankdir)
    graph.set_node_defaults(shape="box", style="rounded,filled", fillcolor="#ffffff",
                            fontname="Helvetica", fontsize="11", margin="0.12,0.05")
    try:
        calls = _graphs.trace(_graphs.functional_graph(model))
    except ValueError:  # a subclassed model: no graph inside, one box (as Keras draws it)
        label = f"<<b>{html.escape(model.name)}</b><br/>{html.escape(type(model).__name__)}>"
        graph.add_node(pydot.Node(_quote(model.name), label=label))
        return graph
    ids = []
    for i, call in enumerate(calls):
        name = call.op.name
        node_id = name if name not in ids else f"{name}#{i}"  # a shared layer's second call
        ids.append(node_id)
        lines = [f"<b>{html.escape(name)}</b>", html.escape(_layer_text(call.op))]
        if show_shapes:
            lines.append(html.escape(", ".join(analysis.format_shape(s)
                                               for s in call.output_shapes)))
        params = call.op.count_params() if isinstance(call.op, keras.Layer) else 0
        graph.add_node(pydot.Node(_quote(node_id), label="<" + "<br/>".join(lines) + ">",
                                  tooltip=_quote(f"{name}: {params:,} params")[1:-1]))
    for j, call in enumerate(calls):
        for p in call.parents:
            graph.add_edge(pydot.Edge(_quote(ids[p]), _quote(ids[j])))
    return graph


@dataclasses.dataclass
class _Box:
    """One box of a block-level diagram.

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


def _collapse(boxes, edges, signatures):
    """Merges chains of identical boxes into one box with a `repeat` count."""
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
    return kept, new_edges


def _macs(calls, members):
    try:
        return int(sum(analysis.call_macs(calls[i]) for i in members))
    except ValueError:  # a spatial size is unknown
        return None


def _boxes(model, collapse_repeats):
    """`(boxes, edges)` of a block-level diagram: `_Box`es in graph order, `(name, name)` pairs.

    The boxes are `cnnblocks.analysis.blocks(model)` plus one per input layer.
    """
    calls, found = analysis.blocks(model)
    owner, boxes, signatures = {}, [], {}
    for i, call in enumerate(calls):
        if isinstance(call.op, keras.layers.InputLayer):
            owner[i] = call.op.name
            boxes.append(_Box(name=call.op.name, kind="input", label="", recorded=False,
                              output_shape=call.output_shapes[0], params=0, macs=0))
    for block in found:
        ops = list({id(calls[i].op): calls[i].op for i in block.calls}.values())
        box = _Box(name=block.name, kind=block.kind, label=block.label, recorded=block.recorded,
                   output_shape=calls[block.output].output_shapes[0],
                   params=sum(op.count_params() for op in ops if isinstance(op, keras.Layer)),
                   macs=_macs(calls, block.calls))
        boxes.append(box)
        for i in block.calls:
            owner[i] = block.name
        signatures[block.name] = (block.kind, block.label, tuple(type(op).__name__ for op in ops),
                                  box.params, box.output_shape)
    edges = []
    for j, call in enumerate(calls):
        for p in call.parents:
            edge = (owner[p], owner[j])
            if edge[0] != edge[1] and edge not in edges:
                edges.append(edge)
    if collapse_repeats:
        boxes, edges = _collapse(boxes, edges, signatures)
    return boxes, edges


def _fill(box):
    if box.repeat > 1:
        return "#b3cde3"
    if box.kind == "input" or not box.recorded:
        return "#f2f2f2"
    return "#dbe9f6"


def _giga(macs):
    if macs >= 1e9:
        return f"{macs / 1e9:.2f} G"
    if macs >= 1e6:
        return f"{macs / 1e6:.1f} M"
    return f"{macs:,}"


def _box_label(box, show_shapes):
    name = html.escape(box.name)
    if box.repeat > 1:
        name = f"{name} \u2026 {html.escape(box.last)}"
    lines = [f'<font point-size="14"><b>{name}</b></font>']
    if box.kind != "input":
        kind = f"<i>{html.escape(box.kind)}</i>"
        lines.append(f"{kind} {html.escape(box.label)}".rstrip())
    if box.repeat > 1:
        lines.append(f"{box.repeat} identical blocks")
    if show_shapes:
        lines.append(html.escape(analysis.format_shape(box.output_shape)))
    if box.kind != "input":
        each = " each" if box.repeat > 1 else ""
        macs = "" if box.macs is None else f", {_giga(box.macs)} MACs"
        lines.append(f"{box.params:,} params{macs}{each}")
    return "<" + "<br/>".join(lines) + ">"


def _block_graph(pydot, model, show_shapes, rankdir, collapse_repeats):
    boxes, edges = _boxes(model, collapse_repeats)
    graph = _new_graph(pydot, model, rankdir)
    graph.set_node_defaults(shape="box", style="rounded,filled", fontname="Helvetica",
                            fontsize="12", margin="0.15,0.08")
    for box in boxes:
        graph.add_node(pydot.Node(_quote(box.name), label=_box_label(box, show_shapes),
                                  fillcolor=_fill(box), penwidth=str(2 if box.repeat > 1 else 1)))
    for a, b in edges:
        graph.add_edge(pydot.Edge(_quote(a), _quote(b)))
    return graph


def to_dot(model, *, level="layer", show_shapes=True, rankdir="TB", collapse_repeats=True):
    """The Graphviz DOT source of a model diagram (needs pydot, not the Graphviz programs).

    Args:
        model: a `keras.Model` (functional or Sequential; `level="block"` needs a layer graph).
        level: `"layer"` (one box per layer, as `keras.utils.plot_model`) or `"block"` (one box
            per block: name, kind and widths, output shape, parameters, multiply-adds).
            Default `"layer"`.
        show_shapes: bool, show the shapes. Default True.
        rankdir: `"TB"` (top to bottom), `"LR"`, `"BT"` or `"RL"`. Default `"TB"`.
        collapse_repeats: bool, at the block level draw chains of identical blocks as one box
            with a count. Default True.

    Returns:
        str, the DOT source: nodes are named after the layers (or blocks).

    Raises:
        TypeError: `model` is not a keras.Model, or a flag is not a bool.
        ValueError: unknown `level` or `rankdir`; a block diagram of a subclassed model.
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


def _size_inches(source, to_file):
    """Width and height of the laid-out drawing, in inches, padding included."""
    first = _run_dot(["-Tplain"], source, to_file).split("\n", 1)[0].split()
    return (float(first[2]) + 2 * _PAD_INCHES, float(first[3]) + 2 * _PAD_INCHES)


def _checked_dpi(source, to_file, fmt, dpi, level):
    """The dpi to render at; warns when a bitmap or page would exceed what readers handle."""
    if fmt not in ("png", "pdf"):
        return dpi
    width, height = _size_inches(source, to_file)
    hint = "use an .svg file" + (" or level='block'" if level == "layer" else "")
    if fmt == "pdf":
        if max(width, height) > PDF_MAX_INCHES:
            warnings.warn(
                f"{to_file}: the page is {width:.0f} x {height:.0f} inches; some PDF readers "
                f"(Adobe Acrobat) refuse pages over {PDF_MAX_INCHES} inches: {hint}.",
                stacklevel=3)
        return dpi
    pixels = (math.ceil(width * dpi), math.ceil(height * dpi))
    if max(pixels) <= PNG_MAX_PIXELS:
        return dpi
    fit = max(1, math.floor(PNG_MAX_PIXELS / max(width, height)))
    warnings.warn(
        f"{to_file}: at dpi={dpi} the diagram is {pixels[0]:,} x {pixels[1]:,} pixels, over "
        f"Graphviz' {PNG_MAX_PIXELS:,}-pixel bitmap limit; it is drawn at dpi={fit} instead, "
        f"where 14-point text is {14 * fit / 72:.0f} pixels tall: {hint}.", stacklevel=3)
    return fit


def plot(model, to_file, *, level="layer", show_shapes=True, rankdir="TB", dpi=96,
         collapse_repeats=True):
    """Draws a model diagram to an SVG, PNG or PDF file (or writes its DOT source).

    Like `keras.utils.plot_model`, with settings that work for every model in cnnblocks: the
    format follows the file extension, layer names are shown, and no Graphviz setting that
    crashes on large graphs is used. A PNG that would exceed Graphviz' 32,767-pixel limit is
    drawn at the largest dpi that fits, with a warning; so is a PDF page over 200 inches.

    Args:
        model: a `keras.Model` (functional or Sequential; `level="block"` needs a layer graph).
        to_file: str or path-like ending in `.svg`, `.png`, `.pdf`, or `.dot`/`.gv` (the DOT
            source; no Graphviz program needed).
        level: `"layer"` or `"block"`, as in `to_dot`. Default `"layer"`.
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
        >>> model = cnnblocks.create_model("resnet152", weights=None)
        >>> cnnblocks.plot(model, "resnet152.svg", level="block")
        PosixPath('resnet152.svg')
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
    dpi = _checked_dpi(source, to_file, fmt, dpi, level)
    args = [f"-T{fmt}", "-o", str(to_file)]
    if fmt == "png":
        args.insert(0, f"-Gdpi={dpi}")
    _run_dot(args, source, to_file)
    return to_file

"""cnnblocks.plot / cnnblocks.to_dot: DOT content at both levels, rendering, the limits of
bitmaps and PDF pages, missing pydot or Graphviz, argument checks, the `plot` command."""

import importlib
import re
import struct
import sys
import xml.etree.ElementTree as ET

import keras
import pytest
from keras import layers

import cnnblocks
from cnnblocks import cli
from cnnblocks.blocks import inception_module, naive_inception_module, residual_module, vgg_block
from harness import SubclassedModel

# `cnnblocks.plot` is the function; the module holds the limits and the error class.
plot_module = importlib.import_module("cnnblocks.plot")

_ID = r'"((?:[^"\\]|\\.)*)"'
_NODE = re.compile(rf"^{_ID} \[", re.M)
_EDGE = re.compile(rf"^{_ID} -> {_ID}(?![^\n]*style=invis)", re.M)
_TOOLTIP = re.compile(r'tooltip="(?:[^"\\]|\\.)*"')
#: Connector nodes at the top of a wrapped column: `<node>/continued` (no layer has a `/`).
CONNECTOR = "/continued"


def graph(source):
    """(node names, edges) of DOT source written by `to_dot`: the model's nodes and edges, without
    the invisible edges that order branches and the connectors of wrapped columns (an edge from
    a connector is the edge from the node it continues)."""
    nodes = [n for n in _NODE.findall(source) if not n.endswith(CONNECTOR)]
    edges = [(a.removesuffix(CONNECTOR), b) for a, b in _EDGE.findall(source)]
    return nodes, edges


# --- small models from cnnblocks.blocks ------------------------------------------------------

def vgg_model():
    inputs = keras.Input((32, 32, 3), name="image")
    x = vgg_block(inputs, 16, 2, name="block1")
    x = vgg_block(x, 32, 2, name="block2")
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, layers.Dense(10, name="predictions")(x), name="small_vgg")


def residual_model():
    inputs = keras.Input((16, 16, 8), name="image")
    x = residual_module(inputs, 16, name="conv2_block1")  # 8 -> 16 channels: projection
    x = residual_module(x, 16, name="conv2_block2")       # identity, like block 3
    x = residual_module(x, 16, name="conv2_block3")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, x, name="small_resnet")


def inception_model():
    keras.backend.clear_session()  # fresh name counters: the unnamed module's prefix is its kind
    inputs = keras.Input((28, 28, 192), name="image")
    x = inception_module(inputs, 64, 96, 128, 16, 32, 32, name="inception_3a")
    x = naive_inception_module(x, 16, 16, 16)  # unnamed: Keras picks the names
    return keras.Model(inputs, x, name="small_inception")


# name: (builder, layer-level nodes, edges, block-level boxes (collapsed), edges,
#        boxes without collapsing). Counts by hand:
SMALL = {
    # a chain of 9 layers: image, 2 x (conv1, conv2, pool), flatten, predictions;
    # boxes: image, block1, block2, head.
    "vgg": (vgg_model, 9, 8, ["image", "block1", "block2", "head"], 3, 4),
    # projection module: 9 layers, 10 edges; identity module: 7 layers, 8 edges (input -> add);
    # 1 + 9 + 7 + 7 + 1 = 25 layers, 10 + 8 + 8 + 1 = 27 edges; blocks 2 and 3 are identical.
    "residual": (residual_model, 25, 27, ["image", "conv2_block1", "conv2_block2", "head"], 3,
                 5),
    # inception_3a: 8 layers, 11 edges; the naive module: 3 convs, pool, concat, 8 edges.
    # Called without a name, it takes its kind as prefix.
    "inception": (inception_model, 14, 19, ["image", "inception_3a", "naive_inception_module"],
                  2, 3),
}


@pytest.fixture(scope="module")
def small():
    return {name: row[0]() for name, row in SMALL.items()}


@pytest.mark.parametrize("name", SMALL)
def test_layer_level_dot(small, name):
    model, (_, n_nodes, n_edges, *_) = small[name], SMALL[name]
    nodes, edges = graph(cnnblocks.to_dot(model))
    assert (len(nodes), len(edges)) == (n_nodes, n_edges)
    assert sorted(nodes) == sorted(layer.name for layer in model.layers)  # names, not ids
    assert {n for e in edges for n in e} <= set(nodes)


@pytest.mark.parametrize("name", SMALL)
def test_block_level_dot(small, name):
    model, (_, _, _, boxes, n_edges, n_uncollapsed) = small[name], SMALL[name]
    source = cnnblocks.to_dot(model, level="block")
    nodes, edges = graph(source)
    assert nodes == boxes
    assert len(edges) == n_edges
    nodes, _ = graph(cnnblocks.to_dot(model, level="block", collapse_repeats=False))
    assert len(nodes) == n_uncollapsed


def test_block_labels_and_parameters(small):
    model = small["residual"]
    boxes, _ = plot_module._boxes(model, True)
    assert sum(b.params * b.repeat for b in boxes) == model.count_params()
    source = cnnblocks.to_dot(model, level="block")
    assert "conv2_block2 \u2026 conv2_block3" in source and "2 identical blocks" in source
    assert "16x16x16" in source
    # Each box: name, kind and widths, shape, parameters and multiply-adds (16x16 map, 3x3 convs
    # 8 -> 16 and 16 -> 16, 1x1 projection 8 -> 16).
    assert "<i>residual_module</i> 16, 16" in source
    macs = 16 * 16 * 16 * (9 * 8 + 9 * 16 + 8)
    assert f"{boxes[1].params:,} params, {macs:,} MACs" in source
    labels = _TOOLTIP.sub("", cnnblocks.to_dot(model, level="block", show_shapes=False))
    assert "16x16x16" not in labels  # (the tooltips still give the shapes)


def test_dot_is_deterministic_and_layout_safe(small):
    model = small["inception"]
    source = cnnblocks.to_dot(model)
    assert source == cnnblocks.to_dot(model)
    assert not re.search(r"\d{9,}", source), "Python object ids leaked into the DOT source"
    assert "ortho" not in source and "concentrate" not in source
    assert "rankdir=LR" in cnnblocks.to_dot(model, rankdir="LR")


def test_layer_names_that_are_dot_keywords():
    inputs = keras.Input((4,), name="graph")
    model = keras.Model(inputs, layers.Dense(2, name="node")(inputs))
    nodes, edges = graph(cnnblocks.to_dot(model))
    assert nodes == ["graph", "node"] and edges == [("graph", "node")]


def test_sequential_and_subclassed_models():
    seq = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, name="conv1_conv"),
                            layers.Flatten(name="flatten")], name="seq")
    assert graph(cnnblocks.to_dot(seq))[0][1:] == ["conv1_conv", "flatten"]  # after the input
    boxes = graph(cnnblocks.to_dot(seq, level="block"))[0]
    assert len(boxes) == 3 and boxes[1:] == ["conv1_conv", "head"]  # the input named by Keras

    tiny = SubclassedModel()
    tiny(keras.ops.zeros((1, 3)))
    assert len(graph(cnnblocks.to_dot(tiny))[0]) == 1  # Keras draws it as one box
    with pytest.raises(ValueError, match="subclassed"):
        cnnblocks.to_dot(tiny, level="block")


# --- rendering ----------------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["layer", "block"])
def test_renders_svg_png_pdf_and_dot(small, tmp_path, level):
    model = small["inception"]
    svg = cnnblocks.plot(model, tmp_path / "m.svg", level=level)
    text = svg.read_text()
    ET.fromstring(text.split("\n", 3)[-1] if text.startswith("<?xml") else text)  # valid XML
    assert "inception_3a" in text
    png = cnnblocks.plot(model, str(tmp_path / "m.PNG"), level=level, dpi=50)
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert 0 < max(width, height) <= plot_module.PNG_MAX_PIXELS
    assert cnnblocks.plot(model, tmp_path / "m.pdf", level=level).read_bytes()[:5] == b"%PDF-"
    dot_file = cnnblocks.plot(model, tmp_path / "m.gv", level=level)
    assert dot_file.read_text() == cnnblocks.to_dot(model, level=level)


def _png_size(path):
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_png_over_the_bitmap_limit_warns_and_fits(small, tmp_path, monkeypatch):
    model = small["residual"]
    monkeypatch.setattr(plot_module, "PNG_MAX_PIXELS", 400)  # the real one is 32,767
    with pytest.warns(UserWarning, match=r"400-pixel bitmap limit.*use an \.svg file or "
                                         r"level='block'"):
        path = cnnblocks.plot(model, tmp_path / "big.png", dpi=96)
    assert max(_png_size(path)) <= 400
    with pytest.warns(UserWarning, match="drawn at dpi="):
        cnnblocks.plot(model, tmp_path / "block.png", level="block", dpi=400)


def test_svg_and_small_png_do_not_warn(small, tmp_path, recwarn):
    cnnblocks.plot(small["residual"], tmp_path / "m.svg")
    cnnblocks.plot(small["residual"], tmp_path / "m.png", level="block")
    assert not [w for w in recwarn if "limit" in str(w.message)]


def test_pdf_page_over_200_inches_warns(small, tmp_path, monkeypatch):
    monkeypatch.setattr(plot_module, "PDF_MAX_INCHES", 5)
    with pytest.warns(UserWarning, match="PDF readers"):
        cnnblocks.plot(small["residual"], tmp_path / "m.pdf")


# --- missing pydot or Graphviz ----------------------------------------------------------------

def test_missing_dot_program(small, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    with pytest.raises(plot_module.GraphvizNotFoundError) as info:
        cnnblocks.plot(small["vgg"], tmp_path / "m.svg")
    message = str(info.value)
    for hint in ("`dot`", "pip install pydot", "sudo apt-get install graphviz",
                 "brew install graphviz", "conda install graphviz"):
        assert hint in message
    assert isinstance(info.value, ImportError) and isinstance(info.value, RuntimeError)
    assert graph(cnnblocks.to_dot(small["vgg"]))[0]  # the source needs no program
    assert cnnblocks.plot(small["vgg"], tmp_path / "m.dot").exists()


def test_missing_pydot(small, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydot", None)  # `import pydot` raises ImportError
    for call in (lambda: cnnblocks.to_dot(small["vgg"]),
                 lambda: cnnblocks.plot(small["vgg"], tmp_path / "m.svg", level="block")):
        with pytest.raises(ImportError, match=r"pydot is not installed.*pip install pydot"):
            call()


def test_graphviz_failure_is_reported(small, tmp_path, monkeypatch):
    monkeypatch.setattr(plot_module, "_dot_program", lambda: "false")
    with pytest.raises(RuntimeError, match="Graphviz failed to draw"):
        cnnblocks.plot(small["vgg"], tmp_path / "m.svg")


# --- argument checks --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, message", [
    (dict(level="blocks"), ValueError, r"`level`.*'blocks'"),
    (dict(rankdir="UD"), ValueError, r"`rankdir`.*'UD'"),
    (dict(to_file="m.jpg"), ValueError, r"`to_file`.*'m\.jpg'"),
    (dict(to_file="model"), ValueError, r"`to_file`.*'model'"),
    (dict(to_file=7), TypeError, r"`to_file`.*7"),
    (dict(dpi=0), ValueError, r"`dpi`.*0"),
    (dict(dpi=96.0), TypeError, r"`dpi`.*96\.0"),
    (dict(show_shapes="yes"), TypeError, r"`show_shapes`.*'yes'"),
    (dict(collapse_repeats=None), TypeError, r"`collapse_repeats`.*None"),
    (dict(model="resnet50"), TypeError, r"`model`.*'resnet50'"),
])
def test_bad_arguments(small, tmp_path, kwargs, error, message):
    args = {"model": small["vgg"], "to_file": tmp_path / "m.svg", **kwargs}
    with pytest.raises(error, match=message):
        cnnblocks.plot(args.pop("model"), args.pop("to_file"), **args)


def test_to_dot_checks_its_arguments(small):
    with pytest.raises(ValueError, match=r"`level`.*'blocks'"):
        cnnblocks.to_dot(small["vgg"], level="blocks")
    with pytest.raises(TypeError, match="`model`"):
        cnnblocks.to_dot(None)


# --- the `plot` command -----------------------------------------------------------------------

def test_cli_plot(tmp_path, capsys):
    out = tmp_path / "r18.svg"
    assert cli.main(["plot", "resnet18", "-o", str(out), "--input-shape", "64,64,3"]) == 0
    text = out.read_text()
    assert "conv2_block1_1_conv" in text  # the layer level by default, as cnnblocks.plot
    assert str(out) in capsys.readouterr().out
    layer = tmp_path / "r18.dot"
    assert cli.main(["plot", "resnet18", "-o", str(layer), "--input-shape", "64,64,3"]) == 0
    assert len(graph(layer.read_text())[0]) == 71  # every layer of ResNet-18 (keras count)
    block = tmp_path / "r18_blocks.dot"
    assert cli.main(["plot", "resnet18", "-o", str(block), "--level", "block", "--rankdir",
                     "LR", "--no-collapse-repeats", "--input-shape", "64,64,3"]) == 0
    nodes, _ = graph(block.read_text())
    assert "rankdir=LR" in block.read_text() and "conv2_block2" in nodes and "head" in nodes


def test_cli_plot_errors(tmp_path, capsys):
    assert cli.main(["plot", "resnet18", "-o", str(tmp_path / "m.jpg")]) == 2
    assert "'" + str(tmp_path / "m.jpg") + "'" in capsys.readouterr().err
    assert cli.main(["plot", "resnet17", "-o", str(tmp_path / "m.svg")]) == 2
    assert "resnet18" in capsys.readouterr().err  # the registry suggests close names


# --- the architectures (full size) --------------------------------------------------------------

# name: builder, boxes at the block level (collapsed), block-level edges, layers.
ARCHITECTURES = {
    # input, conv1, pool1, conv2_block1, conv2_block2-3, conv3_block1, conv3_block2-8,
    # conv4_block1, conv4_block2-36, conv5_block1, conv5_block2-3, head; keras: 517 layers.
    "resnet152": (lambda: cnnblocks.create_model("resnet152"), 12, 11, 517),
    # input, conv1-5 and pool1-2 (stem), mixed0-4, mixed5-6, mixed7-10, head; keras: 313.
    "inception_v3": (lambda: cnnblocks.create_model("inception_v3"), 19, 18, 313),
    # input, block1-4, block5-12 (middle flow), block13, block14, head; keras: 134.
    "xception": (lambda: cnnblocks.create_model("xception"), 9, 8, 134),
    # keras' own, grouped by structure: unnamed shortcut convs and adds join their modules.
    "keras_xception": (lambda: keras.applications.Xception(weights=None), 9, 8, 134),
    # keras' own: ~190 unnamed layers; two stem stages (each ends in a max pool), mixed0-4,
    # mixed5-6, mixed7-10, head.
    "keras_inception_v3": (lambda: keras.applications.InceptionV3(weights=None), 14, 13, 313),
}


@pytest.fixture(scope="module")
def architecture():
    built = {}

    def get(name):
        if name not in built:
            built[name] = ARCHITECTURES[name][0]()
        return built[name]
    return get


@pytest.mark.heavy
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architecture_dot(architecture, name, tmp_path):
    _, n_boxes, n_edges, n_layers = ARCHITECTURES[name]
    model = architecture(name)
    nodes, edges = graph(cnnblocks.to_dot(model, level="block"))
    assert (len(nodes), len(edges)) == (n_boxes, n_edges)
    boxes, _ = plot_module._boxes(model, True)
    assert sum(b.params * b.repeat for b in boxes) == model.count_params()
    assert len(graph(cnnblocks.to_dot(model))[0]) == n_layers == len(model.layers)
    # the block diagram fits on a page: under 30 inches tall at any model size
    png = cnnblocks.plot(model, tmp_path / "blocks.png", level="block", dpi=72)
    assert max(_png_size(png)) < 30 * 72


@pytest.mark.heavy
@pytest.mark.parametrize("name", ["xception", "keras_xception"])
def test_xception_layer_level_renders(architecture, name, tmp_path):
    # keras.utils.plot_model's splines="ortho" aborts Graphviz here (trapezoid-table overflow)
    path = cnnblocks.plot(architecture(name), tmp_path / "x.svg")
    assert "block14_sepconv2_act" in path.read_text()


@pytest.mark.heavy
def test_keras_inception_v3_blocks(architecture):
    nodes, _ = graph(cnnblocks.to_dot(architecture("keras_inception_v3"), level="block"))
    assert nodes[1:] == ["stem1", "stem2", "mixed0", "mixed1", "mixed2", "mixed3", "mixed4",
                         "mixed5", "mixed7", "mixed8", "mixed9", "mixed10", "head"]


# --- issue 17: three levels, branch order, wrapping, tooltips -----------------------------------

def _layout(source):
    """Node centres `{id: (x, y)}` and the drawing's size in inches, from Graphviz' layout."""
    plain = plot_module._run_dot(["-Tplain"], source, "layout")
    nodes, size = {}, None
    for line in plain.splitlines():
        parts = line.split()
        if parts[0] == "graph":
            size = (float(parts[2]), float(parts[3]))
        elif parts[0] == "node":
            nodes[parts[1].strip('"')] = (float(parts[2]), float(parts[3]))
    return nodes, size


def _merges(model, level):
    """`{merge: [the boxes it reads, in order]}` of a model's Concatenate/Add layers; at the
    module level a box is named after the layer its folded layers (BN, ReLU) are drawn in."""
    data = plot_module._block_data(model)
    calls = data.calls
    box = (lambda i: calls[data.unit_of[i]].op.name) if level == "module" else (
        lambda i: calls[i].op.name)
    return {c.op.name: [box(p) for p in c.parents] for c in calls
            if isinstance(c.op, (layers.Concatenate, layers.Add))}


def inception_v3_b_model():
    from cnnblocks.blocks import inception_v3_b
    inputs = keras.Input((17, 17, 64), name="image")
    return keras.Model(inputs, inception_v3_b(inputs, 32, 16, 32, 16, 32, 32, name="mixed4"),
                       name="small_v3")


def test_module_level_draws_each_block_as_a_frame_of_its_layers(small):
    source = cnnblocks.to_dot(small["inception"], level="module")
    # One frame per block; BN/activations folded: the 8 layers of inception_3a are 8 boxes
    # (no BN), the naive module's 5 layers 5 boxes, plus the input.
    assert source.count("subgraph \"cluster_") == 2
    nodes, edges = graph(source)
    assert len(nodes) == 1 + 8 + 5 and len(edges) == 19
    for text in ("1x1 conv, 64", "1x1 conv, 96", "3x3 conv, 128", "5x5 conv, 32",
                 "3x3 max pool", "concat", "<i>inception_module</i> 64 | 96→128 | 16→32"):
        assert text in source, text
    # A residual module: conv + BN + ReLU is one box, named in small print; the add with its
    # ReLU; the repeated module drawn once with its count.
    source = cnnblocks.to_dot(small["residual"], level="module")
    assert "3x3 conv, 16</font><br/><font point-size=\"9\"><font color=\"#555555\">BN · relu" \
        in source
    assert ">add</font>" in source and "2 identical blocks" in source
    assert source.count("subgraph \"cluster_") == 2  # conv2_block1, conv2_block2 … 3


def test_kernel_shapes_are_written_height_x_width():
    model = inception_v3_b_model()
    module = cnnblocks.to_dot(model, level="module")
    assert "1x7 conv, 16" in module and "7x1 conv, 16" in module
    layer = cnnblocks.to_dot(model)
    assert "Conv2D 1x7, 16" in layer and "Conv2D 7x1, 16" in layer
    block = cnnblocks.to_dot(model, level="block")
    assert "1x1 | 1x1→1x7→7x1 | 1x1→7x1→1x7→7x1→1x7 | avg3x3→1x1 → concat" in block


@pytest.mark.parametrize("level", ["layer", "module"])
@pytest.mark.parametrize("builder", [inception_model, inception_v3_b_model])
def test_branches_are_drawn_in_the_order_the_merge_reads_them(builder, level):
    model = builder()
    source = cnnblocks.to_dot(model, level=level)
    centres, _ = _layout(source)
    for merge, inputs in _merges(model, level).items():
        xs = [centres[name][0] for name in inputs]
        assert xs == sorted(xs), (merge, inputs, xs)


def test_block_level_boxes_give_branches_kernels_and_strides():
    keras.backend.clear_session()
    inputs = keras.Input((16, 16, 8), name="image")
    x = inception_module(inputs, 4, 4, 8, 2, 4, 4, name="inc")
    x = residual_module(x, 24, strides=2, name="res")      # 24 -> 24, stride 2: projection
    x = residual_module(x, 24, name="res2")                # identity shortcut
    model = keras.Model(inputs, x)
    source = cnnblocks.to_dot(model, level="block")
    assert "1x1 | 1x1→3x3 | 1x1→5x5 | max3x3→1x1 → concat" in source
    assert "1x1/2 | 3x3/2→3x3 → add" in source    # the shortcut is the add's first input
    assert "id | 3x3→3x3 → add" in source
    assert "8x8x24 /2" in source                  # the block halves the spatial size
    assert "<i>residual_module</i> 24, 24 /2" in source


def test_svg_tooltips_give_configuration_shapes_and_parameters(small, tmp_path):
    svg = cnnblocks.plot(inception_v3_b_model(), tmp_path / "m.svg", level="module").read_text()
    titles = re.findall(r'xlink:title="([^"]*)"', svg)
    conv = next(t for t in titles if t.startswith("mixed4_7x7_1_conv (Conv2D)"))
    assert "kernel_size=(1, 7)" in conv and "input: 17x17x16" in conv
    assert "output: 17x17x16" in conv and "parameters" in conv
    assert "+ mixed4_7x7_1_bn (BatchNormalization" in conv  # the folded layers too
    block = next(t for t in titles if t.startswith("mixed4: inception_v3_b"))
    assert "f7_reduce=16" in block and "multiply&#45;adds" in block
    for level in ("layer", "block"):
        svg = cnnblocks.plot(small["residual"], tmp_path / f"{level}.svg", level=level)
        assert "parameters" in svg.read_text()


def _chain(n):
    inputs = keras.Input((8, 8, 4), name="image")
    x = inputs
    for i in range(n):
        x = layers.Conv2D(4, 3, padding="same", name=f"conv{i}")(x)
    return keras.Model(inputs, x, name=f"chain{n}")


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_long_models_wrap_into_columns(rankdir):
    long = cnnblocks.to_dot(_chain(120), rankdir=rankdir)
    nodes, edges = graph(long)
    assert len(nodes) == 121 and len(edges) == 120      # every layer and edge still drawn
    assert CONNECTOR in long                             # wrapped
    _, (width, height) = _layout(long)
    assert 0.5 < width / height < 4, (width, height)    # not a 120-box column or strip
    short = cnnblocks.to_dot(_chain(6), rankdir=rankdir)
    assert CONNECTOR not in short


def test_module_and_block_levels_need_a_layer_graph():
    tiny = SubclassedModel()
    tiny(keras.ops.zeros((1, 3)))
    for level in ("module", "block"):
        with pytest.raises(ValueError, match="subclassed"):
            cnnblocks.to_dot(tiny, level=level)


@pytest.mark.heavy
@pytest.mark.parametrize("name", ["resnet152", "inception_v3", "keras_inception_v3"])
@pytest.mark.parametrize("level", plot_module.LEVELS)
def test_big_models_render_fast_and_fit_a_screen(architecture, name, level, tmp_path,
                                                 recwarn):
    import time
    model = architecture(name)
    start = time.perf_counter()
    svg = cnnblocks.plot(model, tmp_path / "m.svg", level=level)
    seconds = time.perf_counter() - start
    # Measured on the shared 2-core machine: 0.1-0.5 s (issue 17 asks under 2 s); the bound
    # leaves room for a loaded CI runner.
    assert seconds < 6, seconds
    assert "xlink:title" in svg.read_text()
    png = cnnblocks.plot(model, tmp_path / "m.png", level=level)
    width, height = _png_size(png)
    assert not [w for w in recwarn if "limit" in str(w.message)]
    assert max(width, height) <= 5000 and min(width, height) >= 300, (width, height)

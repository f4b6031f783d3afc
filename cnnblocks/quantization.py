"""Quantized ONNX files, with the error of every block: int8 (onnxruntime's static
quantization, calibrated on images) and float16 weights.

`cnnblocks.export(model, "m.onnx", quantize="int8", calibration=...)` comes here. The model is
written once as a *probe*: the model with the output of each of its blocks (`graph.resolve`'s
blocks of the top-level graph, recorded or found by structure) as extra ONNX outputs. The probe
is quantized, run in onnxruntime on the calibration images and compared with Keras block by
block; then the extra outputs and everything only they read are cut away, so the file written
is the quantized graph that was measured. The float32 probe, cut the same way, gives the size
ratio.

- **int8**: weights int8 per output channel, activations uint8 per tensor, ranges from the
  calibration images (min/max), in QDQ form (QuantizeLinear/DequantizeLinear around each
  operator), which onnxruntime runs with integer kernels. A softmax stays float32: its
  probabilities (about 1/1000 each for 1000 classes) are below uint8's step of 1/255.
- **float16**: every float32 weight stored as float16 and cast back at load (the file is half
  the size; onnxruntime computes in float32). A weight beyond float16's range is refused.

The relative error of a tensor is `||quantized - keras|| / ||keras||` (the 2-norm over the
whole batch). Top-1 and top-5 agreement compare the quantized model's classes with Keras'
on the calibration images: the share of images whose Keras top class is the quantized model's
top class, or among its five best.
"""

import dataclasses
import os

import numpy as np

import keras

from cnnblocks import _graph, _onnx, _validation as check, graph

#: The quantizations `export` writes (format "onnx").
QUANTIZE = ("int8", "float16")
#: Images drawn for `calibration="random"` (uniform in [-1, 1), seeded).
RANDOM_IMAGES = 32
#: Images run through the probe at a time.
_CHUNK = 4
#: Image files read from a calibration folder (case-insensitive suffixes).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclasses.dataclass(frozen=True)
class BlockError:
    """One block's output error in a quantized file.

    Attributes:
        name: the block's name (`graph.resolve(model).blocks`).
        kind: its kind (`"inverted_residual_block"`, `"stem"`, `"head"`, ...).
        shape: its output shape, batch first.
        relative_error: `||quantized - keras|| / ||keras||` on the calibration images.
    """

    name: str
    kind: str
    shape: tuple
    relative_error: float


@dataclasses.dataclass(frozen=True)
class QuantizationReport:
    """What quantizing cost, measured on the calibration images.

    Attributes:
        quantize: `"int8"` or `"float16"`.
        images: int, how many calibration images.
        calibration: where they came from (`"random"`, a folder, `"array"`).
        blocks: tuple of `BlockError`, in graph order.
        output_error: float, the relative error of the model's outputs (the worst output).
        size_ratio: float, the quantized file's size over the float32 file's.
        top1, top5: float, top-1 and top-5 agreement with Keras (None when the model's output
            is not one vector of classes; top5 needs more than five).
    """

    quantize: str
    images: int
    calibration: str
    blocks: tuple
    output_error: float
    size_ratio: float
    top1: float
    top5: float

    def __str__(self):
        width = max([len(b.name) for b in self.blocks] + [5])
        kinds = max([len(b.kind) for b in self.blocks] + [4])
        lines = [f"{self.quantize} vs Keras float32 on {self.images} calibration images "
                 f"({self.calibration}): relative error ||q - f|| / ||f||",
                 f"{'block':<{width}}  {'kind':<{kinds}}  {'output':<18}  error"]
        for b in self.blocks:
            shape = "x".join(str(d) for d in b.shape[1:])
            lines.append(f"{b.name:<{width}}  {b.kind:<{kinds}}  {shape:<18}  "
                         f"{b.relative_error:.2e}")
        agreement = "" if self.top1 is None else f"; top-1 agreement {self.top1:.1%}" + (
            "" if self.top5 is None else f", top-5 {self.top5:.1%}")
        lines.append(f"outputs: {self.output_error:.2e}; file size {self.size_ratio:.2f} of "
                     f"float32{agreement}")
        return "\n".join(lines)


def calibration_images(calibration, model, *, preprocess=None, size=224):
    """The calibration batch for `model`: a float32 array `(n, *input shape)`.

    Args:
        calibration: `"random"` (`RANDOM_IMAGES` images uniform in [-1, 1), seeded), a folder
            of images (`IMAGE_SUFFIXES`, read as RGB and resized to the model's input, pixel
            values in [0, 255], then `preprocess`), or an array of model inputs.
        model: a `keras.Model` with one input.
        preprocess: a function applied to a folder's images (a family's `preprocess_input`).
        size: the height and width of spatial sizes the model leaves open.
    """
    if len(model.inputs) != 1:
        raise ValueError(f"`calibration`: a quantized export calibrates a model with one "
                         f"input; {model.name!r} has {len(model.inputs)}.")
    shape = tuple(size if d is None else int(d) for d in model.inputs[0].shape[1:])
    if isinstance(calibration, str) and calibration == "random":
        rng = np.random.default_rng(1)
        return rng.uniform(-1.0, 1.0, (RANDOM_IMAGES, *shape)).astype("float32"), "random"
    if isinstance(calibration, (str, os.PathLike)):
        return _folder_images(os.fspath(calibration), shape, preprocess), os.fspath(calibration)
    if isinstance(calibration, np.ndarray) and calibration.dtype.kind == "f":
        if calibration.ndim != len(shape) + 1 or tuple(calibration.shape[1:]) != shape:
            dims = ", ".join(map(str, shape))
            raise ValueError(f"`calibration` must be an array of shape (n, {dims}) "
                             f"for {model.name!r}; received shape {calibration.shape}.")
        if len(calibration) < 1 or not np.all(np.isfinite(calibration)):
            raise ValueError("`calibration` must hold at least one image, all values finite.")
        return calibration.astype("float32"), "array"
    raise TypeError(f"`calibration` must be 'random', a folder of images or a float array of "
                    f"model inputs; received {check.describe(calibration)}.")


def _folder_images(folder, shape, preprocess):
    from cnnblocks import apps
    if not os.path.isdir(folder):
        raise ValueError(f"`calibration`={folder!r} is neither 'random' nor a folder.")
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                   if f.lower().endswith(IMAGE_SUFFIXES))
    if not paths:
        raise ValueError(f"`calibration`={folder!r} holds no images "
                         f"({', '.join(IMAGE_SUFFIXES)}).")
    channels_last = keras.config.image_data_format() == "channels_last"
    (h, w), channels = (shape[:2], shape[2]) if channels_last else (shape[1:], shape[0])
    if channels != 3:
        raise ValueError(f"`calibration`={folder!r}: images are read as RGB, the model takes "
                         f"{channels} channels; pass an array of its inputs.")
    images = apps.load_images(paths, (h, w))
    if not channels_last:
        images = np.transpose(images, (0, 3, 1, 2))
    return np.asarray(images if preprocess is None else preprocess(images), dtype="float32")


def check_options(quantize, calibration, format):
    """`quantize` checked against `format` and `calibration`, before any work."""
    if quantize is None:
        if calibration is not None:
            raise ValueError("`calibration` applies to a quantized export; pass quantize='int8'.")
        return None
    quantize = check.choice(quantize, "quantize", QUANTIZE)
    if format != "onnx":
        raise ValueError(f"`quantize`={quantize!r} is written as ONNX (onnxruntime's "
                         f"quantization); received format={format!r}.")
    if quantize == "int8" and calibration is None:
        raise ValueError("`quantize`='int8' needs `calibration`: 'random', a folder of images "
                         "or an array of model inputs (the activation ranges come from them).")
    return quantize


def write(model, path, quantize, images, calibration, *, write_float32):
    """Writes `model` quantized to `path` (ONNX); returns the `QuantizationReport`.

    `write_float32(model, path, "onnx")` writes a float32 ONNX file (`deploy`'s writer)."""
    import onnx
    import onnxruntime
    folder = os.path.dirname(path)
    resolved = graph.resolve(model)
    blocks = _tapped_blocks(resolved, model)
    taps = [_graph.node_outputs(resolved.calls[b.output].node)[0] for b in blocks]
    outputs = list(model.outputs)
    probe = keras.Model(model.inputs[0], taps + outputs, name=f"{model.name}_probe")
    reference = chunked(lambda x: [keras.ops.convert_to_numpy(v)
                                    for v in probe(x, training=False)], images)
    float_path = os.path.join(folder, "probe_float32.onnx")
    write_float32(probe, float_path, "onnx")
    float_probe = onnx.load(float_path)
    names = [o.name for o in float_probe.graph.output]
    kept = names[len(taps):]
    if quantize == "int8":
        quantized_path = os.path.join(folder, "probe_int8.onnx")
        _quantize_int8(float_path, quantized_path, images)
        quantized = onnx.load(quantized_path)
    else:
        quantized = _onnx.float16_weights(float_probe, model.name)
    session = onnxruntime.InferenceSession(quantized.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    results = chunked(lambda x: session.run(None, {feed: x}), images)
    errors = [_relative(got, want) for got, want in zip(results, reference)]
    float_size = len(_onnx.cut(float_probe, kept).SerializeToString())
    final = _onnx.cut(quantized, kept)
    onnx.save(final, path)
    top1, top5 = _agreement(results[len(taps):], reference[len(taps):])
    return QuantizationReport(
        quantize=quantize, images=len(images), calibration=calibration,
        blocks=tuple(BlockError(b.name, b.kind, tuple(r.shape), e)
                     for b, r, e in zip(blocks, reference, errors)),
        output_error=max(errors[len(taps):]), size_ratio=os.path.getsize(path) / float_size,
        top1=top1, top5=top5)


def chunked(run, images, size=None):
    """`run` (images -> list of arrays) over `size` (default `_CHUNK`) images at a time,
    concatenated: a large model's outputs on every calibration image at once need gigabytes
    (`deploy.export`'s reference outputs use it too)."""
    size = size or _CHUNK
    parts = [run(images[i:i + size]) for i in range(0, len(images), size)]
    return [np.concatenate(arrays) for arrays in zip(*parts)]


def _tapped_blocks(resolved, model):
    """The top-level blocks whose outputs are not already the model's outputs."""
    finals = {id(t) for t in model.outputs}
    blocks = []
    for block in resolved.blocks:
        call = resolved.calls[block.output]
        if block.path or call.is_input:
            continue
        tensors = _graph.node_outputs(call.node)
        if len(tensors) == 1 and id(tensors[0]) not in finals:
            blocks.append(block)
    return blocks


def _relative(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = float(np.linalg.norm(want)) or 1.0
    return float(np.linalg.norm(got - want)) / scale


def _agreement(results, reference):
    if len(reference) != 1 or reference[0].ndim != 2 or reference[0].shape[1] < 2:
        return None, None
    want = np.argmax(reference[0], axis=1)
    ranked = np.argsort(-results[0], axis=1, kind="stable")
    top1 = float(np.mean(ranked[:, 0] == want))
    top5 = (float(np.mean(np.any(ranked[:, :5] == want[:, None], axis=1)))
            if reference[0].shape[1] > 5 else None)
    return top1, top5


def _quantize_int8(source, target, images):
    from onnxruntime import quantization as q

    class Reader(q.CalibrationDataReader):
        def __init__(self, name):
            self._feeds = iter([{name: images[i:i + 1]} for i in range(len(images))])

        def get_next(self):
            return next(self._feeds, None)

    import onnx
    import onnxruntime
    name = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"]) \
        .get_inputs()[0].name
    softmax = [n.name for n in onnx.load(source).graph.node if n.op_type == "Softmax"]
    q.quantize_static(source, target, Reader(name), quant_format=q.QuantFormat.QDQ,
                      per_channel=True, activation_type=q.QuantType.QUInt8,
                      weight_type=q.QuantType.QInt8, nodes_to_exclude=softmax,
                      calibrate_method=q.CalibrationMethod.MinMax)

"""Deployment: a Keras model written as ONNX, LiteRT, a TensorFlow SavedModel or OpenVINO IR,
then read back in its own runtime and checked against Keras (`export`).

Keras writes the file (`keras.Model.export`); this module adds what a deployment needs around
it. The model is called once on a fixed batch first (Keras refuses to export a model that was
never called). The file is written into a temporary folder beside `path` and renamed into place
only when it is whole and verified, so a failure leaves nothing behind. Verification loads the
file in its runtime (onnxruntime, the LiteRT interpreter, TensorFlow, OpenVINO's CPU plugin in
float32), runs the same batch and compares every output with Keras' as the relative error
`max |runtime - keras| / max |keras|`; above the tolerance (float32: 1e-5) `export` refuses.

ONNX on TensorFlow goes through tf2onnx, which cannot convert three things as Keras writes
them: grouped convolutions (an XLA-compiled function), the exact GELU (`erfc`) and
`Normalization`'s constants (unfed graph inputs). They are re-expressed exactly first
(`cnnblocks._portable`: a depthwise or split convolution, GELU with `erf`, the constants as
weights); the verification checks the file against the original model. Quantized ONNX files
(`quantize=`) are `cnnblocks.quantization`'s.

The runtimes are the `export` extra: `pip install "cnnblocks[export]"` (onnx, onnxruntime,
tf2onnx, ai-edge-litert, openvino).
"""

import dataclasses
import importlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

import keras

from cnnblocks import _portable, _validation as check, quantization

#: format -> (file suffix ("" for a folder), what it is called, the runtime's module, the
#: distribution to install, the `keras.Model.export` format).
FORMATS = {
    "onnx": (".onnx", "ONNX", "onnxruntime", "onnxruntime", "onnx"),
    "litert": (".tflite", "LiteRT", "ai_edge_litert.interpreter", "ai-edge-litert", "litert"),
    "saved_model": ("", "TensorFlow SavedModel", "tensorflow", "tensorflow", "tf_saved_model"),
    "openvino": (".xml", "OpenVINO IR", "openvino", "openvino", "openvino"),
}
#: What each format's writer needs besides the runtime (module, distribution), on TensorFlow.
_WRITERS = {"onnx": [("tf2onnx", "tf2onnx")]}
#: The largest relative error a file may show against Keras: float32, float16 weights, int8.
FLOAT32_TOLERANCE = 1e-5
FLOAT16_TOLERANCE = 1e-2
INT8_TOLERANCE = 0.2
_TOLERANCES = {None: FLOAT32_TOLERANCE, "float16": FLOAT16_TOLERANCE, "int8": INT8_TOLERANCE}
#: Images in the verification batch (fixed and seeded; spatial sizes the model leaves open are
#: `OPEN_SIZE`).
VERIFY_BATCH = 2
OPEN_SIZE = 224
_INSTALL = 'pip install "cnnblocks[export]"'


class VerificationError(ValueError):
    """The exported file's outputs differ from Keras' by more than the tolerance."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export` wrote and how it was checked.

    Attributes:
        path: str, the file (the folder of a SavedModel; the `.xml` of OpenVINO IR, its `.bin`
            beside it).
        format: the format's key (`"onnx"`).
        size: int, bytes written (all files of the model).
        runtime: the runtime that read it back and its version (`"onnxruntime 1.32.0"`), or
            None when not verified.
        max_relative_error: float, `max |runtime - keras| / max |keras|` over every output on
            the verification batch, or None when not verified.
        tolerance: float, the largest error accepted.
        batch_shape: tuple, the shape of the verification batch (of the first input).
        seconds: float, the time to write and verify.
        quantize: None (float32), `"int8"` or `"float16"`.
        report: the `quantization.QuantizationReport` of a quantized file (each block's
            error, the size ratio, top-1/top-5 agreement), else None.
    """

    path: str
    format: str
    size: int
    runtime: str
    max_relative_error: float
    tolerance: float
    batch_shape: tuple
    seconds: float
    quantize: str = None
    report: object = None

    def __str__(self):
        kind = FORMATS[self.format][1] + (f" {self.quantize}" if self.quantize else "")
        head = f"{self.path} ({kind}, {self.size / 1e6:,.1f} MB)"
        if self.runtime is None:
            return f"{head}: written, not verified"
        return (f"{head}: {self.runtime} agrees with Keras to {self.max_relative_error:.1e} "
                f"(max relative error on a batch of shape {self.batch_shape}; tolerance "
                f"{self.tolerance:.0e})")


def export(model, path, format="onnx", *, verify=True, quantize=None, calibration=None):
    """Writes `model` as ONNX, LiteRT, a TensorFlow SavedModel or OpenVINO IR and verifies it.

    The model is called on a fixed batch (`VERIFY_BATCH` images, uniform in [-1, 1), seeded;
    open spatial sizes are 224), written by `keras.Model.export` into a temporary folder
    beside `path`, read back in its runtime, run on the same batch and compared with Keras:
    the largest `|runtime - keras|` over every output, relative to the largest `|keras|`,
    must be at most `FLOAT32_TOLERANCE` (1e-5). Only then is the file renamed to `path`; on
    any failure nothing is left behind (an existing file at `path` stays as it was).

    Quantized (ONNX only, `cnnblocks.quantization`): `quantize="int8"` calibrates activation
    ranges on `calibration` and stores int8 weights (onnxruntime's static quantization, QDQ);
    `"float16"` stores float16 weights. The verification batch is then the calibration images
    (for float16 without `calibration`, 32 random ones), the tolerance `INT8_TOLERANCE` (0.2)
    or `FLOAT16_TOLERANCE` (1e-2), and the result's `report` gives each block's error.

    Args:
        model: a built `keras.Model` (a registered architecture or your own).
        path: where to write: a `.onnx` file (`"onnx"`), a `.tflite` file (`"litert"`), a
            folder (`"saved_model"`; one that exists is replaced), or an `.xml` file
            (`"openvino"`, its weights in the `.bin` beside it). Its folder must exist and be
            writable.
        format: `"onnx"` (default), `"litert"`, `"saved_model"` or `"openvino"`.
        verify: bool, read the file back and compare (default True). False writes only.
        quantize: None (float32, default), `"int8"` or `"float16"` (format `"onnx"`).
        calibration: for `quantize`: `"random"` (32 images uniform in [-1, 1), seeded), a
            folder of images (read as RGB at the model's input size, pixels in [0, 255]), or
            a float array of model inputs `(n, height, width, channels)`. Required for int8.

    Returns:
        An `ExportResult`: the path, size, runtime and measured error (`str()` is one line).

    Raises:
        TypeError, ValueError: a bad argument (named), or a model the format cannot express
            (the converter's reason), before anything is written to `path`.
        ImportError: the format's converter or runtime is missing (`pip install
            "cnnblocks[export]"`).
        VerificationError: the runtime's outputs differ from Keras' beyond the tolerance.

    Example:
        >>> import cnnblocks
        >>> model = cnnblocks.mobilenet_v2(weights=None, input_shape=(96, 96, 3), classes=10)
        >>> result = cnnblocks.export(model, "mobilenet_v2.onnx")
        >>> result.max_relative_error <= 1e-5
        True
    """
    start = time.perf_counter()
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, received {check.describe(model)}.")
    format = check.choice(format, "format", tuple(FORMATS))
    verify = check.boolean(verify, "verify")
    path = check_path(path, format)
    quantize = quantization.check_options(quantize, calibration, format)
    runtime = _requirements(format, verify or quantize is not None)
    inputs, label = _batch(model), None
    if quantize is not None:
        images, label = quantization.calibration_images(
            "random" if calibration is None else calibration, model, size=OPEN_SIZE)
        inputs = [images]
    reference = _keras_outputs(model, inputs)
    tolerance = _TOLERANCES[quantize]
    folder = os.path.dirname(os.path.abspath(path))
    staging = tempfile.mkdtemp(prefix=".cnnblocks-export-", dir=folder)
    try:
        staged = os.path.join(staging, os.path.basename(os.path.normpath(path)))
        report = None
        if quantize is None:
            _write(model, staged, format)
        else:
            report = quantization.write(model, staged, quantize, inputs[0], label,
                                        write_float32=_write)
        error = None
        if verify:
            error = _relative_error(_run(format, staged, model, inputs), reference)
            if not error <= tolerance:
                kind = FORMATS[format][1] + (f" {quantize}" if quantize else "")
                raise VerificationError(
                    f"{kind} file of {model.name!r}: {runtime} differs from Keras by "
                    f"{error:.2e} (max relative error), above the tolerance {tolerance:.0e}; "
                    f"nothing was written to {path!r}.")
        size = _move(staged, path, format)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(path=path, format=format, size=size, runtime=runtime if verify else None,
                        max_relative_error=error, tolerance=tolerance,
                        batch_shape=tuple(inputs[0].shape),
                        seconds=time.perf_counter() - start, quantize=quantize, report=report)


def check_path(path, format):
    """`path` as a str, if `format` can be written there (the suffix, an existing writable
    folder); a ValueError or TypeError naming `path` otherwise."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path (str or os.PathLike), received "
                        f"{check.describe(path)}.")
    path = os.fspath(path)
    suffix, title = FORMATS[format][:2]
    if suffix and not path.lower().endswith(suffix):
        raise ValueError(f"`path`={path!r}: a {title} file must end in {suffix!r} "
                         f"(format={format!r}).")
    if not suffix and os.path.isfile(path):
        raise ValueError(f"`path`={path!r} is a file; a {title} is a folder.")
    if suffix and os.path.isdir(path):
        raise ValueError(f"`path`={path!r} is a folder; give the {title} file's name.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"`path`={path!r}: its folder {folder!r} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"`path`={path!r}: its folder {folder!r} is not writable.")
    return path


def _requirements(format, verify):
    """Checks the writer and (with `verify`, or to quantize) the runtime can be imported;
    returns the runtime's name and version."""
    _, title, module, dist, _ = FORMATS[format]
    needed = list(_WRITERS.get(format, []))
    if format == "saved_model" or (format == "litert" and keras.backend.backend() != "torch"):
        needed.append(("tensorflow", "tensorflow"))
    if format == "openvino":
        needed.append(("openvino", "openvino"))
    if verify:
        needed.append((module, dist))
    for name, distribution in needed:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ImportError(f"format={format!r} needs {distribution} ({title}), which is not "
                              f"installed: {_INSTALL}.") from err
    if format == "saved_model" and verify and keras.backend.backend() != "tensorflow":
        raise ValueError(f"format={format!r} with verify=True reads the SavedModel back with "
                         "keras.layers.TFSMLayer, which needs the TensorFlow backend (running: "
                         f"{keras.backend.backend()}); pass verify=False or use TensorFlow.")
    return f"{dist} {_version(module, dist)}"


def _version(module, dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:       # e.g. tensorflow-cpu
        return getattr(importlib.import_module(module.split(".")[0]), "__version__", "?")


def _batch(model):
    """The fixed verification batch: one array per model input."""
    rng = np.random.default_rng(0)
    arrays = []
    for tensor in model.inputs:
        shape = (VERIFY_BATCH, *(OPEN_SIZE if d is None else int(d) for d in tensor.shape[1:]))
        dtype = keras.backend.standardize_dtype(tensor.dtype)
        arrays.append(rng.uniform(-1.0, 1.0, shape).astype(dtype))
    return arrays


def _keras_outputs(model, inputs):
    """The model's outputs on `inputs`, 8 images at a time (a calibration set of 32 ResNet50
    images at once takes 5 GB in eager TensorFlow)."""
    if len(inputs) > 1:                       # the verification batch of a multi-input model
        return _outputs(model(inputs, training=False))
    return quantization.chunked(lambda x: _outputs(model(x, training=False)), inputs[0], 8)


def _outputs(values):
    """A model's or runtime's outputs as a list of float64 arrays, in order."""
    if isinstance(values, dict):
        values = [values[key] for key in sorted(values, key=_output_order)]
    elif not isinstance(values, (list, tuple)):
        values = [values]
    return [np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64) for v in values]


def _output_order(key):
    """`output_0`, `output_1`, ..., `output_10` in numeric order (the SavedModel's and LiteRT's
    output names), any other key after them, by name."""
    head, _, number = str(key).rpartition("_")
    return (0, int(number), "") if head and number.isdigit() else (1, 0, str(key))


def _relative_error(outputs, reference):
    if len(outputs) != len(reference):
        raise VerificationError(f"the runtime returned {len(outputs)} outputs, Keras "
                                f"{len(reference)}.")
    worst = 0.0
    for got, want in zip(outputs, reference):
        if got.shape != want.shape:
            raise VerificationError(f"an output has shape {got.shape} in the runtime, "
                                    f"{want.shape} in Keras.")
        scale = float(np.max(np.abs(want))) or 1.0
        worst = max(worst, float(np.max(np.abs(got - want))) / scale)
    return worst


def _write(model, staged, format):
    """`keras.Model.export` into the staging folder; a model the converter cannot express is a
    ValueError with the converter's reason."""
    unsupported = _Unsupported()
    converter_log = logging.getLogger("tf2onnx.tfonnx")
    converter_log.addHandler(unsupported)
    if format == "onnx" and keras.backend.backend() == "tensorflow":
        rewritten = _portable.portable(model)
        if rewritten is not model:
            batch = _batch(rewritten)
            rewritten(batch if len(batch) > 1 else batch[0], training=False)   # export needs it
            model = rewritten
    try:
        with warnings.catch_warnings():     # Keras' tf2onnx shim warns about np.object
            warnings.simplefilter("ignore", FutureWarning)
            model.export(staged, format=FORMATS[format][4], verbose=False)
    except Exception as err:  # noqa: BLE001 - any converter failure: one message, nothing left
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(f"`model` {model.name!r} cannot be written as {FORMATS[format][1]}: "
                         f"{type(err).__name__}: {text[:300]}") from err
    finally:
        converter_log.removeHandler(unsupported)
    if unsupported.ops:
        raise ValueError(f"`model` {model.name!r} cannot be written as {FORMATS[format][1]}: "
                         f"tf2onnx has no conversion for the TensorFlow ops {unsupported.ops}.")


class _Unsupported(logging.Handler):
    """Catches tf2onnx's report of the TensorFlow ops it could not convert (it logs them and
    writes a file onnxruntime cannot load)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.ops = None

    def emit(self, record):
        if record.msg == "Unsupported ops: %s" and record.args:
            counts = record.args[0] if isinstance(record.args, tuple) else record.args
            self.ops = ", ".join(f"{op} (x{n})" for op, n in sorted(dict(counts).items()))


def _files(staged, format):
    """The files (or folder) that make up a staged model."""
    if format == "openvino":
        return [staged, staged[:-len(".xml")] + ".bin"]
    return [staged]


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, f))
                   for root, _, files in os.walk(path) for f in files)
    return os.path.getsize(path)


def _move(staged, path, format):
    """Renames the staged files into place (a SavedModel folder replaces an existing one);
    returns their size."""
    size = sum(_size(f) for f in _files(staged, format))
    folder = os.path.dirname(os.path.abspath(path))
    if format == "saved_model":
        if os.path.isdir(path):
            old = os.path.join(os.path.dirname(staged), ".replaced")
            os.replace(path, old)
        os.replace(staged, path)
        return size
    for source in _files(staged, format):
        target = path if source == staged else os.path.join(
            folder, os.path.basename(path)[:-len(".xml")] + ".bin")
        os.replace(source, target)
    return size


# --- the runtimes: (file, model, inputs) -> outputs in the model's order --------------------


def _run(format, staged, model, inputs):
    """The runtime's outputs on `inputs`; a file it cannot load or run is a ValueError."""
    try:
        return _RUNNERS[format](staged, model, inputs)
    except Exception as err:  # noqa: BLE001 - the runtimes raise their own types
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(f"`model` {model.name!r} was written as {FORMATS[format][1]}, but "
                         f"{FORMATS[format][2].split('.')[0]} cannot run the file: "
                         f"{type(err).__name__}: {text[:300]}") from err


def _run_onnx(path, model, inputs):
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = _by_name([i.name for i in session.get_inputs()], model, inputs)
    return _outputs(session.run(None, feeds))


def _run_litert(path, model, inputs):
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path)
    runner = interpreter.get_signature_runner()
    names = list(interpreter.get_signature_list().values())[0]["inputs"]
    return _outputs(runner(**_by_name(names, model, inputs)))


def _run_saved_model(path, model, inputs):
    layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
    return _outputs(layer(inputs if len(inputs) > 1 else inputs[0]))


def _run_openvino(path, model, inputs):
    import openvino
    core = openvino.Core()
    compiled = core.compile_model(core.read_model(path), "CPU",
                                  {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled(inputs)
    return _outputs([result[output] for output in compiled.outputs])


def _by_name(names, model, inputs):
    """`{runtime input name: array}`: by the Keras input's name where the runtime kept it, in
    order otherwise."""
    ours = [tensor.name.split(":")[0] for tensor in model.inputs]
    if sorted(names) == sorted(ours):
        return {name: inputs[ours.index(name)] for name in names}
    return dict(zip(names, inputs))


_RUNNERS = {"onnx": _run_onnx, "litert": _run_litert, "saved_model": _run_saved_model,
            "openvino": _run_openvino}

"""The engine of `cnnblocks.convert`: PyTorch state dicts read safely and assigned to a Keras
model exactly, as a `cnnblocks.family.TorchLayout` says (the transforms and the promises are
described in `cnnblocks.convert`).

It knows no registry: the builder kit (`cnnblocks.architectures.common`) hands `load` to
`cnnblocks.weights.load` for the published torchvision weights and `.pth`/`.safetensors`
paths, and `cnnblocks.convert`, above the registry, adds what needs a model's name.
"""


import collections
import os
import pickle
import struct
import zipfile

import numpy as np

import keras

from cnnblocks.weights import WeightFileError

#: State-dict entries that are counters, not weights.
IGNORED_SUFFIXES = ("num_batches_tracked",)


class ConversionError(WeightFileError):
    """A PyTorch weight file does not fit the model (the message names the tensor)."""


# --- Reading ---------------------------------------------------------------------------------

def read_state_dict(path):
    """The tensors of a PyTorch weight file as `{key: numpy array}`.

    Args:
        path: a `.safetensors` file (read with `safetensors.numpy`, no torch needed), or a
            PyTorch pickle (`.pth`, `.pt`, `.bin`): `torch.load(weights_only=True)` when torch is
            installed, else `read_torch_pickle`. A checkpoint that wraps its state dict in
            `{"state_dict": ...}` or `{"model": ...}`, or whose keys all start with `module.`
            (DataParallel), is unwrapped.

    Returns:
        An ordered dict of float32 (or the file's own dtype for integers) NumPy arrays.

    Raises:
        FileNotFoundError: no such file.
        ConversionError: the file is not a state dict of tensors, or holds other objects.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"PyTorch weight file not found: {path!r}.")
    if path.endswith(".safetensors"):
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise ImportError("Reading .safetensors files needs the `safetensors` package: "
                              "pip install safetensors") from None
        try:
            tensors = load_file(path)
        except Exception as exc:  # the package raises several types for damaged files
            raise ConversionError(f"{path!r} is not a readable .safetensors file "
                                  f"({type(exc).__name__}: {str(exc)[:200]}).") from None
    else:
        tensors = _load_pickle(path)
    tensors = _unwrap(tensors, path)
    return collections.OrderedDict((k, _as_numpy(v)) for k, v in tensors.items())


def _load_pickle(path):
    try:
        import torch
    except ImportError:
        return read_torch_pickle(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ... for bad files
        raise ConversionError(
            f"{path!r} could not be read as a PyTorch state dict with "
            f"torch.load(weights_only=True) ({type(exc).__name__}: {str(exc)[:300]}).") from None


def _unwrap(obj, path):
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if len(obj) <= 3 and isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise ConversionError(f"{path!r} does not hold a state dict (a dict of tensors); it "
                              f"holds {type(obj).__name__}.")
    if all(isinstance(k, str) and k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not _is_tensor(v)]
    if bad:
        raise ConversionError(f"{path!r} is not a plain state dict: entry {bad[0]!r} is not a "
                              "tensor.")
    return obj


def _is_tensor(value):
    return isinstance(value, np.ndarray) or type(value).__name__ in ("Tensor", "Parameter")


def _as_numpy(value):
    if isinstance(value, np.ndarray):
        array = value
    else:  # a torch tensor (torch is installed: it made it)
        value = value.detach().cpu()
        if value.is_floating_point():  # float16/bfloat16 have no exact NumPy twin: float32
            value = value.float()
        array = value.numpy()
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return array


# The restricted reader: PyTorch's two pickle formats, rebuilding tensors and nothing else.

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": "bfloat16",
}
#: torch's legacy (pre-1.6, non-zip) format starts with this pickled int.
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


class _StorageType:
    def __init__(self, name):
        self.name = name


class _Storage:
    """A storage's dtype and data (filled in when its bytes are read)."""

    def __init__(self, storage_type, key, numel):
        if storage_type.name not in _STORAGE_DTYPES:
            raise pickle.UnpicklingError(f"unsupported storage type torch.{storage_type.name}")
        self.dtype, self.key, self.numel, self.data = (_STORAGE_DTYPES[storage_type.name], key,
                                                       numel, None)

    def fill(self, raw):
        if self.dtype == "bfloat16":  # the upper 16 bits of a float32
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            self.data = bits.view(np.float32)
        else:
            self.data = np.frombuffer(raw, dtype=np.dtype(self.dtype).newbyteorder("<"))


class _Tensor:
    """A tensor to rebuild once its storage's bytes are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), stride

    def build(self):
        data = self.storage.data
        if not self.size:
            return np.array(data[self.offset])
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size, strides=[s * item for s in self.stride])
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *_):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_):
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds dicts, tensors and storages; refuses every other global."""

    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,  # files of torch < 0.4
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a weight file holds tensors only")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views (pre-1.0 files) are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type, key, numel)
        return self.storages[key]


def read_torch_pickle(path):
    """Reads a PyTorch state dict without torch and without running code from the file.

    The same result as `torch.load(path, weights_only=True)` for state dicts: torch's zip
    format (torch >= 1.6) and its older single-pickle format are understood; only dicts,
    `OrderedDict`s and tensors of the usual dtypes are rebuilt, and any other object in the
    file raises.

    Returns:
        `{key: numpy array}` in the file's order.

    Raises:
        ConversionError: not a PyTorch file, or it holds objects other than tensors.
    """
    storages = {}
    try:
        if zipfile.is_zipfile(path):
            obj = _read_zip(path, storages)
        else:
            obj = _read_legacy(path, storages)
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, struct.error,
            zipfile.BadZipFile) as exc:
        raise ConversionError(f"{path!r} could not be read as a PyTorch state dict without "
                              f"torch ({type(exc).__name__}: {str(exc)[:300]}).") from None
    if not isinstance(obj, dict):
        raise ConversionError(f"{path!r} does not hold a state dict; it holds "
                              f"{type(obj).__name__}.")
    return _build_all(obj)


def _build_all(obj):
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _build_all(v)) for k, v in obj.items())
    if isinstance(obj, _Tensor):
        return obj.build()
    return obj


def _read_zip(path, storages):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise ValueError("no data.pkl in the archive")
        prefix = pickles[0][:-len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in names and archive.read(byteorder).strip() != b"little":
            raise ValueError("big-endian files are not supported")
        with archive.open(pickles[0]) as f:
            obj = _RestrictedUnpickler(f, storages).load()
        for key, storage in storages.items():
            storage.fill(archive.read(f"{prefix}data/{key}"))
    return obj


def _read_legacy(path, storages):
    with open(path, "rb") as f:
        def load():
            return _RestrictedUnpickler(f, storages).load()
        magic = load()
        if magic != _LEGACY_MAGIC:
            raise ValueError("not a PyTorch file (wrong magic number)")
        load()  # protocol version
        load()  # sys info (byte order, type sizes)
        obj = load()
        keys = load()
        for key in keys:
            storage = storages[key]
            (numel,) = struct.unpack("<q", f.read(8))
            size = np.dtype(np.uint16 if storage.dtype == "bfloat16" else storage.dtype).itemsize
            storage.fill(f.read(numel * size))
    return obj


# --- Transforms ------------------------------------------------------------------------------

def _flatten_rows(kernel, feature_shape):
    """Rows of a dense kernel `(C*H*W, O)` from PyTorch's C-H-W flatten order to Keras' H-W-C."""
    height, width, chans = feature_shape
    out = kernel.shape[1]
    return kernel.reshape(chans, height, width, out).transpose(1, 2, 0, 3).reshape(-1, out)


def _transforms(layer, feature_shape):
    """`[(variable, torch suffix, transform)]` for one Keras layer with weights."""
    kind = type(layer)
    if issubclass(kind, keras.layers.BatchNormalization):
        pairs = [(layer.gamma, "weight"), (layer.beta, "bias"),
                 (layer.moving_mean, "running_mean"), (layer.moving_variance, "running_var")]
        return [(v, s, lambda a: a) for v, s in pairs if v is not None]
    if issubclass(kind, keras.layers.DepthwiseConv2D):
        def depthwise(a):
            chans = layer.kernel.shape[2]
            return a.reshape(chans, -1, *a.shape[2:]).transpose(2, 3, 0, 1)
        found = [(layer.kernel, "weight", depthwise)]
    elif issubclass(kind, keras.layers.Conv2D) and not issubclass(
            kind, (keras.layers.SeparableConv2D, keras.layers.Conv2DTranspose)):
        found = [(layer.kernel, "weight", lambda a: a.transpose(2, 3, 1, 0))]
    elif issubclass(kind, keras.layers.Dense):
        def dense(a):
            kernel = a.reshape(a.shape[0], -1).T  # a convolution used as a dense layer too
            return _flatten_rows(kernel, feature_shape) if feature_shape else kernel
        found = [(layer.kernel, "weight", dense)]
    else:
        raise ConversionError(f"Layer {layer.name!r} ({kind.__name__}) has weights of a kind "
                              "the converter does not know.")
    if getattr(layer, "bias", None) is not None:
        found.append((layer.bias, "bias", lambda a: a))
    return found


def _feature_shape(model, layout, layer_name):
    """(H, W, C) of the map flattened before dense layer `layer_name`, or None."""
    flatten = layout.flatten.get(layer_name)
    if flatten is None:
        return None
    shape = tuple(model.get_layer(flatten).input.shape[1:])
    if keras.config.image_data_format() == "channels_first":
        shape = shape[1:] + shape[:1]
    if len(shape) != 3 or None in shape:
        raise ConversionError(f"The map flattened by {flatten!r} before {layer_name!r} must "
                              f"have a static size; it has shape {shape}.")
    return shape


# --- Assignment ------------------------------------------------------------------------------

def layout_for(entry, variant, model_name):
    """The `TorchLayout` of a model entry (`cnnblocks.family.ModelEntry`) built with `variant`.

    Raises:
        ConversionError: the entry has no layout, or `variant` is not the layout's (the
            message names `model_name`).
    """
    if entry.torch_layout is None:
        raise ConversionError(f"{entry.name} has no PyTorch layout: no torchvision or timm "
                              "weights convert into it.")
    if variant != entry.torch_layout.variant:
        raise ConversionError(
            f"Model {model_name!r} was built with variant={variant!r}; PyTorch weights fit the "
            f"{entry.torch_layout.variant!r} structure (padding, strides, BN epsilon): build "
            f"it with variant={entry.torch_layout.variant!r}.")
    return entry.torch_layout


def _owned(key, prefixes):
    return any(key.startswith(p + ".") for p in prefixes)


def plan(model, tensors, layout):
    """Every assignment `(variable, array, state-dict key)` that loading `tensors` into `model`
    means, checked, with nothing assigned yet.

    Raises:
        ConversionError: naming the first tensor that is missing, has the wrong shape, or has
            no place in the model.
    """
    assignments, used = [], set()
    present = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        prefixes = layout.layers.get(layer.name)
        if prefixes is None:
            raise ConversionError(f"Layer {layer.name!r} ({type(layer).__name__}) of model "
                                  f"{model.name!r} has no counterpart in the PyTorch layout.")
        present.add(layer.name)
        prefix = next((p for p in prefixes if any(_owned(k, (p,)) for k in tensors)),
                      prefixes[0])
        feature_shape = _feature_shape(model, layout, layer.name)
        for variable, suffix, transform in _transforms(layer, feature_shape):
            key = f"{prefix}.{suffix}"
            if key not in tensors:
                raise ConversionError(
                    f"The file has no tensor {key!r}, which layer {layer.name!r} needs for its "
                    f"{variable.name} {tuple(variable.shape)}. The file is for another "
                    "architecture or configuration.")
            source = tensors[key]
            try:
                value = transform(source)
            except ValueError:
                value = None
            if value is None or tuple(value.shape) != tuple(variable.shape):
                got = "?" if value is None else tuple(value.shape)
                raise ConversionError(
                    f"Tensor {key!r} has shape {tuple(source.shape)} (as Keras: {got}); layer "
                    f"{layer.name!r} needs {variable.name} of shape {tuple(variable.shape)}. "
                    "The file is for another architecture or number of classes.")
            assignments.append((variable, value, key))
            used.add(key)
    absent = [p for name, prefixes in layout.layers.items() if name not in present
              for p in prefixes]
    for key in tensors:
        if key in used or key.rsplit(".", 1)[-1] in IGNORED_SUFFIXES or _owned(key, absent):
            continue
        raise ConversionError(f"The file has tensor {key!r} {tuple(tensors[key].shape)}, which "
                              f"no layer of model {model.name!r} takes: the file is for "
                              "another architecture.")
    return assignments


def assign(model, tensors, layout):
    """Loads `tensors` into `model` as `layout` says, atomically: on any failure (a mismatch,
    an interrupt) the model keeps the weights it had.

    Returns:
        The number of tensors assigned.
    """
    assignments = plan(model, tensors, layout)
    snapshot = [(v, keras.ops.convert_to_numpy(v)) for v, _, _ in assignments]
    done = False
    try:
        for variable, value, _ in assignments:
            variable.assign(value.astype(variable.dtype))
        done = True
    finally:
        if not done:
            for variable, value in snapshot:
                variable.assign(value)
    return len(assignments)


def load(model, source, layout):
    """Loads a PyTorch state dict into `model` as `layout` says, atomically (see `assign`).

    Args:
        model: the Keras model.
        source: a weight file path (`.pth`, `.pt`, `.bin`, `.safetensors`) or a state dict
            (`{key: NumPy array or torch tensor}`).
        layout: its `cnnblocks.family.TorchLayout`.

    Returns:
        The model.

    Raises:
        ConversionError: the file does not fit; the model is unchanged.
    """
    if isinstance(source, dict):
        tensors = {k: _as_numpy(v) for k, v in _unwrap(source, "the state dict").items()}
    else:
        tensors = read_state_dict(source)
    assign(model, tensors, layout)
    return model

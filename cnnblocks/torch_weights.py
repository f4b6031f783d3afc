"""The engine of `cnnblocks.convert`: PyTorch state dicts read safely and assigned to a Keras
model exactly, as a `cnnblocks.family.TorchLayout` says (the transforms and the promises are
described in `cnnblocks.convert`).

It knows no registry: the builder kit (`cnnblocks.architectures.common`) hands `load` to
`cnnblocks.weights.load` for the published torchvision weights and `.pth`/`.safetensors`
paths, and `cnnblocks.convert`, above the registry, adds what needs a model's name.
"""


import collections
import io
import math
import os
import pickle
import zipfile

import numpy as np

import keras

from cnnblocks import _validation as check
from cnnblocks.layers import LayerScale
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
        raise ConversionError(f"{path!r} is not a plain state dict: entry {_show(bad[0])} is "
                              "not a tensor.")
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
# Every number in the file is untrusted. Each storage's element count is checked against the
# bytes the file has for it, and each tensor's offset, sizes and strides against its storage,
# before a byte is read through them; no length in the file makes the reader allocate more
# than the file declares and holds.

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": "bfloat16",
}
#: torch's legacy (pre-1.6, non-zip) format starts with this pickled int, then its protocol.
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_LEGACY_PROTOCOL = 1001
#: More dimensions than any weight has (NumPy 1's limit is 32 too).
_MAX_DIMS = 32
#: How many times a compressed zip member may expand (DEFLATE's own limit is 1,032; torch
#: writes its members uncompressed), so that a small file cannot declare gigabytes.
_MAX_EXPANSION = 1100
#: How deep dicts may nest (a state dict is flat; a checkpoint wraps it once or twice).
_MAX_DEPTH = 32
#: No count, offset, size or stride in a real file comes near 2**50 (a petabyte of bytes).
_MAX_COUNT = 2 ** 50


class _Malformed(ValueError):
    """What the reader's own checks found wrong with a file (the message says what)."""


def _show(value, limit=60):
    """A short text for a value read from a file (an int too long to print is not printed)."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits
        text = f"<a {type(value).__name__} too large to print>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _count(value, what):
    """`value` if it is an int in [0, 2**50) (not a bool), else _Malformed naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_COUNT:
        raise _Malformed(f"{what} is {_show(value)}, not an integer in [0, 2**50)")
    return value


class _NoState:
    """The reader's own objects take no pickled state (a BUILD opcode cannot change a
    checked storage or tensor)."""

    def __setstate__(self, state):
        raise _Malformed(f"the file sets the state of a {type(self).__name__.strip('_')}")


class _StorageType(_NoState):
    """A `torch.<Dtype>Storage` the file names."""

    def __init__(self, name):
        self.name = name


class _Storage(_NoState):
    """One storage the file declares: its dtype, its element count, and its values once its
    bytes are read (exactly `numel * itemsize` of them)."""

    def __init__(self, key, type_name, numel):
        self.key, self.type_name, self.numel, self.data = key, type_name, numel, None
        dtype = _STORAGE_DTYPES[type_name]
        self.itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
        self.nbytes = numel * self.itemsize

    def describe(self):
        plural = "" if self.numel == 1 else "s"
        return (f"storage {_show(self.key)} ({self.numel:,} element{plural} of torch."
                f"{self.type_name}, {self.nbytes:,} bytes)")

    def fill(self, raw):
        if len(raw) != self.nbytes:
            raise _Malformed(f"{self.describe()} has {len(raw):,} bytes in the file")
        dtype = _STORAGE_DTYPES[self.type_name]
        if dtype == "bfloat16":  # the upper 16 bits of a float32
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            self.data = bits.view(np.float32)
        elif dtype is np.bool_:  # any nonzero byte is True, as in torch
            self.data = np.frombuffer(raw, dtype=np.uint8) != 0
        else:
            self.data = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))


class _Tensor(_NoState):
    """A tensor to rebuild once its storage's bytes are read: its arguments as the file gives
    them, checked by `build`."""

    def __init__(self, args):
        self.args = args

    def build(self, name):
        """The tensor as a NumPy array, after checking that every element it reads lies in its
        storage; `name` (its key, as text) names it in messages."""
        where = f"tensor {name}"
        if len(self.args) < 4:
            raise _Malformed(f"{where} has {len(self.args)} argument(s), not storage, offset, "
                             "size and stride")
        storage, offset, size, stride = self.args[:4]
        if not isinstance(storage, _Storage):
            raise _Malformed(f"{where} has {_show(storage)} where its storage should be")
        offset = _count(offset, f"the storage offset of {where}")
        if (not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list))
                or len(size) != len(stride)):
            raise _Malformed(f"{where} has size {_show(size)} and stride {_show(stride)}: "
                             "it needs two tuples of one length")
        if len(size) > _MAX_DIMS:
            raise _Malformed(f"{where} has {len(size)} dimensions (at most {_MAX_DIMS})")
        size = tuple(_count(n, f"a size of {where}") for n in size)
        stride = tuple(_count(s, f"a stride of {where}") for s in stride)
        elements = math.prod(size)
        if math.prod(n for n in size if n) >= _MAX_COUNT:
            raise _Malformed(f"{where} has size {_show(size)}, beyond any real tensor")
        if elements > storage.numel:
            raise _Malformed(f"{where} of size {_show(size)} has more elements than its "
                             f"{storage.describe()}")
        # The last element read: offset + sum((n - 1) * stride); an empty tensor reads none.
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if elements else offset
        if last >= storage.numel + (0 if elements else 1):
            raise _Malformed(f"{where} (offset {_show(offset)}, size {_show(size)}, stride "
                             f"{_show(stride)}) reads past the end of its {storage.describe()}")
        if storage.data is None:
            raise _Malformed(f"the bytes of {storage.describe()} are missing")
        data = storage.data
        if not elements:
            return np.zeros(size, data.dtype)
        if not size:  # a scalar (as_strided cannot make a 0-d view)
            return np.array(data[offset])
        # Every stride is now below the storage's length; a size-1 dimension's is never used.
        strides = [s * data.itemsize if n > 1 else 0 for n, s in zip(size, stride)]
        view = np.lib.stride_tricks.as_strided(data[offset:], shape=size, strides=strides,
                                               writeable=False)
        return np.array(view)


def _rebuild_tensor(*args):
    return _Tensor(args)


def _rebuild_parameter(data, *_):
    if not isinstance(data, _Tensor):
        raise _Malformed(f"a parameter holds {_show(data)}, not a tensor")
    return data


class _Opcodes(dict):
    def __missing__(self, code):
        raise _Malformed(f"the pickle has opcode {bytes([code])!r}, unknown or refused")


class _RestrictedUnpickler(pickle._Unpickler):
    """Builds dicts, tensors and storages; refuses every other global.

    The pure-Python unpickler (torch.load(weights_only=True) uses it too): its memo is a dict,
    so a memo index in the file allocates nothing, and every length it reads is read from
    the (bounded) file. Protocol 5's out-of-band buffers are refused (`BYTEARRAY8` allocates
    and zeroes its length before reading it); torch writes protocol 2.
    """

    dispatch = _Opcodes((code, load) for code, load in pickle._Unpickler.dispatch.items()
                        if code not in (pickle.BYTEARRAY8[0], pickle.NEXT_BUFFER[0],
                                        pickle.READONLY_BUFFER[0]))

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
        if module == "torch" and isinstance(name, str) and name.endswith("Storage"):
            if name in _STORAGE_DTYPES:
                return _StorageType(name)
            raise _Malformed(f"its tensors have dtype torch.{name[:60]}, which the reader "
                             f"does not know (it knows {', '.join(_STORAGE_DTYPES)})")
        raise pickle.UnpicklingError(
            f"refusing to load {_show(module)}.{_show(name)}: a weight file holds tensors only")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise _Malformed(f"unexpected persistent id {_show(pid)}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(key, str) or not key:
            raise _Malformed(f"a storage has the key {_show(key)}, not a name")
        if not isinstance(storage_type, _StorageType):
            raise _Malformed(f"storage {key!r} has the type {_show(storage_type)}, not a "
                             "torch storage type")
        if len(pid) > 5 and pid[5] is not None:
            raise _Malformed("storage views (pre-1.0 files) are not supported")
        numel = _count(numel, f"the element count of storage {key!r}")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, storage_type.name, numel)
        elif (storage.type_name, storage.numel) != (storage_type.name, numel):
            raise _Malformed(f"storage {key!r} is declared twice: with {storage.numel:,} "
                             f"elements of torch.{storage.type_name} and with {numel:,} of "
                             f"torch.{storage_type.name}")
        return storage


class _Bounded:
    """A file's `read` and `readline` that never ask for more than the file has left."""

    def __init__(self, file, size):
        self._file, self._size = file, size

    def read(self, n=-1):
        left = max(self._size - self._file.tell(), 0)
        return self._file.read(left if n is None or n < 0 else min(n, left))

    def readline(self):
        return self._file.readline()


def read_torch_pickle(path):
    """Reads a PyTorch state dict without torch and without running code from the file.

    The same result as `torch.load(path, weights_only=True)` for state dicts: torch's zip
    format (torch >= 1.6) and its older single-pickle format are understood; only dicts,
    `OrderedDict`s and tensors of the usual dtypes are rebuilt, and any other object in the
    file raises.

    Nothing in the file is trusted: every storage must hold exactly the bytes its element
    count needs, and every tensor must read only elements of its storage (offset, sizes and
    strides >= 0, the last element read inside the storage, no more elements than the
    storage has: a broadcast view, which torch can save, is refused). A little-endian file is
    required (torch's byte order mark `little`, or the legacy format's `little_endian`).

    Returns:
        `{key: numpy array}` in the file's order.

    Raises:
        ConversionError: not a PyTorch file, a damaged or inconsistent one (the message names
            the file and what is wrong), or one that holds objects other than tensors.
    """
    storages = {}
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        obj = (_read_zip if head == b"PK\x03\x04" else _read_legacy)(path, storages)
        if isinstance(obj, dict):
            obj = _build_all(obj)
    except _Malformed as exc:
        raise ConversionError(f"{path!r} is not a valid PyTorch weight file: {exc}.") from None
    except zipfile.BadZipFile as exc:
        raise ConversionError(f"{path!r} is a damaged zip archive (torch's format): "
                              f"{str(exc)[:200]}.") from None
    except Exception as exc:  # pickle, zipfile, NumPy: whatever fails, the file is unreadable
        raise ConversionError(f"{path!r} could not be read as a PyTorch state dict without "
                              f"torch ({type(exc).__name__}: {' '.join(str(exc).split())[:300]})"
                              ".") from None
    if not isinstance(obj, dict):
        raise ConversionError(f"{path!r} does not hold a state dict; it holds "
                              f"{type(obj).__name__}.")
    return obj


def _build_all(obj):
    """The dicts of `obj` with their tensors rebuilt (a dict or tensor the file refers to twice
    is rebuilt once)."""
    built = {}

    def build(value, name, depth):
        if id(value) in built:
            return built[id(value)]
        if isinstance(value, _Tensor):
            built[id(value)] = value.build(name)
            return built[id(value)]
        if not isinstance(value, dict):
            return value
        if depth > _MAX_DEPTH:
            raise _Malformed(f"its dicts nest deeper than {_MAX_DEPTH} levels")
        result = built[id(value)] = collections.OrderedDict()
        for key, item in value.items():
            result[key] = build(item, _show(key) if depth == 0 else f"{name}/{_show(key)}",
                                depth + 1)
        return result

    return build(obj, "", 0)


def _read_zip(path, storages):
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info for info in archive.infolist()}
        for info in members.values():
            if (info.compress_type != zipfile.ZIP_STORED
                    and info.file_size > _MAX_EXPANSION * max(info.compress_size, 1)):
                raise _Malformed(f"its member {info.filename!r} claims to expand from "
                                 f"{info.compress_size:,} to {info.file_size:,} bytes")
        pickles = [n for n in members if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise _Malformed(f"the archive has {len(pickles)} data.pkl records, not one")
        prefix = pickles[0][:-len("data.pkl")]
        mark = members.get(prefix + "byteorder")
        if mark is not None:
            order = archive.read(mark) if mark.file_size <= 16 else b"(too long)"
            if order == b"big":
                raise _Malformed("its tensors are big-endian (byte order mark 'big'); only "
                                 "little-endian files are read")
            if order != b"little":
                raise _Malformed(f"its byte order mark is {_show(order)}; torch writes "
                                 "'little' or 'big'")
        data = io.BytesIO(archive.read(members[pickles[0]]))
        obj = _RestrictedUnpickler(data, storages).load()
        for key, storage in storages.items():
            record = members.get(f"{prefix}data/{key}")
            if record is None:
                raise _Malformed(f"the archive has no record {prefix}data/{key} for "
                                 f"{storage.describe()}")
            if record.file_size != storage.nbytes:
                raise _Malformed(f"{storage.describe()} has a record of "
                                 f"{record.file_size:,} bytes")
            storage.fill(archive.read(record))
    return obj


def _read_legacy(path, storages):
    size = os.path.getsize(path)
    with open(path, "rb") as raw:
        f = _Bounded(raw, size)

        def load():
            return _RestrictedUnpickler(f, storages).load()

        try:
            magic = load()
        except Exception:  # noqa: BLE001 - whatever it is, it is not torch's format
            magic = None
        if magic != _LEGACY_MAGIC:
            raise _Malformed("it is neither a zip archive (torch >= 1.6) nor in torch's "
                             "legacy format (no magic number)")
        version = load()
        if version != _LEGACY_PROTOCOL:
            raise _Malformed(f"its legacy protocol version is {_show(version)}, not "
                             f"{_LEGACY_PROTOCOL}")
        info = load()
        if not isinstance(info, dict) or info.get("little_endian") is not True:
            raise _Malformed(
                "its tensors are big-endian (little_endian=False); only little-endian files "
                "are read" if isinstance(info, dict) and info.get("little_endian") is False
                else f"its system information is {_show(info)}, without little_endian=True")
        obj = load()
        keys = load()
        if (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
                or len(set(keys)) != len(keys)):
            raise _Malformed(f"its list of storage keys is {_show(keys)}, not distinct names")
        for key in keys:
            storage = storages.get(key)
            if storage is None:
                raise _Malformed(f"it has bytes for a storage {key!r} that no tensor uses")
            header = raw.read(8)
            if len(header) < 8:
                raise _Malformed(f"it ends before the bytes of {storage.describe()}")
            numel = int.from_bytes(header, "little", signed=True)
            if numel != storage.numel:
                raise _Malformed(f"{storage.describe()} is stored with {numel:,} elements")
            if storage.nbytes > size - raw.tell():
                raise _Malformed(f"it ends inside the bytes of {storage.describe()}: the file "
                                 f"is truncated ({size - raw.tell():,} bytes left)")
            storage.fill(raw.read(storage.nbytes))
        for storage in storages.values():
            if storage.data is None:
                raise _Malformed(f"the bytes of {storage.describe()} are missing")
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
    if issubclass(kind, keras.layers.LayerNormalization):
        pairs = [(layer.gamma, "weight"), (layer.beta, "bias")]
        return [(v, s, lambda a: a) for v, s in pairs if v is not None]
    if issubclass(kind, LayerScale):  # torchvision's ConvNeXt: a (C, 1, 1) parameter
        return [(layer.gamma, "layer_scale", lambda a: a.reshape(-1))]
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
        ConversionError: naming the first tensor that is missing, has the wrong shape or a
            dtype that is not floating point, holds values no trained weight has (NaN,
            infinity, a magnitude above 1e30, a negative running variance: see
            `cnnblocks._validation.weight_values`), or has no place in the model.
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
            if source.dtype.kind != "f":
                raise ConversionError(
                    f"Tensor {key!r} has dtype {source.dtype}; layer {layer.name!r} needs "
                    f"floating-point values for its {variable.name}. The file is damaged or "
                    "holds other data.")
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
            problem = check.weight_values(value, variance=suffix == "running_var")
            if problem:
                raise ConversionError(f"Tensor {key!r} (for layer {layer.name!r}) {problem}: "
                                      "the file is damaged.")
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

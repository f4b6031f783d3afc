"""PyTorch weight files written byte by byte, without torch: well-formed ones and the crafted
ones an attacker could send (a tensor larger than its storage, a negative offset, a truncated
record, ...), for the tests of `cnnblocks.convert.read_torch_pickle`.

A file is described by plain Python data: `tensor(...)` gives what torch pickles for one
tensor (`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`), with every
number free to be wrong. `zip_file` writes torch's zip format (torch >= 1.6), `legacy_file` its
older single-pickle format. `dumps` is a small pickle writer (protocol 2) that emits exactly
what it is given: globals by name, calls, persistent ids; it imports nothing.

`python tests/torch_files.py CASE...` reads each named crafted file (`CRAFTED`) with
`read_torch_pickle` in this process and prints one JSON line per case: the tests run it in a
subprocess, so that a reader that crashes (SIGSEGV) fails a test instead of killing pytest.
"""

import collections
import json
import os
import struct
import sys
import tempfile
import zipfile

import numpy as np


class Global:
    """A global by name (`c<module>\\n<name>\\n`): nothing is imported."""

    def __init__(self, module, name):
        self.module, self.name = module, name


class Call:
    """`func(*args)` (the REDUCE opcode)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args


class PersistentId:
    """A persistent id (BINPERSID): how torch refers to a storage."""

    def __init__(self, pid):
        self.pid = pid


class Raw:
    """Bytes put into the pickle as they are (hand-written opcodes)."""

    def __init__(self, data):
        self.data = data


def dumps(obj):
    """`obj` as a protocol-2 pickle: None, bools, ints, floats, str, bytes (< 256), tuples,
    lists, dicts (in order) and the classes above."""
    out = bytearray(b"\x80\x02")

    def emit(o):
        if o is None:
            out.extend(b"N")
        elif o is True or o is False:
            out.extend(b"\x88" if o else b"\x89")
        elif isinstance(o, int):
            n = max((o.bit_length() + 8) // 8, 1)
            if n < 256:
                out.extend(b"\x8a" + bytes([n]) + o.to_bytes(n, "little", signed=True))
            else:
                out.extend(b"\x8b" + struct.pack("<i", n) + o.to_bytes(n, "little", signed=True))
        elif isinstance(o, float):
            out.extend(b"G" + struct.pack(">d", o))
        elif isinstance(o, str):
            data = o.encode("utf-8")
            out.extend(b"X" + struct.pack("<I", len(data)) + data)
        elif isinstance(o, bytes):
            out.extend(b"C" + bytes([len(o)]) + o)
        elif isinstance(o, tuple):
            out.extend(b"(")
            for item in o:
                emit(item)
            out.extend(b"t")
        elif isinstance(o, list):
            out.extend(b"](")
            for item in o:
                emit(item)
            out.extend(b"e")
        elif isinstance(o, dict):
            out.extend(b"}(")
            for key, value in o.items():
                emit(key)
                emit(value)
            out.extend(b"u")
        elif isinstance(o, Global):
            out.extend(f"c{o.module}\n{o.name}\n".encode("utf-8"))
        elif isinstance(o, Call):
            emit(o.func)
            emit(tuple(o.args))
            out.extend(b"R")
        elif isinstance(o, PersistentId):
            emit(o.pid)
            out.extend(b"Q")
        elif isinstance(o, Raw):
            out.extend(o.data)
        else:
            raise TypeError(f"cannot pickle {type(o).__name__}")

    emit(obj)
    out.extend(b".")
    return bytes(out)


#: torch's storage type for each NumPy dtype the tests use.
STORAGE_TYPES = {"float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
                 "int64": "LongStorage", "int32": "IntStorage", "uint8": "ByteStorage",
                 "bool": "BoolStorage"}


def storage(key, numel, storage_type="FloatStorage"):
    """The persistent id torch pickles for a storage."""
    return PersistentId(("storage", Global("torch", storage_type), key, "cpu", numel))


def tensor(key, size, stride=None, offset=0, numel=None, storage_type="FloatStorage"):
    """What torch pickles for a tensor over storage `key` (numbers as given: free to lie).
    `stride` defaults to the contiguous one, `numel` to the product of `size`."""
    size = tuple(size)
    if stride is None:
        stride, step = [], 1
        for n in reversed(size):
            stride.insert(0, step)
            step *= n
    numel = int(np.prod(size)) if numel is None else numel
    return Call(Global("torch._utils", "_rebuild_tensor_v2"),
                storage(key, numel, storage_type), offset, size, tuple(stride), False,
                Call(Global("collections", "OrderedDict")))


def fragment(obj):
    """`obj`'s opcodes without the protocol header and STOP, to splice into a `Raw`."""
    return dumps(obj)[2:-1]


def from_arrays(arrays):
    """`(state, storages)` for a dict of NumPy arrays: one contiguous storage (a little-endian
    array) per array."""
    state, storages = collections.OrderedDict(), {}
    for i, (name, array) in enumerate(arrays.items()):
        array = np.array(array, order="C")  # (ascontiguousarray makes a scalar 1-d)
        state[name] = tensor(str(i), array.shape, storage_type=STORAGE_TYPES[array.dtype.name])
        storages[str(i)] = array.astype(array.dtype.newbyteorder("<"))
    return state, storages


def _bytes(data):
    return data.tobytes() if isinstance(data, np.ndarray) else data


def zip_file(path, state, storages, *, byteorder=b"little", pickle_bytes=None,
             compression=zipfile.ZIP_STORED):
    """Writes torch's zip format: `archive/data.pkl`, `archive/byteorder` (unless None) and
    one record `archive/data/<key>` per storage (`{key: bytes or array}`)."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("archive/data.pkl", dumps(state) if pickle_bytes is None
                         else pickle_bytes)
        if byteorder is not None:
            archive.writestr("archive/byteorder", byteorder)
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", _bytes(data))
    return path


#: torch's legacy format: its magic number and protocol version, pickled first.
LEGACY_MAGIC, LEGACY_PROTOCOL = 0x1950a86a20f9469cfc6c, 1001


def legacy_file(path, state, storages, *, little_endian=True, keys=None, numels=None,
                magic=LEGACY_MAGIC):
    """Writes torch's legacy format: magic, protocol, system info, the state, the storage
    keys, then per key its element count (int64) and bytes (`{key: bytes or array}`; the count
    of bytes is their length / 4). `numels` overrides the counts written (`{key: n}`)."""
    keys = sorted(storages) if keys is None else keys
    info = {"protocol_version": LEGACY_PROTOCOL, "little_endian": little_endian,
            "type_sizes": {"short": 2, "int": 4, "long": 4}}
    with open(path, "wb") as f:
        for part in (magic, LEGACY_PROTOCOL, info, state, keys):
            f.write(dumps(part))
        for key in keys:
            data = storages.get(key, b"")
            count = data.size if isinstance(data, np.ndarray) else len(data) // 4
            f.write(struct.pack("<q", (numels or {}).get(key, count)) + _bytes(data))
    return path


def _floats(n):
    return np.arange(n, dtype="<f4").tobytes()


#: The crafted files whose reading touches memory: each must be refused with a
#: ConversionError that says what is wrong, never read outside the file's bytes. Case ->
#: (writer, state, storages, options, words of the expected message).
CRAFTED = {
    "tensor larger than its storage": (
        "zip", {"w": tensor("0", (10_000_000,), numel=1)}, {"0": _floats(1)}, {},
        "more elements than its storage"),
    "2-d tensor past the end of its storage": (
        "zip", {"w": tensor("0", (64, 64), numel=64)}, {"0": _floats(64)}, {},
        "more elements than its storage"),
    "offset past the end": (
        "zip", {"w": tensor("0", (4,), offset=10**6, numel=8)}, {"0": _floats(8)}, {},
        "reads past the end of its storage"),
    "offset at the very end": (
        "zip", {"w": tensor("0", (4,), offset=5, numel=8)}, {"0": _floats(8)}, {},
        "reads past the end of its storage"),
    "negative offset": (
        "zip", {"w": tensor("0", (4,), offset=-4, numel=8)}, {"0": _floats(8)}, {},
        "storage offset of tensor 'w' is -4"),
    "huge offset": (
        "zip", {"w": tensor("0", (4,), offset=2**70, numel=8)}, {"0": _floats(8)}, {},
        "not an integer in [0, 2**50)"),
    "negative stride": (
        "zip", {"w": tensor("0", (4, 2), stride=(-100, 1), numel=8)}, {"0": _floats(8)}, {},
        "a stride of tensor 'w' is -100"),
    "huge stride": (
        "zip", {"w": tensor("0", (2, 2), stride=(10**9, 1), numel=8)}, {"0": _floats(8)}, {},
        "reads past the end of its storage"),
    "stride of 2**62": (
        "zip", {"w": tensor("0", (2,), stride=(2**62,), numel=8)}, {"0": _floats(8)}, {},
        "not an integer in [0, 2**50)"),
    "negative size": (
        "zip", {"w": tensor("0", (-1, 4), numel=8)}, {"0": _floats(8)}, {},
        "a size of tensor 'w' is -1"),
    "float size": (
        "zip", {"w": tensor("0", (2.5,), stride=(1,), numel=8)}, {"0": _floats(8)}, {},
        "a size of tensor 'w' is 2.5"),
    "sizes and strides of different lengths": (
        "zip", {"w": tensor("0", (2, 2), stride=(1,), numel=8)}, {"0": _floats(8)}, {},
        "two tuples of one length"),
    "too many dimensions": (
        "zip", {"w": tensor("0", (1,) * 40, numel=8)}, {"0": _floats(8)}, {},
        "has 40 dimensions (at most 32)"),
    "empty tensor of huge size": (
        "zip", {"w": tensor("0", (0, 2**49, 2**49), stride=(1, 1, 1), numel=8)},
        {"0": _floats(8)}, {}, "beyond any real tensor"),
    "storage record shorter than its element count": (
        "zip", {"w": tensor("0", (1000,))}, {"0": _floats(10)}, {},
        "has a record of 40 bytes"),
    "storage record missing": (
        "zip", {"w": tensor("0", (4,))}, {}, {}, "no record archive/data/0"),
    "storage declared twice with other sizes": (
        "zip", {"a": tensor("0", (4,)), "b": tensor("0", (8,))}, {"0": _floats(8)}, {},
        "declared twice"),
    "huge storage element count": (
        "zip", {"w": tensor("0", (4,), numel=2**60)}, {"0": _floats(4)}, {},
        "element count of storage '0'"),
    "scalar past the end of an empty storage": (
        "zip", {"w": tensor("0", (), stride=(), numel=0)}, {"0": b""}, {},
        "more elements than its storage"),
    "legacy: tensor larger than its storage": (
        "legacy", {"w": tensor("0", (10_000_000,), numel=1)}, {"0": _floats(1)}, {},
        "more elements than its storage"),
    "legacy: element count larger than the file": (
        "legacy", {"w": tensor("0", (2**40,))}, {"0": _floats(4)}, {"numels": {"0": 2**40}},
        "the file is truncated"),
    "legacy: counts disagree": (
        "legacy", {"w": tensor("0", (4,))}, {"0": _floats(4)}, {"numels": {"0": 3}},
        "is stored with 3 elements"),
    "legacy: negative count": (
        "legacy", {"w": tensor("0", (4,))}, {"0": _floats(4)}, {"numels": {"0": -8}},
        "is stored with -8 elements"),
    "legacy: storage without bytes": (
        "legacy", {"w": tensor("0", (4,))}, {"0": _floats(4)}, {"keys": []},
        "the bytes of storage '0'"),
}


def write(case, path):
    """Writes crafted file `case` (a key of CRAFTED) to `path`; returns the expected words."""
    writer, state, storages, options, words = CRAFTED[case]
    (zip_file if writer == "zip" else legacy_file)(path, state, storages, **options)
    return words


def _main(cases):
    """Reads each crafted case in this process; one JSON line per case, flushed before the
    next starts (so a crash shows which case it was)."""
    from cnnblocks import convert
    folder = tempfile.mkdtemp()
    for case in cases:
        path = os.path.join(folder, "crafted.pth")
        write(case, path)
        try:
            convert.read_torch_pickle(path)
            result = {"case": case, "error": None}
        except Exception as exc:  # noqa: BLE001 - the test judges the type and the text
            result = {"case": case, "error": type(exc).__name__, "message": str(exc)}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:] or list(CRAFTED))

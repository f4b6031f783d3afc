"""Weight files: keras.applications' ImageNet files and the other published weight sets of a
model (torchvision's, converted on load; names, URLs and hashes are in each family's record),
and any compatible file given by path.

Two promises:

- **Checked.** A published file is checked against its published hash before use (MD5 for
  keras.applications' files, the SHA-256 prefix in the file name for torchvision's), including
  a file that is already in the Keras cache; a mismatch is an error that names the file to
  delete. (keras.applications publishes no hash for MobileNet v1/v2's files: those are checked
  only as far as their format allows, as a file given by path.) A file given by path is
  checked as far as its format allows: a truncated HDF5 file, damaged HDF5 metadata or
  attributes, a legacy file whose `layer_names`/`weight_names` list a missing layer or weight,
  and any damage to a `.keras` file (a zip with CRCs), is reported as corrupt. HDF5 keeps no
  checksum of the numbers themselves: after loading, values no trained weight has (NaN,
  infinity, a magnitude above 1e30, a negative moving variance) are reported as corrupt too,
  which finds random bytes in all but the smallest tensors; other damage to the numbers is
  only found by a hash.
- **Atomic.** Loading either completes or leaves the model exactly as it was, whatever stops
  it (a bad file, a KeyboardInterrupt): the previous weights are restored.
"""

import hashlib
import json
import os
import zipfile

import keras
import numpy as np

from cnnblocks import _validation as check
from cnnblocks.family import WeightFile  # noqa: F401  (re-exported: the class of the records)


class WeightsUnavailableError(FileNotFoundError):
    """The ImageNet file is neither in the Keras cache nor downloadable (e.g. offline)."""


class WeightFileError(ValueError):
    """A weight file is corrupt, has the wrong hash, or does not fit the model."""


def keras_cache_dir():
    """The folder Keras keeps downloaded files in: `$KERAS_HOME/models`, else `~/.keras/models`.

    Read at call time, so a `KERAS_HOME` set after Keras was imported is respected.
    """
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        home = os.path.join(base, ".keras")
    return os.path.join(home, "models")


_VERIFIED = {}  # (algorithm, path, size, mtime) -> digest, so a file is hashed once per process


def _digest_of(path, algorithm):
    stat = os.stat(path)
    key = (algorithm, os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        digest = hashlib.new(algorithm)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)
        _VERIFIED[key] = digest.hexdigest()
    return _VERIFIED[key]


def md5_of(path):
    """The MD5 hex digest of a file (cached per path, size and modification time)."""
    return _digest_of(path, "md5")


def sha256_of(path):
    """The SHA-256 hex digest of a file (cached per path, size and modification time)."""
    return _digest_of(path, "sha256")


def _check_hash(spec, path):
    """Raises WeightFileError unless `path` has the hash `spec` publishes (MD5, else the
    SHA-256 or the published prefix of it); nothing to check where none is published."""
    if not spec.md5 and not spec.sha256:  # keras.applications' MobileNet v1/v2 files
        return
    if spec.md5:
        kind, published, digest = "MD5", spec.md5, md5_of(path)
        ok = digest == published
    else:
        kind, published, digest = "SHA-256", spec.sha256, sha256_of(path)
        ok = digest.startswith(published)
        digest = digest[:max(len(published), 8)]
    if not ok:
        raise WeightFileError(
            f"{path} does not have the published {kind} hash of {spec.filename} "
            f"({digest} instead of {published}): the file is damaged or is another file. "
            f"Delete {path} and try again (it will be downloaded afresh).")


def cached_file(spec, what):
    """The local path of a published file (`WeightFile`), from the Keras cache or downloaded,
    checked against its published hash.

    Args:
        spec: the `WeightFile`.
        what: what the file is, for messages (e.g. "ImageNet weights for 'resnet50'").

    Raises:
        WeightFileError: the cached file's hash differs (the message says which file to
            delete).
        WeightsUnavailableError: the file is missing and could not be downloaded; the message
            names the file, the folder to put it in and the URL.
    """
    folder = keras_cache_dir()
    path = os.path.join(folder, spec.filename)
    if not os.path.exists(path):
        try:
            path = keras.utils.get_file(spec.filename, spec.url,
                                        cache_dir=os.path.dirname(folder),
                                        cache_subdir="models", file_hash=spec.md5 or None)
        except Exception as exc:  # offline, proxy, hash mismatch: the same answer for a user
            raise WeightsUnavailableError(
                f"{what} are not available: {spec.filename} is not in {folder} and downloading "
                f"it from {spec.url} failed ({type(exc).__name__}: {str(exc)[:200]}). Put the "
                f"file in that folder (or set KERAS_HOME) and try again.") from None
    _check_hash(spec, path)
    return path


def imagenet_file(entry, include_top):
    """The checked local path of a model's ImageNet file (see `cached_file`).

    Args:
        entry: the model's `cnnblocks.family.ModelEntry`.
        include_top: bool, the file with or without the classifier.

    Raises:
        ValueError: no ImageNet weights exist for the model.
        WeightFileError / WeightsUnavailableError: as `cached_file`.
    """
    if entry.imagenet is None:
        raise ValueError(f"No ImageNet weights are published for {entry.name!r}; pass "
                         f"weights=None or the path of a weight file you trained.")
    spec = entry.imagenet[0 if include_top else 1]
    return cached_file(spec, f"ImageNet weights for {entry.name!r}")


def pretrained_file(entry, name):
    """The checked local path of one of a model's published weight sets (`entry.pretrained`,
    e.g. `"torchvision"`), from the Keras cache or downloaded (see `cached_file`).

    Raises:
        ValueError: the model has no weight set of that name.
        WeightFileError / WeightsUnavailableError: as `cached_file`.
    """
    config = entry.pretrained.get(name)
    if config is None:
        raise ValueError(f"{entry.name!r} has no weight set {name!r}; it has: "
                         f"{', '.join(map(repr, entry.pretrained)) or 'none'}.")
    return cached_file(config.file, f"The {name!r} weights for {entry.name!r}")


#: File endings read as PyTorch state dicts (converted on load) when given by path.
TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


def resolve(weights, entry, include_top):
    """The weight file a builder's `weights` argument means: None, or a checked local path
    (an ImageNet file with its published hash; any file readable as HDF5 or `.keras`)."""
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        return imagenet_file(entry, include_top)
    if isinstance(weights, str) and weights in entry.pretrained:
        return pretrained_file(entry, weights)
    path = os.fspath(weights)
    if path.endswith(".safetensors"):
        _readable_safetensors(path)
    elif not path.endswith(TORCH_SUFFIXES):  # a .pth is checked by its reader, when converted
        _readable(path)  # a damaged file is refused before anything is built
    return path


def load(model, weights, path, entry, *, load_torch):
    """Loads the file `resolve` gave into a freshly built model: a PyTorch state dict (a
    published weight set in the `"torch"` format, or a `.pth`/`.safetensors` path) with
    `load_torch(model, path)`, the converter the caller gives (the builder kit gives
    `cnnblocks.torch_weights.load` with the model's `TorchLayout`), any other file with
    `load_into`. Atomic either way."""
    config = entry.pretrained.get(weights) if isinstance(weights, str) else None
    if (config is not None and config.format == "torch") or (
            config is None and path.endswith(TORCH_SUFFIXES)):
        return load_torch(model, path)
    return load_into(model, path)


def _readable(path):
    """Raises WeightFileError when `path` is not a readable HDF5 or `.keras` file."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
            if bad is not None:
                raise OSError(f"member {bad} fails its CRC check")
            return
        import h5py
        with h5py.File(path, "r") as f:  # a truncated file fails here (HDF5 checks its end)
            _check_hdf5(f)
    except WeightFileError:
        raise
    except Exception as exc:  # h5py and zipfile raise several types for damaged files
        raise _corrupt(path, exc, "HDF5 or .keras") from None


def _check_hdf5(f):
    """Reads an HDF5 file's structure: every object's metadata and attributes (a damaged
    object header, B-tree or attribute heap fails here, not halfway through a load), every
    dataset numeric; in the legacy layout of keras.applications' files (a `layer_names`
    attribute, a group per layer with `weight_names`), every layer and weight it lists present.
    Raises OSError naming what is wrong."""
    import h5py

    def visit(name, obj):
        dict(obj.attrs)
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind not in "fiub":
            raise OSError(f"dataset {name!r} holds {obj.dtype}, not numbers")

    visit("/", f)
    f.visititems(visit)
    if "layer_names" not in f.attrs:
        return
    for layer in _names(f.attrs["layer_names"], "layer_names"):
        group = f.get(layer)
        if not isinstance(group, h5py.Group) or "weight_names" not in group.attrs:
            raise OSError(f"layer {layer!r} of its layer_names has no group with weight_names")
        for weight in _names(group.attrs["weight_names"], f"{layer}'s weight_names"):
            if not isinstance(group.get(weight), h5py.Dataset):
                raise OSError(f"weight {weight!r} of layer {layer!r} is listed but missing")


def _names(values, what):
    """The strings of an HDF5 attribute of names (bytes or str)."""
    try:
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in list(values)]
    except (TypeError, UnicodeDecodeError):
        raise OSError(f"its {what} attribute is not a list of names") from None


def _check_values(model, path):
    """Raises WeightFileError when a variable of `model` (just loaded from `path`) holds values
    no trained weight has (`cnnblocks._validation.weight_values`: NaN, infinity, a magnitude
    above 1e30, a negative moving variance)."""
    variances = set()
    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.Model):
            stack.extend(layer.layers)
        elif isinstance(layer, keras.layers.BatchNormalization):
            variances.add(id(layer.moving_variance))
        elif getattr(layer, "adapt_variance", None) is not None:  # keras' Normalization
            variances.add(id(layer.adapt_variance))
    for variable in model.weights:
        problem = check.weight_values(keras.ops.convert_to_numpy(variable),
                                      variance=id(variable) in variances)
        if problem:
            raise WeightFileError(f"The weight file {path!r} is corrupt: its value for "
                                  f"{variable.path!r} {problem}. The model's weights are "
                                  "unchanged.")


def _readable_safetensors(path):
    """Raises WeightFileError unless `path` starts with a safetensors header: an 8-byte
    little-endian length, then that many bytes of JSON, all within the file."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise OSError("shorter than a safetensors header")
            length = int.from_bytes(head, "little")
            if length > os.path.getsize(path) - 8:
                raise OSError(f"header of {length} bytes runs past the end of the file")
            json.loads(f.read(length))
    except (OSError, ValueError) as exc:
        raise _corrupt(path, exc, ".safetensors") from None


def _corrupt(path, exc, kind):
    return WeightFileError(
        f"The weight file {path!r} is corrupt or truncated ({type(exc).__name__}: "
        f"{_excerpt(exc, 200)}); it is not a readable {kind} file. Replace it.")


def _excerpt(exc, limit):
    """The start of an exception's message on one line (Keras' messages span several)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _legacy_groups(path):
    """The weight arrays of a legacy HDF5 file (a `layer_names` attribute), per layer group
    that has weights, in file order; None for another layout."""
    import h5py
    if zipfile.is_zipfile(path):
        return None
    with h5py.File(path, "r") as f:
        if "layer_names" not in f.attrs:
            return None
        groups = []
        for layer in _names(f.attrs["layer_names"], "layer_names"):
            weights = _names(f[layer].attrs["weight_names"], f"{layer}'s weight_names")
            if weights:
                groups.append((layer, [np.asarray(f[layer][w]) for w in weights]))
        return groups


def _load_nested_legacy(model, path):
    """Loads a legacy HDF5 file whose layer groups hold nested models' weights into a model
    with those layers inlined (keras.applications' ConvNeXt files group the stem and
    downsampling layers under Sequential models `*_stem`, `*_downsampling_block_*`; cnnblocks
    builds those layers flat, in the same order). Weight by weight in file order, each shape
    checked. Returns False (nothing done) where the groups match the model's layers one to one
    (Keras' own loader then matches by layer order) or the file is not a legacy one.

    Raises:
        ValueError: the weights do not correspond (count or shape).
    """
    groups = _legacy_groups(path)
    weighted = [layer for layer in model.layers if layer.weights]
    if groups is None or len(groups) == len(weighted):
        return False
    variables = [v for layer in weighted
                 for v in (*layer.trainable_weights, *layer.non_trainable_weights)]
    values = [(name, a) for name, arrays in groups for a in arrays]
    if len(values) != len(variables):
        raise ValueError(f"the file holds {len(values)} weights in {len(groups)} layer groups, "
                         f"the model {len(variables)} in {len(weighted)} layers")
    for variable, (group, value) in zip(variables, values):
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"weight of shape {tuple(value.shape)} in group {group!r} does not "
                             f"fit {variable.path!r} of shape {tuple(variable.shape)}")
    for variable, (_, value) in zip(variables, values):
        variable.assign(value)
    return True


def load_into(model, path):
    """Loads a weight file into `model`, atomically: on any failure (an exception or an
    interrupt) the model keeps the weights it had.

    Accepts the legacy HDF5 files of keras.applications (`.h5`, matched by layer order) and Keras 3
    `.weights.h5` / `.keras` files.

    Raises:
        FileNotFoundError: `path` does not exist.
        WeightFileError (a ValueError): the file is corrupt or truncated (damaged HDF5
            structure, or loaded values no trained weight has: NaN, infinity, a magnitude
            above 1e30, a negative moving variance), or does not fit this model (another
            architecture, other classes); the message names the file and the model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`weights` file not found: {path!r}.")
    _readable(path)
    snapshot = [keras.ops.convert_to_numpy(v) for v in model.weights]
    done = False
    try:
        try:
            if not _load_nested_legacy(model, path):
                model.load_weights(path)
        except Exception as exc:
            raise WeightFileError(f"The weight file {path!r} does not fit model "
                                  f"{model.name!r} ({type(exc).__name__}: "
                                  f"{_excerpt(exc, 300)}). The model's weights are "
                                  "unchanged.") from None
        _check_values(model, path)
        done = True
    finally:
        if not done:
            for variable, value in zip(model.weights, snapshot):
                variable.assign(value)
    return model

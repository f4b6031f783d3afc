"""Weight files: the keras.applications ImageNet files (same names, URLs and hashes) and any
compatible file given by path.

Facts transcribed from keras.applications 3.x (file names, download URLs, MD5 hashes); the loading
code is this project's own. A load that fails leaves the model exactly as it was.
"""

import dataclasses
import os

import keras

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclasses.dataclass(frozen=True)
class WeightFile:
    """One downloadable weight file: its URL and MD5 hash."""

    url: str
    md5: str

    @property
    def filename(self):
        return self.url.rsplit("/", 1)[-1]


#: ImageNet weights per model: (with top, without top). Source: keras.applications (vgg16.py,
#: vgg19.py, resnet.py, xception.py, inception_v3.py), Keras 3.15.
IMAGENET = {
    "vgg16": (
        WeightFile(_BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                   "64373286793e3c8b2b4e3219cbf3544b"),
        WeightFile(_BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "6d6bbae143d832006294945121d1f1fc"),
    ),
    "vgg19": (
        WeightFile(_BASE + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                   "cbe5617147190e668d6c5d5026f83318"),
        WeightFile(_BASE + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "253f8cb515780f3b799900260a226db6"),
    ),
    "resnet50": (
        WeightFile(_BASE + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                   "2cb95161c43110f7111970584f804107"),
        WeightFile(_BASE + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "4d473c1dd8becc155b73f8504c6f6626"),
    ),
    "resnet101": (
        WeightFile(_BASE + "resnet/resnet101_weights_tf_dim_ordering_tf_kernels.h5",
                   "f1aeb4b969a6efcfb50fad2f0c20cfc5"),
        WeightFile(_BASE + "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "88cf7a10940856eca736dc7b7e228a21"),
    ),
    "resnet152": (
        WeightFile(_BASE + "resnet/resnet152_weights_tf_dim_ordering_tf_kernels.h5",
                   "100835be76be38e30d865e96f2aaae62"),
        WeightFile(_BASE + "resnet/resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    ),
    "xception": (
        WeightFile(_BASE + "xception/xception_weights_tf_dim_ordering_tf_kernels.h5",
                   "0a58e3b7378bc2990ea3b43d5981f1f6"),
        WeightFile(_BASE + "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "b0042744bf5b25fce3cb969f33bebb97"),
    ),
    "inception_v3": (
        WeightFile(_BASE + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                   "9a0d58056eeedaa3f26cb7ebd46da564"),
        WeightFile(_BASE + "inception_v3/"
                   "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "bcbd6486424b2319ff4ef7d526e38f63"),
    ),
}


class WeightsUnavailableError(FileNotFoundError):
    """The ImageNet file is neither in the Keras cache nor downloadable (e.g. offline)."""


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


def imagenet_file(model_key, include_top):
    """Returns the local path of a model's ImageNet file, downloading it when missing.

    A file already in the cache is used as it is (Keras checked its hash when it downloaded it).

    Args:
        model_key: registry name, e.g. `"resnet50"`.
        include_top: bool, the file with or without the classifier.

    Raises:
        ValueError: no ImageNet weights exist for `model_key`.
        WeightsUnavailableError: the file is missing and could not be downloaded; the message
            names the file, the folder to put it in and the URL.
    """
    if model_key not in IMAGENET:
        raise ValueError(f"No ImageNet weights are published for {model_key!r}; pass "
                         f"weights=None or the path of a weight file you trained.")
    spec = IMAGENET[model_key][0 if include_top else 1]
    folder = keras_cache_dir()
    path = os.path.join(folder, spec.filename)
    if os.path.exists(path):
        return path
    try:
        return keras.utils.get_file(spec.filename, spec.url, cache_dir=os.path.dirname(folder),
                                    cache_subdir="models", file_hash=spec.md5)
    except Exception as exc:  # offline, proxy, hash mismatch: all end the same way for a user
        raise WeightsUnavailableError(
            f"ImageNet weights for {model_key!r} are not available: {spec.filename} is not in "
            f"{folder} and downloading it from {spec.url} failed ({type(exc).__name__}: "
            f"{exc}). Put the file in that folder (or set KERAS_HOME) and try again.") from None


def load_into(model, path):
    """Loads a weight file into `model`; on any failure the model keeps its weights.

    Accepts the legacy HDF5 files of keras.applications (`.h5`, matched by layer order) and Keras 3
    `.weights.h5` / `.keras` files.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file does not fit this model (another architecture, other classes);
            the message names the file and the model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`weights` file not found: {path!r}.")
    snapshot = [keras.ops.convert_to_numpy(v) for v in model.weights]
    try:
        model.load_weights(path)
    except Exception as exc:
        for variable, value in zip(model.weights, snapshot):
            variable.assign(value)
        raise ValueError(f"The weight file {path!r} does not fit model {model.name!r} "
                         f"({type(exc).__name__}: {exc}). The model's weights are unchanged."
                         ) from None
    return model

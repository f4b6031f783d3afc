"""The records an architecture family is made of, as data the tools read.

Each family module `cnnblocks/architectures/<family>.py` ends with one `FAMILY = Family(...)`:
its models (registry name, builder, ImageNet weight files with their hashes, published numbers
with their sources, feature taps), its preprocessing and its paper. The registry, weight
loading, `classify`, `verify`/`table`, `feature_extractor` and the documentation generator read
these records; adding a family is adding one module.

Counting conventions of the published numbers (the cause of most "mismatches" between sources):

- Keras counts BatchNormalization's moving mean and variance as parameters (4 per channel, 2
  trainable); torchvision counts only gamma and beta.
- Multiply-adds (MACs) are counted as `cnnblocks.count_macs` does: convolutions and dense
  layers at batch 1; the ResNet and GoogLeNet papers' "FLOPs" are multiply-adds too.
- Depth counts weight layers (convolutions, dense) on the longest input-to-output path.
"""

import dataclasses
import types

# Sources, named once.
KERAS = "keras.applications {} count_params() (Keras Applications docs)"
KERAS_MACS = ("count_macs of keras.applications {} (weights=None, batch 1); the TF profiler's "
              "float_ops / 2 agrees within 0.5%")
TORCHVISION = "torchvision weight metadata ({})"

# Conventions, named once.
KERAS_PARAMS = "Keras: BN moving mean/variance counted (4 per channel)"
TRAINABLE = "Keras trainable: BN gamma/beta only"
MACS = "multiply-adds of convolutions and dense layers, batch 1 (cnnblocks.count_macs)"
DEPTH = "weight layers (conv, dense) on the longest input-output path"


@dataclasses.dataclass(frozen=True)
class Figure:
    """One published number.

    Attributes:
        value: int or float.
        source: where it is printed (paper table, Keras Applications docs, torchvision meta) or
            `"derived: ..."`.
        convention: what it counts.
        rel_tol: float, how far (relative) a correct implementation may be off: 0 for exact
            counts, the printed rounding for "138M" or "3.8 x 10^9".
    """

    value: float
    source: str
    convention: str = ""
    rel_tol: float = 0.0

    def matches(self, measured):
        """Whether `measured` is within `rel_tol` of the value."""
        return abs(measured - self.value) <= self.rel_tol * abs(self.value)

    def deviation(self, measured):
        """Relative deviation `(measured - value) / value`."""
        return (measured - self.value) / self.value if self.value else float(measured != 0)


def exact(value, source, convention=""):
    """A figure that must match exactly."""
    return Figure(value, source, convention, 0.0)


def rounded(value, tolerance, source, convention=""):
    """A figure printed rounded: `tolerance` (absolute, e.g. half its last printed unit)."""
    return Figure(value, source, convention, tolerance / value)


def measured_macs(value, source):
    """A multiply-add figure from a measurement (within 0.5%: the TF-profiler agreement)."""
    return Figure(value, source, MACS, 0.005)


@dataclasses.dataclass(frozen=True)
class PaperRow:
    """One row of a paper's architecture table.

    Attributes:
        label: the row as the paper prints it, e.g. `"inception (3a)"`.
        blocks: regular expression (`re.fullmatch`) selecting the `cnnblocks.summarize` rows
            the paper row covers, e.g. `r"conv2_block\\d+"`; None for the whole model.
        output: the paper's output size, e.g. `"28x28x256"` or `"56x56"`; None if not printed.
        params: `Figure` or None.
        macs: `Figure` or None.
        columns: the row's other columns, e.g. `{"#1x1": 64, ...}`.
        erratum: None, or why the paper's printed figure is wrong (the figures then hold the
            exact values and the printed ones are in `columns`).
    """

    label: str
    blocks: str = None
    output: str = None
    params: Figure = None
    macs: Figure = None
    columns: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))
    erratum: str = None

    def __post_init__(self):
        object.__setattr__(self, "columns", types.MappingProxyType(dict(self.columns)))


@dataclasses.dataclass(frozen=True)
class Reference:
    """The published numbers of one architecture.

    Attributes:
        paper: the paper.
        input_shape: the input the numbers refer to (with the 1000-class top).
        params: total parameters, Keras convention.
        trainable_params: trainable parameters, Keras convention.
        depth: weight-layer depth.
        macs: multiply-adds at batch 1.
        table: tuple of `PaperRow`, the paper's architecture table (may be empty).
        table_source: which table `table` transcribes.
        others: tuple of `(label, Figure)`: the same quantities in other conventions.
        table_input: the input shape the paper's table is printed for, where it differs from
            `input_shape` (`cnnblocks table` builds the model at it); None otherwise.
        name: the registry name (filled in by `ModelEntry`).
    """

    paper: str
    input_shape: tuple
    params: Figure
    trainable_params: Figure
    depth: Figure
    macs: Figure
    table: tuple = ()
    table_source: str = ""
    others: tuple = ()
    table_input: tuple = None
    name: str = ""


@dataclasses.dataclass(frozen=True)
class WeightFile:
    """One downloadable weight file: its URL and MD5 hash (as keras.utils.get_file checks);
    `md5` None where keras.applications publishes no hash (MobileNet v1 and v2)."""

    url: str
    md5: str

    @property
    def filename(self):
        return self.url.rsplit("/", 1)[-1]


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One registered architecture.

    Attributes:
        name: registry name, lowercase (`"resnet50"`). Write it as a literal in the family
            module: `cnnblocks list` reads the names from the source without importing Keras.
        title: how people write it (`"ResNet-50"`).
        builder: the public builder function.
        default_size: the ImageNet input size (224, 299).
        imagenet: `(with top, without top)` `WeightFile`s of keras.applications' ImageNet
            weights, or None where none are published.
        reference: the published numbers (`Reference`), or None.
        keras_name: the keras.applications function of the same model (`"ResNet50"`), or None.
        family: the family's name (filled in by `Family`).
    """

    name: str
    title: str
    builder: object
    default_size: int
    imagenet: tuple = None
    reference: Reference = None
    keras_name: str = None
    family: str = ""

    def __post_init__(self):
        if self.reference is not None and self.reference.name != self.name:
            object.__setattr__(self, "reference",
                               dataclasses.replace(self.reference, name=self.name))


@dataclasses.dataclass(frozen=True)
class Family:
    """An architecture family: everything the tools need about it.

    Attributes:
        name: the module's name (`"resnet"`).
        title: display name (`"ResNet"`).
        paper: the paper, as cited.
        url: the paper's link.
        models: tuple of `ModelEntry`.
        preprocess_input: the family's preprocessing function `(x, data_format=None)`.
        decode_predictions: `(preds, top=5) -> [[(class id, label, probability), ...]]`.
        preprocessing: one line on what `preprocess_input` does.
        blocks: names of the `cnnblocks.blocks` functions the family is built from.
    """

    name: str
    title: str
    paper: str
    url: str
    models: tuple
    preprocess_input: object
    decode_predictions: object
    preprocessing: str
    blocks: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(
            dataclasses.replace(m, family=self.name) for m in self.models))

    def model(self, name):
        """The `ModelEntry` registered as `name`."""
        for entry in self.models:
            if entry.name == name:
                return entry
        raise KeyError(f"{self.name} has no model {name!r}.")

"""The records an architecture family is made of, as data the tools read.

Each family module `cnnblocks/architectures/<family>.py` ends with one `FAMILY = Family(...)`:
its models (registry name, builder, ImageNet weight files with their hashes, published numbers
with their sources, feature taps, the structures its builder's `variant=` offers, other
published weight sets with their preprocessing (`PretrainedConfig`) and the map from PyTorch
state-dict keys to its layers (`TorchLayout`)), its preprocessing and its paper. The registry, weight
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
import re
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


def torchvision_gflops(key, gflops, member=""):
    """torchvision's GFLOPS metadata of model `key` (printed to 3 decimals) as a multiply-add
    figure; `member` names the weight set where it is not the 224x224 default."""
    label = f"{key} {member}" if member else key
    return rounded(gflops * 1e9, 0.0005e9, TORCHVISION.format(f"{label}: {gflops} GFLOPS"),
                   MACS)


#: The builder arguments of a model only torchvision defines, after `include_top` and
#: `weights`, as its builder's docstring template states them (`{key}`: the registry name,
#: filled in with the rest of the template).
TORCHVISION_ONLY_ARGS = """\
    input_tensor: optional Keras tensor to build the model on.
    input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        Default (224, 224, 3) with a top, (None, None, 3) without.
    pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
    classes: int, number of classes, at most 1,000,000. Default 1000.
    classifier_activation: activation of `predictions`. Default `"softmax"`.
    name: model name. Default `"{key}"` (torchvision's).
    variant: `"torchvision"`, the only structure (torchvision's `{key}`, which its weights
        fit).
"""


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


def torchvision_reference(key, *, paper, total, trainable, depth, depth_source, gflops,
                          others=()):
    """The `Reference` of a model torchvision defines (no keras.applications model): the
    trainable parameters are torchvision's `num_params`, the total adds BN's moving statistics
    (2 per BN channel, no convolution bias), multiply-adds its GFLOPS, at 224x224."""
    return Reference(
        paper=paper, input_shape=(224, 224, 3),
        params=exact(total, "derived: torchvision's count + 2 per BN channel (COUNTS)",
                     KERAS_PARAMS + "; no conv bias"),
        trainable_params=exact(trainable, TORCHVISION.format(key),
                               TRAINABLE + " = torchvision parameters()"),
        depth=exact(depth, depth_source, DEPTH), macs=torchvision_gflops(key, gflops),
        others=others)


@dataclasses.dataclass(frozen=True)
class WeightFile:
    """One downloadable weight file: its URL and the hash its publisher gives.

    Attributes:
        url: where the file is published.
        md5: its MD5 hex digest (keras.applications' files), or "" (None too) where none is
            published (keras.applications' MobileNet v1 and v2 files).
        sha256: its SHA-256 hex digest, or the leading hex digits of it that the publisher
            gives (torch hub's convention: `resnet18-f37072fd.pth` publishes `f37072fd`), or "".
    """

    url: str
    md5: str = ""
    sha256: str = ""

    @property
    def filename(self):
        return self.url.rsplit("/", 1)[-1]


def torch_hub_file(url):
    """The `WeightFile` of a file published under torch hub's naming rule
    `<name>-<first hex digits of its SHA-256>.<ext>` (every torchvision weight URL): the hash
    is the one the URL publishes, as `torch.hub.load_state_dict_from_url(check_hash=True)`
    checks it."""
    match = re.search(r"-([a-f0-9]{8,})\.[A-Za-z]+$", url.rsplit("/", 1)[-1])
    if match is None:
        raise ValueError(f"{url!r} does not follow torch hub's `name-<sha256 prefix>.ext` rule.")
    return WeightFile(url, sha256=match.group(1))


#: The variant of every model, the structure of keras.applications (or of the paper where
#: keras.applications has no model): Keras "same" padding, keras.applications' BN epsilon.
KERAS_VARIANT = "keras"
#: The structure of torchvision's model of the same name, which its (and timm's) weight files
#: fit: explicit symmetric padding, torchvision's strides, pools and BN epsilon.
TORCHVISION_VARIANT = "torchvision"


@dataclasses.dataclass(frozen=True)
class PretrainedConfig:
    """One published weight set and how to feed it (timm's `pretrained_cfg`, as data).

    The preprocessing is torchvision's `ImageClassification` transform: resize the shorter
    side to `resize_size` with `interpolation`, center-crop `input_size`, scale to [0, 1],
    subtract `mean` and divide by `std` per RGB channel (`cnnblocks.preprocessing.prepare`).

    Attributes:
        name: the `weights=` value that selects it (`"torchvision"`).
        file: the `WeightFile` (URL and published hash).
        variant: the model structure the file fits (`"torchvision"`).
        format: `"torch"`, a PyTorch state dict (`.pth`, converted on load with the model's
            `TorchLayout`).
        source: where the facts come from (the publisher's metadata, named).
        input_size: int, the square crop the weights were evaluated at (224, 299).
        resize_size: int, the shorter side before the crop (256 for a 224 crop).
        interpolation: `"bilinear"` or `"bicubic"`.
        mean, std: per RGB channel, on pixels scaled to [0, 1].
        labels: the label set: `"imagenet-1k"` (the 1000 ILSVRC-2012 classes in their usual
            order, `cnnblocks.preprocessing.class_index()`).
        num_classes: int, the classifier's size.
        top1, top5: ImageNet-1k validation accuracy in percent as the publisher states it, or
            None.
        num_params: the parameters the publisher counts (`parameters()`: trainable ones).
        file_size_mb: the file's size in MB as published, or None.
        notes: anything a user must know (e.g. an input transform folded into `mean`/`std`).
    """

    name: str
    file: WeightFile
    variant: str = TORCHVISION_VARIANT
    format: str = "torch"
    source: str = ""
    input_size: int = 224
    resize_size: int = 256
    interpolation: str = "bilinear"
    mean: tuple = (0.485, 0.456, 0.406)
    std: tuple = (0.229, 0.224, 0.225)
    labels: str = "imagenet-1k"
    num_classes: int = 1000
    top1: float = None
    top5: float = None
    num_params: int = None
    file_size_mb: float = None
    notes: str = ""

    @property
    def crop_pct(self):
        """The crop fraction `input_size / resize_size` (timm's `crop_pct`; 0.875 for 224 of
        256)."""
        return self.input_size / self.resize_size

    def to_dict(self):
        """The configuration as a plain dict (timm's `pretrained_cfg` keys where they exist)."""
        return {"name": self.name, "url": self.file.url, "sha256": self.file.sha256,
                "variant": self.variant, "format": self.format, "source": self.source,
                "input_size": (3, self.input_size, self.input_size),
                "resize_size": self.resize_size, "crop_pct": self.crop_pct,
                "interpolation": self.interpolation, "mean": tuple(self.mean),
                "std": tuple(self.std), "labels": self.labels, "num_classes": self.num_classes,
                "top1": self.top1, "top5": self.top5, "num_params": self.num_params,
                "file_size_mb": self.file_size_mb, "notes": self.notes}


#: Where torchvision publishes its weight files.
TORCHVISION_MODELS = "https://download.pytorch.org/models/"


def torchvision_weights(filename, enum, *, top1, top5, num_params, file_size_mb,
                        name="torchvision", input_size=224, resize_size=256,
                        interpolation="bilinear", mean=(0.485, 0.456, 0.406),
                        std=(0.229, 0.224, 0.225), notes=""):
    """The `PretrainedConfig` of a torchvision weight set, from its published metadata.

    Args:
        filename: the file under `TORCHVISION_MODELS` (its name carries the SHA-256 prefix).
        enum: the torchvision weights enum member, e.g. `"ResNet50_Weights.IMAGENET1K_V1"`.
        top1, top5, num_params, file_size_mb: the enum's `meta` (`acc@1`, `acc@5`,
            `num_params`, `_file_size`).
        name: the `weights=` name. Default `"torchvision"`.
        input_size, resize_size: the enum's `ImageClassification(crop_size=...,
            resize_size=...)` transform (defaults 224 and 256).
        interpolation: its resize interpolation, `"bilinear"` (the default) or `"bicubic"`.
        mean, std: the normalization the weights expect (ImageNet's unless a model folds an
            input transform into them).
        notes: what else a user must know.
    """
    return PretrainedConfig(
        name=name, file=torch_hub_file(TORCHVISION_MODELS + filename),
        source=f"torchvision {enum} (weight metadata in torchvision.models, torchvision 0.28)",
        input_size=input_size, resize_size=resize_size, interpolation=interpolation,
        mean=tuple(mean), std=tuple(std), top1=top1, top5=top5, num_params=num_params,
        file_size_mb=file_size_mb, notes=notes)


@dataclasses.dataclass(frozen=True)
class TorchLayout:
    """Where each layer's weights are in a PyTorch state dict (torchvision's module names; timm
    uses the same ones for ResNet, VGG features and Inception-V3).

    `cnnblocks.convert` reads it; it knows nothing of any family. A layer's tensors are
    `<prefix>.weight`, `<prefix>.bias` (convolutions, dense layers), `<prefix>.running_mean`,
    `<prefix>.running_var` (batch norm); the converter transforms them by layer type.

    Attributes:
        layers: `{layer name: (state-dict prefix, ...)}`: the module(s) that hold the layer's
            weights, first match wins (e.g. torchvision's `classifier.0` and timm's
            `pre_logits.fc1` for VGG's `fc1`). It may name layers a model lacks (the top, the
            auxiliary classifiers): their tensors are then left unused.
        flatten: `{dense layer name: flatten layer name}`: dense layers fed by a `Flatten` of a
            feature map. PyTorch flattens (C, H, W), Keras (H, W, C): the converter permutes
            the rows, reading H, W, C from the flatten layer's input.
        variant: the model structure the layout is for (`"torchvision"`): the converter
            refuses a model built with another.
    """

    layers: types.MappingProxyType
    flatten: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))
    variant: str = TORCHVISION_VARIANT

    def __post_init__(self):
        object.__setattr__(self, "layers", types.MappingProxyType(
            {k: (v,) if isinstance(v, str) else tuple(v) for k, v in self.layers.items()}))
        object.__setattr__(self, "flatten", types.MappingProxyType(dict(self.flatten)))


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One registered architecture.

    Attributes:
        name: registry name, lowercase (`"resnet50"`).
        title: how people write it (`"ResNet-50"`).
        builder: the public builder function.
        default_size: the ImageNet input size (224, 299).
        imagenet: `(with top, without top)` `WeightFile`s of keras.applications' ImageNet
            weights, or None where none are published.
        reference: the published numbers (`Reference`), or None.
        keras_name: the keras.applications function of the same model (`"ResNet50"`), or None.
        variants: the structures its builder's `variant=` accepts, the default first:
            `("keras",)` or `("keras", "torchvision")`.
        pretrained: `{weights name: PretrainedConfig}`: the published weight sets besides
            keras.applications' ImageNet files (e.g. `"torchvision"`), each selected by
            `weights=<name>`.
        torch_layout: the `TorchLayout` of its torchvision variant (how a PyTorch state dict
            maps onto its layers), or None.
        family: the family's name (filled in by `Family`).
    """

    name: str
    title: str
    builder: object
    default_size: int
    imagenet: tuple = None
    reference: Reference = None
    keras_name: str = None
    variants: tuple = (KERAS_VARIANT,)
    pretrained: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))
    torch_layout: TorchLayout = None
    family: str = ""

    def __post_init__(self):
        if self.reference is not None and self.reference.name != self.name:
            object.__setattr__(self, "reference",
                               dataclasses.replace(self.reference, name=self.name))
        object.__setattr__(self, "pretrained", types.MappingProxyType(dict(self.pretrained)))


@dataclasses.dataclass(frozen=True)
class Design:
    """A point of a family's design space that need not be a registered model: a registered
    model scaled by `cnnblocks.design.compound_scale`, or a RegNet of `cnnblocks.design.regnet`.

    Attributes:
        family: the family's name (`"efficientnet"`).
        name: the model name a build gets by default (`"efficientnet_b0_scaled"`).
        base: the registered model it was scaled from, or None.
        width: the width coefficient, relative to the family's base design (EfficientNet-B0,
            the registered ResNet or RegNet itself): B4 is EfficientNet's width 1.4.
        depth: the depth coefficient, likewise.
        resolution: int, the input size a build takes by default (with a top, the only one).
        stages: tuple of `(blocks, channels)` per stage, after the family's rounding rules.
        spec: the family's own record of the design (what its builder reads).
        build_fn: the family's builder `(design, **builder_kwargs) -> keras.Model` (not
            compared, not shown).
    """

    family: str
    name: str
    base: object
    width: float
    depth: float
    resolution: int
    stages: tuple
    spec: object = None
    build_fn: object = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def blocks(self):
        """The number of blocks, all stages together."""
        return sum(blocks for blocks, _ in self.stages)

    def build(self, include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=None,
              **options):
        """Builds the design as a `keras.Model`, with the family's builder arguments
        (keras.applications' `include_top`, `weights` (None or a weight file of the same
        design), `input_tensor`, `input_shape`, `pooling`, `classes`,
        `classifier_activation`, `name`; `variant=` where the family has several
        structures). The default input size with a top is `resolution`."""
        return self.build_fn(self, include_top=include_top, weights=weights,
                             input_tensor=input_tensor, input_shape=input_shape,
                             pooling=pooling, classes=classes,
                             classifier_activation=classifier_activation,
                             name=self.name if name is None else name, **options)


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
        scale: None, or the family's scaling rule, a function of a registered model's
            entry, a width and a depth coefficient and a resolution (an int, or None for the
            model's own size) that returns a `Design`: the model with its widths and depths
            scaled under the family's own rounding (what `cnnblocks.design.compound_scale`
            calls).
        design: None, or the family's design space, a function of its design parameters
            that returns their `Design` (RegNet's depth, w0, wa, wm, group width, SE ratio,
            bottleneck ratio and stem width; what `cnnblocks.design.regnet` calls).
        estimate: None, or the family's estimator, a function of one of its `Design`s (a
            family with a scaling rule) or registered `ModelEntry`s (one without) and the
            builder's `input_shape` (static, at least 32x32; the estimator refuses what its
            builder refuses), `include_top`, `pooling`, `classes` and `variant` (keywords;
            `variant` None for the builders' default structure) that returns its
            `cnnblocks.cost.Estimate` without building it (what `cnnblocks.design.estimate`
            calls).
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
    scale: object = None
    design: object = None
    estimate: object = None

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(
            dataclasses.replace(m, family=self.name) for m in self.models))

    def model(self, name):
        """The `ModelEntry` registered as `name`."""
        for entry in self.models:
            if entry.name == name:
                return entry
        raise KeyError(f"{self.name} has no model {name!r}.")

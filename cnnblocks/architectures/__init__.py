"""Full architectures composed from `cnnblocks.blocks`, one module per family.

Every module here except `common` is a family: it ends with `FAMILY = Family(...)` (see
`cnnblocks.family`) and lists its public builders in `__all__`. `BUILDERS` below names every
family module and its builders: the one list of them, which `cnnblocks.__all__` reads without
importing Keras (tests/test_architectures.py checks it against each module's `__all__` and
`FAMILY` record). Adding a family is adding its module and its row here.

The family modules import Keras, so each is imported on first use (PEP 562): a builder when it
is first looked up (`cnnblocks.architectures.ResNet50`, `from cnnblocks.architectures import
VGG16`), every family for `FAMILIES`.
"""

import importlib

#: Family module -> its public builders (each a `def` in that module, in its `__all__` order),
#: in module-name order.
BUILDERS = {
    "alexnet": ("AlexNet",),
    "convnext": ("ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge",
                 "ConvNeXtXLarge"),
    "densenet": ("DenseNet121", "DenseNet161", "DenseNet169", "DenseNet201"),
    "efficientnet": ("EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
                     "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7"),
    "efficientnet_v2": ("EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2",
                        "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M",
                        "EfficientNetV2L"),
    "googlenet": ("GoogLeNet",),
    "inception_resnet_v2": ("InceptionResNetV2",),
    "inception_v3": ("InceptionV3",),
    "mnasnet": ("MNASNet0_5", "MNASNet0_75", "MNASNet1_0", "MNASNet1_3"),
    "mobilenet": ("MobileNet",),
    "mobilenet_v2": ("MobileNetV2",),
    "mobilenet_v3": ("MobileNetV3Small", "MobileNetV3Large"),
    "nasnet": ("NASNetMobile", "NASNetLarge"),
    "regnet": ("RegNetY400MF", "RegNetY800MF", "RegNetY1_6GF", "RegNetY3_2GF", "RegNetY8GF",
               "RegNetY16GF", "RegNetY32GF", "RegNetY128GF", "RegNetX400MF", "RegNetX800MF",
               "RegNetX1_6GF", "RegNetX3_2GF", "RegNetX8GF", "RegNetX16GF", "RegNetX32GF"),
    "resnet": ("ResNet18", "ResNet34", "ResNet50", "ResNet101", "ResNet152"),
    "resnet_v2": ("ResNet50V2", "ResNet101V2", "ResNet152V2"),
    "resnext": ("ResNeXt50_32x4d", "ResNeXt101_32x8d", "ResNeXt101_64x4d"),
    "shufflenet_v2": ("ShuffleNetV2_x0_5", "ShuffleNetV2_x1_0", "ShuffleNetV2_x1_5",
                      "ShuffleNetV2_x2_0"),
    "squeezenet": ("SqueezeNet1_0", "SqueezeNet1_1"),
    "vgg": ("VGG11", "VGG13", "VGG16", "VGG19", "VGG11BN", "VGG13BN", "VGG16BN", "VGG19BN"),
    "wide_resnet": ("WideResNet50_2", "WideResNet101_2"),
    "xception": ("Xception",),
}

#: Builder name -> its family module.
_MODULE_OF = {builder: module for module, names in BUILDERS.items() for builder in names}

__all__ = ["FAMILIES", *_MODULE_OF]


def _families():
    """Family name -> `cnnblocks.family.Family`, in module-name order (imports every family)."""
    families = {}
    for module in BUILDERS:
        family = importlib.import_module(f"{__name__}.{module}").FAMILY
        families[family.name] = family
    return families


def __getattr__(name):
    """`FAMILIES`, the builders and the modules (`architectures.resnet`), imported on first
    access."""
    if name in BUILDERS or name == "common":
        return importlib.import_module(f"{__name__}.{name}")  # which binds it here
    if name == "FAMILIES":
        value = _families()
    elif name in _MODULE_OF:
        value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__():
    return sorted({*globals(), *__all__})

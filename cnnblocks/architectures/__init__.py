"""Full architectures composed from `cnnblocks.blocks`, with keras.applications' signatures.

`MODELS` maps each registry name to its builder; each family module contributes its own
`MODELS` table (add a family by importing it here and merging its table).
"""

from cnnblocks.architectures import googlenet, inception_v3, resnet, vgg, xception
from cnnblocks.architectures.googlenet import GoogLeNet
from cnnblocks.architectures.inception_v3 import InceptionV3
from cnnblocks.architectures.resnet import ResNet18, ResNet34, ResNet50, ResNet101, ResNet152
from cnnblocks.architectures.vgg import VGG11, VGG13, VGG16, VGG19
from cnnblocks.architectures.xception import Xception

MODELS = {**vgg.MODELS, **resnet.MODELS, **googlenet.MODELS,
          **xception.MODELS, **inception_v3.MODELS}

__all__ = ["MODELS", "VGG11", "VGG13", "VGG16", "VGG19"]
__all__ += ["ResNet18", "ResNet34", "ResNet50", "ResNet101", "ResNet152"]
__all__ += ["GoogLeNet"]
__all__ += ["Xception", "InceptionV3"]

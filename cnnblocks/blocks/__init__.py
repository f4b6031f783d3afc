"""The milestone CNN building blocks: each a function `block(x, <widths>, *, <options>, name)`."""

from cnnblocks.blocks.common import conv_bn_act, resolve_data_format
from cnnblocks.blocks.convnext import convnext_block
from cnnblocks.blocks.densenet import dense_block, transition_block
from cnnblocks.blocks.efficientnet import fused_mbconv_block, mbconv_block
from cnnblocks.blocks.inception import inception_module, naive_inception_module
from cnnblocks.blocks.inception_resnet import (inception_resnet_a, inception_resnet_b,
                                               inception_resnet_c, inception_resnet_reduction_a,
                                               inception_resnet_reduction_b)
from cnnblocks.blocks.inception_v3 import (inception_v3_a, inception_v3_b, inception_v3_c,
                                           inception_v3_reduction_a, inception_v3_reduction_b)
from cnnblocks.blocks.mobilenet import (depthwise_separable_block, inverted_residual_block,
                                        mobilenet_v3_block, squeeze_excite)
from cnnblocks.blocks.nasnet import (nasnet_adjust, nasnet_normal_cell, nasnet_reduction_cell,
                                     nasnet_stem)
from cnnblocks.blocks.preact import preact_bottleneck_module, preact_residual_module
from cnnblocks.blocks.residual import bottleneck_module, residual_module
from cnnblocks.blocks.regnet import regnet_block
from cnnblocks.blocks.resnext import grouped_bottleneck_module
from cnnblocks.blocks.shufflenet import shufflenet_v2_unit
from cnnblocks.blocks.squeezenet import fire_module
from cnnblocks.blocks.vgg import vgg_block
from cnnblocks.blocks.xception import xception_module

__all__ = [
    "bottleneck_module",
    "conv_bn_act",
    "convnext_block",
    "dense_block",
    "depthwise_separable_block",
    "fire_module",
    "fused_mbconv_block",
    "grouped_bottleneck_module",
    "inception_module",
    "inception_resnet_a",
    "inception_resnet_b",
    "inception_resnet_c",
    "inception_resnet_reduction_a",
    "inception_resnet_reduction_b",
    "inception_v3_a",
    "inception_v3_b",
    "inception_v3_c",
    "inception_v3_reduction_a",
    "inception_v3_reduction_b",
    "inverted_residual_block",
    "mbconv_block",
    "mobilenet_v3_block",
    "naive_inception_module",
    "nasnet_adjust",
    "nasnet_normal_cell",
    "nasnet_reduction_cell",
    "nasnet_stem",
    "preact_bottleneck_module",
    "preact_residual_module",
    "regnet_block",
    "residual_module",
    "resolve_data_format",
    "shufflenet_v2_unit",
    "squeeze_excite",
    "transition_block",
    "vgg_block",
    "xception_module",
]

"""Optional home for `ExerciseModel` (exercise ex05_model).

The exercise can be answered in two ways, graded the same:

1. define `ExerciseModel` in the notebook's answer cell, or
2. define it here, in this file next to the notebook, and make the answer cell

       from models import ExerciseModel

If you take the second route, replace the two `raise NotImplementedError` lines below with
your code, restart the notebook's kernel after every edit of this file (Python imports a
module only once per session), and submit this file together with the notebook.
"""

import torch
from torch import nn


class ExerciseModel(nn.Module):
    """Conv2d -> BatchNorm2d -> ReLU -> Linear, giving (N, 64) for an (N, 3, 128, 128) input."""

    def __init__(self):
        super().__init__()
        # TODO: create the layers as attributes:
        #   a Conv2d with in_channels=3, out_channels=256, kernel_size=5, stride=8,
        #   a BatchNorm2d over its 256 channels, and a Linear with 64 outputs.
        raise NotImplementedError("write ExerciseModel.__init__ in models.py")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: conv -> batch norm -> ReLU -> flatten each sample -> linear.
        raise NotImplementedError("write ExerciseModel.forward in models.py")

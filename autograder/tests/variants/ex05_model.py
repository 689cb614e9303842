"""Wrong and alternative answers for ex05_model (see the package docstring)."""

from autograder.tests.variants import right, wrong

CELL = "exercise_model"


def _model(init: str, forward: str) -> str:
    """A complete `ExerciseModel` cell from the bodies of `__init__` and `forward`."""
    return (
        "class ExerciseModel(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        f"{init}\n"
        "\n"
        "    def forward(self, x):\n"
        f"{forward}\n"
    )


LAYERS = (
    "        self.conv = nn.Conv2d(3, 256, kernel_size=5, stride=8)\n"
    "        self.bn = nn.BatchNorm2d(256)\n"
    "        self.relu = nn.ReLU()\n"
    "        self.fc = nn.Linear(256 * 16 * 16, 64)"
)

_MODELS_PY = """\
import torch
from torch import nn


class ExerciseModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(in_channels=3, out_channels=256, kernel_size=5, stride=8)
        self.bn = nn.BatchNorm2d(num_features=256)
        self.act = nn.ReLU(inplace=True)
        self.out = nn.Linear(in_features=256 * 16 * 16, out_features=64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn(self.conv(x)))
        return self.out(x.reshape(x.shape[0], -1))
"""


WRONG = {
    # The slides' view example, copied with its fixed batch size: only batches of 32 work.
    "hard_coded_batch_size": wrong(
        {
            CELL: _model(
                LAYERS,
                "        x = self.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(x.view(32, -1))",
            )
        },
        {"test_any_batch_size"},
        visible=True,
    ),
    # No BatchNorm2d at all.
    "missing_batchnorm": wrong(
        {
            CELL: _model(
                "        self.conv = nn.Conv2d(3, 256, kernel_size=5, stride=8)\n"
                "        self.relu = nn.ReLU()\n"
                "        self.fc = nn.Linear(256 * 16 * 16, 64)",
                "        x = self.relu(self.conv(x))\n"
                "        return self.fc(x.view(x.size(0), -1))",
            )
        },
        {"test_layer_types", "test_layer_order"},
        visible=True,
    ),
    # Conv -> ReLU -> BatchNorm -> Linear: every layer present, wrong order.
    "relu_before_batchnorm": wrong(
        {
            CELL: _model(
                LAYERS,
                "        x = self.bn(self.relu(self.conv(x)))\n"
                "        return self.fc(x.view(x.size(0), -1))",
            )
        },
        {"test_layer_order"},
        visible=True,
    ),
    # ReLU created in __init__ but never applied.
    "relu_never_applied": wrong(
        {
            CELL: _model(
                LAYERS,
                "        x = self.bn(self.conv(x))\n        return self.fc(x.view(x.size(0), -1))",
            )
        },
        {"test_layer_order"},
        visible=True,
    ),
    # Kernel 3 instead of 5: the shapes still work out (floor(125 / 8) + 1 = 16).
    "kernel_size_3": wrong(
        {
            CELL: _model(
                "        self.conv = nn.Conv2d(3, 256, kernel_size=3, stride=8)\n"
                "        self.bn = nn.BatchNorm2d(256)\n"
                "        self.relu = nn.ReLU()\n"
                "        self.fc = nn.Linear(256 * 16 * 16, 64)",
                "        x = self.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(x.view(x.size(0), -1))",
            )
        },
        {"test_layer_types"},
        visible=True,
    ),
    # Kernel 3 with padding 1: floor((128 + 2 - 3) / 8) + 1 = 16, so the shapes still work out.
    "kernel_size_3_padding_1": wrong(
        {
            CELL: _model(
                "        self.conv = nn.Conv2d(3, 256, kernel_size=3, stride=8, padding=1)\n"
                "        self.bn = nn.BatchNorm2d(256)\n"
                "        self.fc = nn.Linear(256 * 16 * 16, 64)",
                "        x = torch.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(torch.flatten(x, 1))",
            )
        },
        {"test_layer_types"},
        visible=True,
    ),
    # Conv -> ReLU -> BatchNorm with a functional ReLU: no ReLU module for the hooks to see.
    "functional_relu_before_batchnorm": wrong(
        {
            CELL: "import torch.nn.functional as F\n\n\n"
            + _model(
                "        self.conv = nn.Conv2d(3, 256, kernel_size=5, stride=8)\n"
                "        self.bn = nn.BatchNorm2d(256)\n"
                "        self.fc = nn.Linear(256 * 16 * 16, 64)",
                "        x = self.bn(F.relu(self.conv(x)))\n        return self.fc(x.flatten(1))",
            )
        },
        {"test_layer_order"},
        visible=True,
    ),
    # The optional models.py route with kernel 3: the file is checked like the answer cell.
    "models_py_kernel_size_3": wrong(
        {CELL: "from models import ExerciseModel\n"},
        {"test_layer_types"},
        files={"models.py": _MODELS_PY.replace("kernel_size=5", "kernel_size=3")},
        visible=True,
    ),
    # Stride 4 with a Linear resized to match (31 x 31 positions): right output shape, wrong conv.
    "stride_4": wrong(
        {
            CELL: _model(
                "        self.conv = nn.Conv2d(3, 256, kernel_size=5, stride=4)\n"
                "        self.bn = nn.BatchNorm2d(256)\n"
                "        self.relu = nn.ReLU()\n"
                "        self.fc = nn.Linear(256 * 31 * 31, 64)",
                "        x = self.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(x.view(x.size(0), -1))",
            )
        },
        {"test_layer_types"},
        visible=True,
    ),
    # Old Variable-era habit: `.data` cuts the graph, so conv and BatchNorm never get gradients.
    "data_cuts_the_graph": wrong(
        {
            CELL: _model(
                LAYERS,
                "        x = self.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(x.data.view(x.size(0), -1))",
            )
        },
        {"test_backward"},
    ),
    # A flatten that mixes the samples: the right shape, but each row holds parts of all samples
    # (so identical samples no longer give identical rows).
    "flatten_mixes_samples": wrong(
        {
            CELL: _model(
                LAYERS,
                "        x = self.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(x.transpose(0, 1).reshape(x.size(0), -1))",
            )
        },
        {"test_output_shape", "test_any_batch_size", "test_layer_order"},
    ),
}

_SEQUENTIAL = """\
class ExerciseModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 256, kernel_size=(5, 5), stride=(8, 8), padding=2),
            nn.BatchNorm2d(256),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(256 * 16 * 16, 64))

    def forward(self, x):
        return self.head(self.features(x))
"""

_FUNCTIONAL = """\
import torch.nn.functional as F


class ExerciseModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 256, 5, 8, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(256)
        self.linear = nn.Linear(65536, 64)

    def forward(self, x):
        x = F.relu(self.norm(self.conv(x)))
        return self.linear(torch.flatten(x, start_dim=1))
"""


RIGHT = {
    # nn.Sequential, tuple kernel size and stride, padding=2, nn.Flatten.
    "sequential_flatten_padding_2": right({CELL: _SEQUENTIAL}),
    # F.relu inside forward, torch.flatten, padding=1, a conv without bias.
    "functional_relu_torch_flatten": right({CELL: _FUNCTIONAL}),
    # The slides' optional route: the class lives in models.py (with an in-place ReLU and
    # reshape), the answer cell only imports it.
    "models_py_import": right(
        {CELL: "from models import ExerciseModel\n"}, files={"models.py": _MODELS_PY}
    ),
    # Channels-last flatten: each sample is still one vector, its features in another order.
    "channels_last_flatten": right(
        {
            CELL: _model(
                LAYERS,
                "        x = self.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(x.permute(0, 2, 3, 1).reshape(x.size(0), -1))",
            )
        }
    ),
    # Height-first flatten with an in-place ReLU and a conv without bias.
    "height_first_flatten_inplace_relu": right(
        {
            CELL: _model(
                "        self.conv = nn.Conv2d(3, 256, kernel_size=5, stride=8, bias=False)\n"
                "        self.bn = nn.BatchNorm2d(256)\n"
                "        self.relu = nn.ReLU(inplace=True)\n"
                "        self.fc = nn.Linear(256 * 16 * 16, 64)",
                "        x = self.relu(self.bn(self.conv(x)))\n"
                "        return self.fc(x.permute(0, 2, 1, 3).flatten(1))",
            )
        }
    ),
}

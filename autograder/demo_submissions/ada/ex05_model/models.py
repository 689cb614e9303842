"""ExerciseModel, imported by the notebook."""

from torch import nn


class ExerciseModel(nn.Module):
    """Conv2d(3->256, k=5, s=8) -> BatchNorm2d(256) -> ReLU -> Linear(256*16*16 -> 64)."""

    def __init__(self):
        super().__init__()
        # 128 pixels, kernel 5, stride 8, no padding: floor(123 / 8) + 1 = 16 positions a side.
        self.conv = nn.Conv2d(in_channels=3, out_channels=256, kernel_size=5, stride=8)
        self.bn = nn.BatchNorm2d(num_features=256)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(in_features=256 * 16 * 16, out_features=64)

    def forward(self, x):
        x = self.relu(self.bn(self.conv(x)))
        # One row per sample, whatever the batch size: (N, 256, 16, 16) -> (N, 65536).
        x = x.view(x.size(0), -1)
        return self.fc(x)

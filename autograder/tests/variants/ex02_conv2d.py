"""Wrong and alternative answers for ex02_conv2d (see this package's docstring)."""

from autograder.tests.variants import right, wrong

WRONG = {
    # The slides' (Batchsize, channel, width, height) read as channels last.
    "x_channels_last": wrong(
        {"make_x": "x = torch.ones(32, 128, 128, 3)\n"},
        {"test_x", "test_conv1", "test_conv2", "test_conv3", "test_conv4"},
    ),
    "x_other_int64": wrong(
        {"make_x_other": "x_other = torch.ones(32, 3, 128, 128, dtype=torch.int64)\n"},
        {"test_x_other"},
    ),
    "x_other_is_x": wrong(
        {"make_x_other": "x_other = x\n"},
        {"test_x_other"},
    ),
    "conv2_no_padding": wrong(
        {"conv2": "conv2 = nn.Conv2d(3, 256, 3, stride=2)\nout2 = conv2(x)\n"},
        {"test_conv2"},
    ),
    # Reaches the right shape with the wrong kernel size.
    "conv3_kernel_3": wrong(
        {"conv3": "conv3 = nn.Conv2d(3, 64, 3)\nout3 = conv3(x)\n"},
        {"test_conv3"},
    ),
    "conv3_no_padding": wrong(
        {"conv3": "conv3 = nn.Conv2d(3, 64, 5)\nout3 = conv3(x)\n"},
        {"test_conv3"},
    ),
    "conv4_padding_1": wrong(
        {"conv4": "conv4 = nn.Conv2d(3, 256, 5, stride=2, padding=1)\nout4 = conv4(x)\n"},
        {"test_conv4"},
    ),
    # The slides' formula: no dilation.
    "output_size_no_dilation": wrong(
        {
            "conv_output_size": """
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - kernel_size) // stride + 1
""",
        },
        {"test_conv_output_size_general"},
    ),
    # The slides' formula taken literally: true division, no floor, a float result.
    "output_size_true_division": wrong(
        {
            "conv_output_size": """
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1
""",
        },
        {"test_conv_output_size_exercise", "test_conv_output_size_general"},
    ),
    "output_size_round": wrong(
        {
            "conv_output_size": """
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return round((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1
""",
        },
        {"test_conv_output_size_exercise", "test_conv_output_size_general"},
    ),
}

RIGHT = {
    "tuples_ones_like_math_floor": right(
        {
            "make_x": "x = torch.ones((32, 3, 128, 128))\n",
            "make_x_other": "x_other = torch.ones_like(x)\n",
            "conv1": """
conv1 = nn.Conv2d(3, 64, kernel_size=(3, 3), padding="valid")
out1 = conv1(x)
""",
            "conv2": """
conv2 = nn.Conv2d(3, 256, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
out2 = conv2(x)
""",
            "conv3": """
conv3 = nn.Conv2d(3, 64, kernel_size=(5, 5), padding=(1, 1))
out3 = conv3(x)
""",
            "conv4": """
conv4 = nn.Conv2d(3, 256, kernel_size=(5, 5), stride=(2, 2), padding=(2, 2))
out4 = conv4(x)
""",
            "conv_output_size": """
import math


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return math.floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1
""",
        }
    ),
    "keywords_fill_device_int": right(
        {
            "make_x": "x = torch.ones(32, 3, 128, 128, device=DEVICE)\n",
            "make_x_other": "x_other = torch.empty(32, 3, 128, 128, device=DEVICE).fill_(1.0)\n",
            "conv1": """
conv1 = nn.Conv2d(in_channels=3, out_channels=64, kernel_size=3).to(DEVICE)
out1 = conv1(x)
""",
            "conv2": """
conv2 = nn.Conv2d(in_channels=3, out_channels=256, kernel_size=3, stride=2, padding=1)
out2 = conv2.to(DEVICE)(x)
""",
            "conv3": """
conv3 = nn.Conv2d(3, 64, 5, 1, 1).to(DEVICE)
with torch.no_grad():
    out3 = conv3(x)
""",
            "conv4": """
conv4 = nn.Conv2d(3, 256, 5, 2, 2).to(DEVICE)
out4 = conv4(x)
""",
            "conv_output_size": """
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    effective_kernel = dilation * (kernel_size - 1) + 1
    return int((size + 2 * padding - effective_kernel) / stride) + 1
""",
        }
    ),
    "zeros_plus_one": right(
        {"make_x_other": "x_other = torch.zeros(32, 3, 128, 128) + 1\n"},
    ),
}

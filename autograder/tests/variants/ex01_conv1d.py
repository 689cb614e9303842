"""Wrong and alternative answers for ex01_conv1d (see this package's docstring)."""

from autograder.tests.variants import right, wrong

WRONG = {
    # Channels last: (batch, length, channels) instead of (batch, channels, length).
    "x_channels_last": wrong(
        {
            "conv_x_y": """
conv = nn.Conv1d(2, 3, 5)
x = torch.rand(4, 6, 2)
y = conv(x)
""",
        },
        {"test_conv_x_y", "test_by_hand_elements", "test_conv1d_by_hand_example"},
    ),
    "by_hand_without_bias": wrong(
        {
            "by_hand_elements": """
y000_by_hand = sum(torch.dot(x[0, c, 0:5], conv.weight[0, c]) for c in range(2))
y001_by_hand = sum(torch.dot(x[0, c, 1:6], conv.weight[0, c]) for c in range(2))
""",
        },
        {"test_by_hand_elements"},
    ),
    # Off by one: L - K output positions instead of L - K + 1.
    "by_hand_off_by_one": wrong(
        {
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    k = weight.shape[2]
    outs = []
    for t in range(x.shape[2] - k):
        outs.append(torch.einsum("nck,ock->no", x[:, :, t : t + k], weight))
    return torch.stack(outs, dim=2) + bias[None, :, None]
""",
        },
        {
            "test_conv1d_by_hand_example",
            "test_conv1d_by_hand_random",
            "test_conv1d_by_hand_no_conv",
        },
    ),
    "by_hand_forgets_bias": wrong(
        {
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    k = weight.shape[2]
    windows = x.unfold(2, k, 1)  # (N, C_in, L - K + 1, K)
    return torch.einsum("nctk,ock->not", windows, weight)
""",
        },
        {"test_conv1d_by_hand_example", "test_conv1d_by_hand_random"},
    ),
    # Textbook convolution: flips the kernel, which PyTorch does not do.
    "by_hand_flipped_kernel": wrong(
        {
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    k = weight.shape[2]
    windows = x.unfold(2, k, 1)
    return torch.einsum("nctk,ock->not", windows, weight.flip(-1)) + bias[None, :, None]
""",
        },
        {"test_conv1d_by_hand_example", "test_conv1d_by_hand_random"},
    ),
    "by_hand_calls_f_conv1d": wrong(
        {
            "conv1d_by_hand": """
from torch.nn.functional import conv1d


def conv1d_by_hand(x, weight, bias):
    return conv1d(x, weight, bias)
""",
        },
        {"test_conv1d_by_hand_no_conv"},
    ),
    "by_hand_uses_nn_conv1d": wrong(
        {
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    layer = nn.Conv1d(weight.shape[1], weight.shape[0], weight.shape[2]).to(x.device)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
        return layer(x)
""",
        },
        {"test_conv1d_by_hand_no_conv"},
    ),
    # Right shape, wrong values: tokens and embedding numbers get mixed.
    "text_reshape_instead_of_permute": wrong(
        {
            "text_conv": """
text = torch.randn(32, 35, 256)
conv_text = nn.Conv1d(256, 100, 2)
out_text = conv_text(text.reshape(32, 256, 35))
""",
        },
        {"test_text_conv_values"},
    ),
    # No permute: treats the 35 tokens as channels and slides over the embedding.
    "text_tokens_as_channels": wrong(
        {
            "text_conv": """
text = torch.randn(32, 35, 256)
conv_text = nn.Conv1d(35, 100, 2)
out_text = conv_text(text)
""",
        },
        {"test_text_conv_shapes", "test_text_conv_values"},
    ),
    "same_padding_one": wrong(
        {"conv_same": "conv_same = nn.Conv1d(2, 3, 5, padding=1)\n"},
        {"test_conv_same"},
    ),
    "same_padding_k_minus_one": wrong(
        {"conv_same": "conv_same = nn.Conv1d(2, 3, 5, padding=4)\n"},
        {"test_conv_same"},
    ),
    "same_reflect_padding": wrong(
        {"conv_same": 'conv_same = nn.Conv1d(2, 3, 5, padding=2, padding_mode="reflect")\n'},
        {"test_conv_same"},
    ),
    # Rule breakers (the grader reads the submitted code): right values, not computed by hand.
    "by_hand_read_from_y": wrong(
        {"by_hand_elements": "y000_by_hand = y[0, 0, 0]\ny001_by_hand = y[0, 0, 1]\n"},
        {"test_by_hand_elements"},
    ),
    "by_hand_item_of_layer_output": wrong(
        {
            "by_hand_elements": (
                "y000_by_hand = conv(x)[0, 0, 0].item()\ny001_by_hand = y[0, 0, 1].item()\n"
            )
        },
        {"test_by_hand_elements"},
    ),
    "by_hand_copied_into_a_fresh_tensor": wrong(
        {
            "by_hand_elements": """
seen = y.detach().clone()
y000_by_hand = torch.zeros(())
y000_by_hand.copy_(seen[0, 0, 0])
y001_by_hand = float(seen[0, 0, 1])
""",
        },
        {"test_by_hand_elements"},
    ),
    # conv1d_by_hand through an alias made in another statement, or a name built at run time.
    "conv1d_by_hand_alias": wrong(
        {
            "conv1d_by_hand": """
_kernel = torch.nn.functional.conv1d


def conv1d_by_hand(x, weight, bias):
    return _kernel(x, weight, bias)
""",
        },
        {"test_conv1d_by_hand_no_conv"},
    ),
    "conv1d_by_hand_getattr": wrong(
        {
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    return getattr(F, "con" + "v1d")(x, weight, bias)
""",
        },
        {"test_conv1d_by_hand_no_conv"},
    ),
    "conv1d_by_hand_aten": wrong(
        {
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    return torch.ops.aten.convolution(x, weight, bias, [1], [0], [1], False, [0], 1)
""",
        },
        {"test_conv1d_by_hand_no_conv"},
    ),
}

RIGHT = {
    "einsum_unfold_transpose_same": right(
        {
            "conv_x_y": """
conv = nn.Conv1d(in_channels=2, out_channels=3, kernel_size=5)
x = torch.randn(4, 2, 6)
y = conv(x)
""",
            "by_hand_elements": """
y000_by_hand = (x[0, :, 0:5] * conv.weight[0]).sum() + conv.bias[0]
y001_by_hand = torch.einsum("ck,ck->", x[0, :, 1:6], conv.weight[0]) + conv.bias[0]
""",
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    windows = x.unfold(2, weight.shape[-1], 1)  # (N, C_in, L - K + 1, K)
    return torch.einsum("nctk,ock->not", windows, weight) + bias[:, None]
""",
            "text_conv": """
text = torch.rand(32, 35, 256)
conv_text = nn.Conv1d(256, 100, kernel_size=2)
out_text = conv_text(text.transpose(1, 2))
""",
            "conv_same": 'conv_same = nn.Conv1d(2, 3, 5, padding="same")\n',
        }
    ),
    "loops_floats_tuples": right(
        {
            "by_hand_elements": """
def output_element(n, o, t):
    total = 0.0
    for c in range(conv.in_channels):
        total += torch.dot(x[n, c, t : t + 5], conv.weight[o, c]).item()
    return total + conv.bias[o].item()


y000_by_hand = output_element(0, 0, 0)
y001_by_hand = output_element(0, 0, 1)
""",
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    n, c_in, length = x.shape
    c_out, _, k = weight.shape
    out = torch.zeros(n, c_out, length - k + 1, device=x.device, dtype=x.dtype)
    for i in range(n):
        for o in range(c_out):
            for t in range(length - k + 1):
                out[i, o, t] = (x[i, :, t : t + k] * weight[o]).sum() + bias[o]
    return out
""",
            "text_conv": """
text = torch.randn((32, 35, 256))
conv_text = nn.Conv1d(256, 100, (2,))
out_text = conv_text(text.movedim(2, 1).contiguous())
""",
            "conv_same": "conv_same = nn.Conv1d(2, 3, kernel_size=(5,), padding=(2,))\n",
        }
    ),
    # Correct, but torch.tensor(tensor) raises a UserWarning inside the test cells.
    "warns_but_correct": right(
        {
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    bias = torch.tensor(bias, dtype=x.dtype, device=x.device)
    k = weight.shape[-1]
    positions = range(x.shape[-1] - k + 1)
    dims = ([1, 2], [1, 2])
    out = torch.stack([torch.tensordot(x[:, :, t : t + k], weight, dims) for t in positions], -1)
    return out + bias[:, None]
""",
        }
    ),
    # A helper with a local variable named y (not the layer's output), and F.unfold (im2col).
    "by_hand_helper_local_y_unfold": right(
        {
            "by_hand_elements": """
def by_hand(t):
    y = conv.bias[0]  # a local name: the sum being built, not the layer's output
    for c in range(2):
        y = y + torch.dot(x[0, c, t : t + 5], conv.weight[0, c])
    return y


y000_by_hand, y001_by_hand = by_hand(0), by_hand(1)
""",
            "conv1d_by_hand": """
def conv1d_by_hand(x, weight, bias):
    k = weight.shape[2]
    columns = F.unfold(x.unsqueeze(2), (1, k))  # (N, C_in * K, L - K + 1)
    kernels = weight.reshape(weight.shape[0], -1)
    return torch.einsum("ok,nkt->not", kernels, columns) + bias[:, None]
""",
        }
    ),
}

"""rules.py on sneaky sources: every spelling of a forbidden thing is found, honest code passes."""

import pytest

from autograder.engine import rules

# ex06: NumPy only.
NUMPY_OK = """
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def im2col(x, filter_h, filter_w, stride=1, pad=0):
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(padded, (filter_h, filter_w), axis=(2, 3)).copy()
    return windows[:, :, ::stride, ::stride].reshape(-1, math.prod(windows.shape[-2:]))


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self._W, self.b = W, b
        self.col = np.array(W).trace()

%timeit im2col(np.ones((1, 1, 3, 3)), 2, 2)
np.testing.assert_allclose(np.random.rand(3).copy(), np.select([True], [1]))
"""

NOT_NUMPY = {
    "import torch": "import torch",
    "from torch": "from torch.nn import functional",
    "dunder import": 't = __import__("tor" + "ch")',
    "importlib": 'import importlib\nt = importlib.import_module("torch")',
    "sys.modules": 'import sys\nt = sys.modules["torch"]',
    "numpy's own sys": 't = np._core.numeric.sys.modules["torch"]',
    "public path to sys": "t = np.lib.npyio.os",
    "module dict": 't = np.__dict__["lib"]',
    "globals": 't = globals()["__builtins__"]',
    "builtins name": "t = __builtins__",
    "getattr": 't = getattr(np, "tor" + "ch")',
    "eval": 'eval("1 + 1")',
    "exec": 'exec("import torch")',
    "compile": 'compile("1", "f", "eval")',
    "vars": "vars(np)",
    "open": 'open("x.py", "w")',
    "breakpoint": "breakpoint()",
    "star import": "from numpy import *",
    "relative import": "from . import helpers",
    "setup's F": "F.unfold(x, 2)",
    "name torch": "torch.ones(1)",
    "frame": "t = (i for i in []).gi_frame.f_builtins",
    "pickle load": 'np.load("evil.npy", allow_pickle=True)',
    "format.read_array": "from numpy.lib import format\nformat.read_array(f, allow_pickle=True)",
    "ctypes": "np.ctypeslib.load_library('x', '.')",
    "f2py": "import numpy.f2py",
    "match class pattern": "match np:\n    case object(__dict__=d):\n        pass",
    "private module": "np._core.multiarray",
    "unparseable": "def f(:",
}


def test_numpy_only_accepts_plain_numpy():
    assert rules.numpy_only(NUMPY_OK) == []


@pytest.mark.parametrize("source", NOT_NUMPY.values(), ids=NOT_NUMPY.keys())
def test_numpy_only_finds_every_route_to_torch(source):
    assert rules.numpy_only(source), source


# ex04: no built-in ReLU or normalisation.
WORDS = (
    "relu",
    "threshold",
    "hardtanh",
    "batch_norm",
    "instance_norm",
    "layer_norm",
    "group_norm",
    "rms_norm",
)
TENSOR_OPS_OK = """
import math


def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x)) + 0 * x.clamp(min=0) * x.clamp_min(0)


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum=0.1, eps=1e-5):
    y = relu(x) * torch.maximum(x, x)
    var, mean = torch.var_mean(x, dim=0, correction=0)
    running_mean.lerp_(mean, momentum)
    return (x - mean) * torch.rsqrt(var + eps) / math.sqrt(1.0)
"""

BUILT_INS = {
    "F.relu": "F.relu(x)",
    "alias": "_r = torch.relu\nrelu = lambda x: _r(x)",
    "relu_ on a clone": "x.clone().relu_()",
    "F.relu_": "F.relu_(x)",
    "imported name": "from torch.nn.functional import relu as r",
    "threshold": "torch.threshold(x, 0.0, 0.0)",
    "threshold_": "F.threshold_(x, 0.0, 0.0)",
    "hardtanh": "F.hardtanh(x, 0.0, 1e30)",
    "leaky_relu": "F.leaky_relu(x, 0.0)",
    "prelu": "F.prelu(x, w)",
    "nn.ReLU": "nn.ReLU()(x)",
    "native_batch_norm": "torch.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)",
    "private legit": "torch._native_batch_norm_legit(x)",
    "F.batch_norm": "F.batch_norm(x, None, None, training=True)",
    "nn.BatchNorm2d": "nn.BatchNorm2d(3)",
    "layer_norm": "F.layer_norm(x, (3,))",
    "group_norm": "F.group_norm(x, 3)",
    "instance_norm": "F.instance_norm(x)",
    "aten op": "torch.ops.aten.relu(x)",
    "aten by string": 'torch.ops.aten.__getattr__("re" + "lu")(x)',
    "getattr": 'getattr(torch, "re" + "lu")(x)',
    "module dict": 'F.__dict__["re" + "lu"](x)',
    "vars": 'vars(F)["re" + "lu"](x)',
    "sys through torch": 'torch.sys.modules["torch.nn.functional"]',
    "operator": 'import operator\noperator.attrgetter("re" + "lu")(torch)(x)',
    "star import": "from torch.nn.functional import *",
    "torchscript": 'torch.jit.CompilationUnit("def f(x):\\n    return x")',
    "quantized fused module": "torch.ao.nn.intrinsic.BNReLU2d",
    "torch.load": 'torch.load("f", weights_only=False)',
    "eval": 'eval("torch.re" + "lu")(x)',
}


def test_avoids_accepts_tensor_operations():
    assert rules.avoids(TENSOR_OPS_OK, WORDS) == []


@pytest.mark.parametrize("source", BUILT_INS.values(), ids=BUILT_INS.keys())
def test_avoids_finds_every_spelling(source):
    assert rules.avoids(source, WORDS), source


# ex01: what conv1d_by_hand reaches.
EX01 = """
conv = nn.Conv1d(2, 3, 5)
x = torch.rand(4, 2, 6)
y = conv(x)
w, b = conv.weight, conv.bias
"""
BY_HAND_FUNCTION_OK = """
def _windows(x, k):
    return x.unfold(2, k, 1)


def conv1d_by_hand(x, weight, bias):
    w = weight.reshape(weight.shape[0], -1)  # a local w, not the module's
    cols = torch.stack([x[:, :, t : t + weight.shape[2]].reshape(len(x), -1) for t in range(3)])
    return torch.einsum("nctk,ock->not", _windows(x, weight.shape[2]), weight) + bias[:, None]
"""
CONV_FUNCTIONS = {
    "direct": "def conv1d_by_hand(x, w, b):\n    return F.conv1d(x, w, b)",
    "alias": "_c = torch.conv1d\ndef conv1d_by_hand(x, w, b):\n    return _c(x, w, b)",
    "helper": (
        "def helper(a, w, b):\n    return torch.nn.functional.conv2d(a, w, b)\n"
        "def conv1d_by_hand(x, w, b):\n    return helper(x, w, b)"
    ),
    "the layer": "def conv1d_by_hand(x, w, b):\n    return conv(x)",
    "imported": "from torch.nn.functional import conv1d as c\ndef conv1d_by_hand(x, w, b):\n"
    "    return c(x, w, b)",
    "getattr": 'def conv1d_by_hand(x, w, b):\n    return getattr(F, "con" + "v1d")(x, w, b)',
    "aten": "def conv1d_by_hand(x, w, b):\n    return torch.ops.aten.convolution(x, w, b)",
    "lambda": "conv1d_by_hand = lambda x, w, b: torch.convolution(x, w, b)",
}


def test_function_avoids_accepts_a_function_from_dot_products():
    assert rules.function_avoids(EX01 + BY_HAND_FUNCTION_OK, "conv1d_by_hand", ["conv"]) == []


@pytest.mark.parametrize("source", CONV_FUNCTIONS.values(), ids=CONV_FUNCTIONS.keys())
def test_function_avoids_follows_helpers_and_aliases(source):
    assert rules.function_avoids(EX01 + source, "conv1d_by_hand", ["conv"]), source


# ex01: the by-hand numbers.
BY_HAND = dict(
    names=["y"],
    words=["conv"],
    keep=["conv1d_by_hand"],
    through=[
        *("weight", "bias", "parameters", "named_parameters", "state_dict"),
        *("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation"),
    ],
)
TARGETS = ["y000_by_hand", "y001_by_hand"]
BY_HAND_OK = {
    "dot products": "y000_by_hand = torch.dot(x[0, 0, 0:5], w[0, 0]) + b[0]\n"
    "y001_by_hand = (x[0, :, 1:6] * conv.weight[0]).sum() + conv.bias[0]",
    "helper with a local y": "def f(t):\n    y = 0.0\n    y = y + (x[0, :, t:t+5] * w[0]).sum()\n"
    "    return y + b[0]\ny000_by_hand, y001_by_hand = f(0), f(1)",
    "getattr elsewhere": 'def helper(m):\n    return getattr(m, "weight")\n'
    "y000_by_hand = (x[0, :, 0:5] * w[0]).sum() + b[0]",
    "layer's sizes": "y000_by_hand = sum((x[0, c, :5] * w[0, c]).sum() for c in range(conv.in_channels))",
    "overwritten later": "y000_by_hand = y[0, 0, 0]\ny000_by_hand = (x[0, :, 0:5] * w[0]).sum() + b[0]",
}
FROM_THE_LAYER = {
    "read from y": "y000_by_hand = y[0, 0, 0]",
    "item": "y000_by_hand = y[0, 0, 0].item()",
    "layer call": "y000_by_hand = conv(x)[0, 0, 0]",
    "forward": "y000_by_hand = conv.forward(x)[0, 0, 0]",
    "alias": "h = y.detach().clone()\ny000_by_hand = float(h[0, 0, 0])",
    "layer alias": "layer = conv\ny000_by_hand = layer(x)[0, 0, 0]",
    "F.conv1d": "y000_by_hand = F.conv1d(x, conv.weight, conv.bias)[0, 0, 0]",
    "in place": "y000_by_hand = torch.zeros(())\ny000_by_hand.copy_(y[0, 0, 0])",
    "function": "def f():\n    return y[0, 0, 0]\ny000_by_hand = f()",
    "global": "def g():\n    global y000_by_hand\n    y000_by_hand = y[0, 0, 0]\ng()",
    "loop": "for v in y[0, 0]:\n    y000_by_hand = v",
    "walrus": "print(y000_by_hand := y[0, 0, 0])",
    "globals": 'y000_by_hand = globals()["y"][0, 0, 0]',
    "exec": 'exec("y000_by_hand = y[0, 0, 0]")',
    "module attribute": "import __main__\n__main__.y000_by_hand = y[0, 0, 0]",
    "getattr": 'y000_by_hand = getattr(conv, "for" + "ward")(x)[0, 0, 0]',
    "imported conv": "from torch.nn.functional import conv1d as c\ny000_by_hand = c(x, w, b)[0, 0, 0]",
}


@pytest.mark.parametrize("source", BY_HAND_OK.values(), ids=BY_HAND_OK.keys())
def test_not_from_accepts_values_computed_by_hand(source):
    assert rules.not_from(EX01 + source, TARGETS, **BY_HAND) == []


@pytest.mark.parametrize("source", FROM_THE_LAYER.values(), ids=FROM_THE_LAYER.keys())
def test_not_from_finds_values_taken_from_the_layer(source):
    assert rules.not_from(EX01 + source, TARGETS, **BY_HAND), source


# ex03: out3 rearranges out1.
EX03 = "x = torch.randn(32, 1024)\nfc1 = nn.Linear(1024, 256)\nout1 = fc1(x)\n"
OUT3 = dict(words=["fc", "linear"], matmul=True, barrier=["out1"])


@pytest.mark.parametrize(
    "source",
    ["out3 = out1.reshape(32, 16, 16)", "v = out1\nout3 = v.unflatten(1, (16, 16))"],
)
def test_not_from_accepts_a_rearranged_output(source):
    assert rules.not_from(EX03 + source, ["out3"], **OUT3) == []


@pytest.mark.parametrize(
    "source",
    [
        "out3 = fc1(x).reshape(32, 16, 16)",
        "out3 = (x @ fc1.weight.T + fc1.bias).view(32, 16, 16)",
        "out3 = F.linear(x, fc1.weight, fc1.bias).view(32, 16, 16)",
    ],
)
def test_not_from_finds_a_recomputed_output(source):
    assert rules.not_from(EX03 + source, ["out3"], **OUT3), source


def test_messages_quote_the_offending_line():
    (problem,) = rules.numpy_only("import numpy as np\nimport torch\n")
    assert "`import torch`" in problem
    assert rules.first(["a", "b", "c", "d"], 2) == "a; b; and 2 more"


def test_harmless_dunders_keep_a_correct_answer_its_points():
    """Naming or initialising things is not a way around a rule; reaching namespaces is."""
    from autograder.engine import rules

    ordinary = (
        "import numpy as np\n"
        "class Convolution:\n"
        "    def __init__(self, W):\n"
        "        super().__init__()\n"
        "        self.W = W\n"
        "try:\n"
        "    np.zeros(1)\n"
        "except Exception as err:\n"
        "    print(type(err).__name__, Convolution.__qualname__)\n"
    )
    assert rules.numpy_only(ordinary) == []
    assert rules.not_from(ordinary + "out3 = 1\n", ["out3"], words=["fc"]) == []
    for sneaky in ("x = np.__dict__", "x = err.__class__.__subclasses__()", "x = __builtins__"):
        assert rules.numpy_only(ordinary + sneaky + "\n"), sneaky

"""Wrong and alternative answers for ex06_conv_from_scratch (see the package docstring)."""

from autograder.tests.variants import right, wrong

# col2im with `=` where overlapping windows must be added with `+=`.
_COL2IM_OVERWRITES = """\
def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = input_shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    windows = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for kh in range(filter_h):
        for kw in range(filter_w):
            padded[:, :, kh : kh + stride * out_h : stride, kw : kw + stride * out_w : stride] = (
                windows[:, :, kh, kw]
            )
    return padded[:, :, pad : pad + h, pad : pad + w]
"""

# col2im that strips the padding with negative indices: pad=0 gives an empty array.
_COL2IM_NEGATIVE_PAD = """\
def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = input_shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    windows = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for kh in range(filter_h):
        for kw in range(filter_w):
            padded[:, :, kh : kh + stride * out_h : stride, kw : kw + stride * out_w : stride] += (
                windows[:, :, kh, kw]
            )
    return padded[:, :, pad:-pad, pad:-pad]
"""

# im2col whose columns run (kh, kw, c): channels last, not the (c, kh, kw) of W.reshape(FN, -1).
_IM2COL_CHANNELS_LAST = """\
def im2col(x, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = x.shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.empty((n, c, filter_h, filter_w, out_h, out_w))
    for kh in range(filter_h):
        for kw in range(filter_w):
            windows[:, :, kh, kw] = padded[
                :, :, kh : kh + stride * out_h : stride, kw : kw + stride * out_w : stride
            ]
    return windows.transpose(0, 4, 5, 2, 3, 1).reshape(n * out_h * out_w, -1)
"""


def _convolution(db_line: str, store: str = "self.W_col = W_col", load: str = "self.W_col") -> str:
    return f"""\
class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W = W
        self.b = b
        self.stride = stride
        self.pad = pad
        self.x = None
        self.col = None
        self.W_col = None
        self.dW = None
        self.db = None

    def forward(self, x):
        fn, c, fh, fw = self.W.shape
        n, c, h, w = x.shape
        out_h = (h + 2 * self.pad - fh) // self.stride + 1
        out_w = (w + 2 * self.pad - fw) // self.stride + 1
        col = im2col(x, fh, fw, self.stride, self.pad)
        W_col = self.W.reshape(fn, -1).T
        out = col @ W_col + self.b
        self.x = x
        self.col = col
        {store}
        return out.reshape(n, out_h, out_w, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        fn, c, fh, fw = self.W.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        {db_line}
        self.dW = (self.col.T @ d).T.reshape(fn, c, fh, fw)
        dcol = d @ {load}.T
        return col2im(dcol, self.x.shape, fh, fw, self.stride, self.pad)
"""


# Right values through PyTorch: F.unfold, F.fold and autograd (the task says NumPy only).
_TORCH_IM2COL = """\
import torch
import torch.nn.functional as F


def im2col(x, filter_h, filter_w, stride=1, pad=0):
    cols = F.unfold(torch.from_numpy(x), (filter_h, filter_w), stride=stride, padding=pad)
    return cols.transpose(1, 2).reshape(-1, cols.shape[1]).numpy()
"""

_TORCH_COL2IM = """\
def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = input_shape
    cols = torch.from_numpy(col).reshape(n, -1, c * filter_h * filter_w).transpose(1, 2)
    return F.fold(cols, (h, w), (filter_h, filter_w), stride=stride, padding=pad).numpy()
"""


def _autograd_convolution(prelude: str, torch_name: str) -> str:
    """A Convolution whose forward is conv2d and backward autograd, reaching torch as given."""
    t = torch_name
    return f"""\
{prelude}


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        self.xt = {t}.from_numpy(x).requires_grad_()
        self.Wt = {t}.from_numpy(self.W).requires_grad_()
        self.bt = {t}.from_numpy(self.b).requires_grad_()
        self.y = {t}.nn.functional.conv2d(
            self.xt, self.Wt, self.bt, stride=self.stride, padding=self.pad
        )
        return self.y.detach().numpy()

    def backward(self, dout):
        self.y.backward({t}.from_numpy(dout))
        self.dW, self.db = self.Wt.grad.numpy(), self.bt.grad.numpy()
        return self.xt.grad.numpy()
"""


_EVERY_TEST = {
    "test_im2col",
    "test_col2im",
    "test_forward",
    "test_backward_dx",
    "test_backward_dW_db",
}

WRONG = {
    "col2im_overwrites_overlaps": wrong(
        {"col2im": _COL2IM_OVERWRITES}, {"test_col2im", "test_backward_dx"}
    ),
    "col2im_negative_pad_slice": wrong(
        {"col2im": _COL2IM_NEGATIVE_PAD}, {"test_col2im", "test_backward_dx"}
    ),
    # dx never uses im2col, so only the forward pass and dW (col.T @ d) go wrong.
    "im2col_channels_last": wrong(
        {"im2col": _IM2COL_CHANNELS_LAST},
        {"test_im2col", "test_forward", "test_backward_dW_db"},
    ),
    # db summed over the output positions but not over the batch: shape (N, FN).
    "db_not_summed_over_batch": wrong(
        {"convolution": _convolution("self.db = dout.sum(axis=(2, 3))")},
        {"test_backward_dW_db"},
    ),
    # Document 003's typo: forward stores self.col_w, backward reads self.col_W (never set).
    "seed_col_w_typo": wrong(
        {
            "convolution": _convolution(
                "self.db = d.sum(axis=0)", "self.col_w = W_col", "self.col_W"
            )
        },
        {"test_backward_dx", "test_backward_dW_db"},
    ),
    # Rule breakers: right values, but not NumPy only. Torch anywhere in the code costs every test.
    "unfold_fold_autograd": wrong(
        {
            "im2col": _TORCH_IM2COL,
            "col2im": _TORCH_COL2IM,
            "convolution": _autograd_convolution("", "torch"),
        },
        _EVERY_TEST,
    ),
    "dunder_import_string": wrong(
        {"convolution": _autograd_convolution('_t = __import__("tor" + "ch")', "_t")},
        _EVERY_TEST,
    ),
    "importlib_getattr": wrong(
        {
            "convolution": _autograd_convolution(
                'import importlib\n\n_t = getattr(importlib, "import_module")("torch")', "_t"
            )
        },
        _EVERY_TEST,
    ),
    "sys_modules_through_numpy": wrong(
        {"convolution": _autograd_convolution('_t = np._core.numeric.sys.modules["torch"]', "_t")},
        _EVERY_TEST,
    ),
    "module_attribute_through_numpy": wrong(
        {
            "convolution": _autograd_convolution(
                '_t = np.matrixlib.defmatrix.ast.literal_eval.__globals__["sys"].modules["torch"]',
                "_t",
            )
        },
        _EVERY_TEST,
    ),
}

_IM2COL_WINDOWS = """\
from numpy.lib.stride_tricks import sliding_window_view


def im2col(x, filter_h, filter_w, stride=1, pad=0):
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # (N, C, H', W', FH, FW) views of every window, then keep every stride-th one.
    windows = sliding_window_view(padded, (filter_h, filter_w), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    n, c, out_h, out_w = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * out_h * out_w, c * filter_h * filter_w)
"""

_IM2COL_LOOPS = """\
def im2col(x, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = x.shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    rows = []
    for i in range(n):
        for oy in range(out_h):
            for ox in range(out_w):
                top, left = oy * stride, ox * stride
                rows.append(padded[i, :, top : top + filter_h, left : left + filter_w].ravel())
    return np.stack(rows)
"""

_COL2IM_LOOPS = """\
def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = input_shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    r = 0
    for i in range(n):
        for oy in range(out_h):
            for ox in range(out_w):
                top, left = oy * stride, ox * stride
                img[i, :, top : top + filter_h, left : left + filter_w] += col[r].reshape(
                    c, filter_h, filter_w
                )
                r += 1
    return img[:, :, pad : h + pad, pad : w + pad]
"""

_CONV_EINSUM = """\
class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.dW = self.db = None

    def forward(self, x):
        fn, c, fh, fw = self.W.shape
        n, _, h, w = x.shape
        self.out_hw = ((h + 2 * self.pad - fh) // self.stride + 1,
                       (w + 2 * self.pad - fw) // self.stride + 1)
        self.in_shape = x.shape
        self.col = im2col(x, fh, fw, stride=self.stride, pad=self.pad)
        out = np.einsum("pk,fk->pf", self.col, self.W.reshape(fn, -1)) + self.b
        return np.moveaxis(out.reshape(n, *self.out_hw, fn), 3, 1)

    def backward(self, dout):
        fn, c, fh, fw = self.W.shape
        self.db = dout.sum(axis=(0, 2, 3))
        d = np.moveaxis(dout, 1, 3).reshape(-1, fn)
        self.dW = np.einsum("pf,pk->fk", d, self.col).reshape(self.W.shape)
        dcol = np.einsum("pf,fk->pk", d, self.W.reshape(fn, -1))
        return col2im(dcol, self.in_shape, fh, fw, stride=self.stride, pad=self.pad)
"""

RIGHT = {
    "sliding_window_view_im2col": right({"im2col": _IM2COL_WINDOWS}),
    # Private attributes on self, math, and numpy submodules imported by name.
    "private_self_attributes_math": right(
        {
            "im2col": "import math\n\nfrom numpy.lib import stride_tricks\n\n\n"
            + _IM2COL_WINDOWS.replace(
                "from numpy.lib.stride_tricks import sliding_window_view\n\n\n", ""
            ).replace("sliding_window_view(", "stride_tricks.sliding_window_view("),
            "convolution": _CONV_EINSUM.replace("self.col", "self._col").replace(
                "self.in_shape", "self._in_shape"
            ),
        }
    ),
    "loops_and_einsum": right(
        {"im2col": _IM2COL_LOOPS, "col2im": _COL2IM_LOOPS, "convolution": _CONV_EINSUM}
    ),
}

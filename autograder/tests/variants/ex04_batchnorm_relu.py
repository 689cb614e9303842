"""Wrong and alternative answers for ex04_batchnorm_relu (see the package docstring)."""

from autograder.tests.variants import right, wrong


def _batch_norm(var: str, running: str, eval_stats: str = "running_mean, running_var") -> str:
    """A batch_norm cell; `var` computes the normalising variance, `running` updates the stats."""
    return f"""\
def batch_norm(x, running_mean, running_var, weight, bias, training, momentum=0.1, eps=1e-5):
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    m = x.numel() // x.shape[1]
    if training:
        mean = x.mean(dim=dims)
        var = {var}
        unbiased = x.var(dim=dims, correction=1)
{running}
    else:
        mean, var = {eval_stats}
    y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    if weight is not None:
        y = y * weight.view(shape)
    if bias is not None:
        y = y + bias.view(shape)
    return y
"""


_IN_PLACE = """\
        running_mean.mul_(1 - momentum).add_(momentum * mean)
        running_var.mul_(1 - momentum).add_(momentum * unbiased)"""

_EVERY_TEST = {
    "test_relu",
    "test_batch_norm_slides",
    "test_batch_norm_training",
    "test_running_stats",
    "test_batch_norm_eval",
}

WRONG = {
    # Tensor.var is unbiased by default: the normalisation divides by m - 1 instead of m.
    # (The running variance, which should be unbiased, comes out right.)
    "unbiased_variance_for_normalising": wrong(
        {
            "batch_norm": _batch_norm(
                "x.var(dim=dims)",
                "        running_mean.mul_(1 - momentum).add_(momentum * mean)\n"
                "        running_var.mul_(1 - momentum).add_(momentum * var)",
            )
        },
        {"test_batch_norm_slides", "test_batch_norm_training"},
    ),
    # The running variance updated with the biased batch variance.
    "biased_running_var": wrong(
        {
            "batch_norm": _batch_norm(
                "x.var(dim=dims, correction=0)",
                "        running_mean.mul_(1 - momentum).add_(momentum * mean)\n"
                "        running_var.mul_(1 - momentum).add_(momentum * var)",
            )
        },
        {"test_running_stats"},
    ),
    # New tensors bound to the local names: the caller's running stats never change.
    "running_stats_rebound": wrong(
        {
            "batch_norm": _batch_norm(
                "x.var(dim=dims, correction=0)",
                "        running_mean = (1 - momentum) * running_mean + momentum * mean\n"
                "        running_var = (1 - momentum) * running_var + momentum * unbiased",
            )
        },
        {"test_running_stats"},
    ),
    # Momentum weighting the old value instead of the new batch statistic.
    "momentum_reversed": wrong(
        {
            "batch_norm": _batch_norm(
                "x.var(dim=dims, correction=0)",
                "        running_mean.mul_(momentum).add_((1 - momentum) * mean)\n"
                "        running_var.mul_(momentum).add_((1 - momentum) * unbiased)",
            )
        },
        {"test_running_stats"},
    ),
    # Evaluation mode still normalises with the batch's own statistics.
    "eval_uses_batch_stats": wrong(
        {
            "batch_norm": _batch_norm(
                "x.var(dim=dims, correction=0)",
                _IN_PLACE,
                eval_stats="x.mean(dim=dims), x.var(dim=dims, correction=0)",
            )
        },
        {"test_batch_norm_eval"},
    ),
    # Zeroing the negatives in place: right values, but the caller's tensor is changed.
    "relu_modifies_input": wrong(
        {"relu": "def relu(x):\n    x[x < 0] = 0\n    return x\n"},
        {"test_relu"},
    ),
    # The built-in functions do the work: right values, forbidden by the task.
    "builtin_functions": wrong(
        {
            "relu": "def relu(x):\n    return F.relu(x)\n",
            "batch_norm": (
                "def batch_norm(x, running_mean, running_var, weight, bias, training,"
                " momentum=0.1, eps=1e-5):\n"
                "    return F.batch_norm(x, running_mean, running_var, weight, bias, training,"
                " momentum, eps)\n"
            ),
        },
        {
            "test_relu",
            "test_batch_norm_slides",
            "test_batch_norm_training",
            "test_running_stats",
            "test_batch_norm_eval",
        },
    ),
    # Rule breakers: PyTorch's own ReLU or batch norm, in other spellings. The grader reads the
    # whole notebook, so each costs every test.
    "relu_through_an_alias": wrong(
        {"relu": "_r = torch.relu\nrelu = lambda x: _r(x)\n"},
        _EVERY_TEST,
    ),
    "relu_in_place_on_a_clone": wrong(
        {"relu": "def relu(x):\n    return x.clone().relu_()\n"},
        _EVERY_TEST,
    ),
    "relu_threshold": wrong(
        {"relu": "def relu(x):\n    return torch.threshold(x, 0.0, 0.0)\n"},
        _EVERY_TEST,
    ),
    "relu_aten_op": wrong(
        {"relu": "def relu(x):\n    return torch.ops.aten.relu(x)\n"},
        _EVERY_TEST,
    ),
    "relu_getattr_string": wrong(
        {"relu": 'def relu(x):\n    return getattr(torch, "re" + "lu")(x)\n'},
        _EVERY_TEST,
    ),
    "native_batch_norm": wrong(
        {
            "batch_norm": (
                "def batch_norm(x, running_mean, running_var, weight, bias, training,"
                " momentum=0.1, eps=1e-5):\n"
                "    return torch.native_batch_norm(\n"
                "        x, weight, bias, running_mean, running_var, training, momentum, eps\n"
                "    )[0]\n"
            )
        },
        _EVERY_TEST,
    ),
}

_BN_KEEPDIM = """\
def batch_norm(x, running_mean, running_var, weight, bias, training, momentum=0.1, eps=1e-5):
    dims = (0,) if x.dim() == 2 else (0, 2, 3)
    if training:
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        n = x.numel() / x.size(1)
        running_mean.copy_((1 - momentum) * running_mean + momentum * mean.flatten())
        running_var.copy_((1 - momentum) * running_var + momentum * var.flatten() * n / (n - 1))
    else:
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1, 1)
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (x - mean) / (var + eps).sqrt()
    shape = (1, -1) if x.dim() == 2 else (1, -1, 1, 1)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
"""

_BN_CHANNELS_FIRST = """\
def batch_norm(x, running_mean, running_var, weight, bias, training, momentum=0.1, eps=1e-5):
    c = x.shape[1]
    # (C, everything else): one row per channel.
    rows = x.transpose(0, 1).reshape(c, -1)
    if training:
        mean = rows.mean(dim=1)
        var = torch.var(rows, dim=1, correction=0)
        running_mean.lerp_(mean, momentum)
        running_var.lerp_(torch.var(rows, dim=1, correction=1), momentum)
    else:
        mean, var = running_mean, running_var
    scale = torch.rsqrt(var + eps)
    shift = -mean * scale
    if weight is not None:
        scale, shift = scale * weight, shift * weight
    if bias is not None:
        shift = shift + bias
    view = (1, c) + (1,) * (x.dim() - 2)
    return x * scale.view(view) + shift.view(view)
"""

RIGHT = {
    "where_relu_keepdim_stats": right(
        {
            "relu": "def relu(x):\n    return torch.where(x > 0, x, torch.zeros_like(x))\n",
            "batch_norm": _BN_KEEPDIM,
        }
    ),
    "clamp_relu_channel_rows": right(
        {"relu": "def relu(x):\n    return x.clamp(min=0)\n", "batch_norm": _BN_CHANNELS_FIRST}
    ),
    # clamp_min for ReLU; var_mean, rsqrt and lerp_ for batch norm.
    "clamp_min_var_mean_lerp": right(
        {
            "relu": "def relu(x):\n    return x.clamp_min(0)\n",
            "batch_norm": """\
def batch_norm(x, running_mean, running_var, weight, bias, training, momentum=0.1, eps=1e-5):
    dims = [d for d in range(x.dim()) if d != 1]
    shape = [-1 if d == 1 else 1 for d in range(x.dim())]
    if training:
        var, mean = torch.var_mean(x, dim=dims, correction=0)
        m = x.numel() // x.shape[1]
        running_mean.lerp_(mean.detach(), momentum)
        running_var.lerp_(var.detach() * m / (m - 1), momentum)
    else:
        mean, var = running_mean, running_var
    out = (x - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
""",
        }
    ),
}

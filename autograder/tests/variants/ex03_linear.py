"""Wrong and alternative answers for ex03_linear (see this package's docstring)."""

from autograder.tests.variants import right, wrong

WRONG = {
    # "Any values will do", taken as integers: nn.Linear then refuses the input.
    "x_integers": wrong(
        {"make_x": "x = torch.randint(0, 10, (32, 1024))\n"},
        {"test_x", "test_fc1", "test_fc2", "test_out3"},
    ),
    # in_features and out_features swapped: fc1(x) raises, so out1 (and out3) never exist.
    "fc1_features_swapped": wrong(
        {"fc1": "fc1 = nn.Linear(256, 1024)\nout1 = fc1(x)\n"},
        {"test_fc1", "test_out3"},
    ),
    # Stacks fc2 on fc1's output instead of applying it to x.
    "fc2_after_fc1": wrong(
        {"fc2": "fc2 = nn.Linear(256, 2048)\nout2 = fc2(out1)\n"},
        {"test_fc2"},
    ),
    # A fresh layer instead of fc1's output: right shape, other values.
    "out3_from_a_new_layer": wrong(
        {"out3": "out3 = nn.Linear(1024, 256)(x).reshape(32, 16, 16)\n"},
        {"test_out3"},
    ),
    # Batch last, then moved to the front: right shape, values in the wrong places.
    "out3_batch_last_then_permuted": wrong(
        {"out3": "out3 = out1.reshape(16, 16, 32).permute(2, 0, 1)\n"},
        {"test_out3"},
    ),
    # Rule breakers: the right values, computed again instead of rearranging out1.
    "out3_recomputed_with_fc1": wrong(
        {"out3": "out3 = fc1(x).reshape(32, 16, 16)\n"},
        {"test_out3"},
    ),
    "out3_by_matmul": wrong(
        {"out3": "out3 = (x @ fc1.weight.T + fc1.bias).reshape(32, 16, 16)\n"},
        {"test_out3"},
    ),
}

RIGHT = {
    "ones_keywords_view": right(
        {
            "make_x": "x = torch.ones(32, 1024)\n",
            "fc1": "fc1 = nn.Linear(in_features=1024, out_features=256, bias=True)\nout1 = fc1(x)\n",
            "fc2": "fc2 = nn.Linear(in_features=1024, out_features=2048)\nout2 = fc2(x)\n",
            "out3": "out3 = out1.view(32, 16, 16)\n",
        }
    ),
    "rand_unflatten": right(
        {
            "make_x": "x = torch.rand((32, 1024), dtype=torch.float32)\n",
            "out3": "out3 = out1.unflatten(1, (16, 16))\n",
        }
    ),
    "reshape_minus_one": right(
        {"out3": "out3 = torch.reshape(out1, (-1, 16, 16))\n"},
    ),
    "out3_through_an_alias": right(
        {"out3": "values = out1.detach()\nout3 = values.view(values.shape[0], 16, 16)\n"},
    ),
}

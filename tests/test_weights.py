"""Publishing and adopting weights as numpy arrays."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from agentlab.weights import load_arrays, to_arrays


def test_arrays_round_trip_into_another_network_from_read_only_arrays():
    torch.manual_seed(0)
    source, target = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), nn.Sequential(nn.Linear(3, 4),
                                                                                         nn.BatchNorm1d(4))
    source[1].running_mean.fill_(2.0)  # buffers travel too
    arrays = to_arrays(source)
    for a in arrays.values():
        a.flags.writeable = False  # as Ray's object store hands them out
    load_arrays(target, arrays)
    for name, tensor in target.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), source.state_dict()[name].numpy())
    published = arrays["0.weight"].copy()
    with torch.no_grad():
        source[0].weight.add_(1.0)
        target[0].weight.add_(2.0)
    np.testing.assert_array_equal(arrays["0.weight"], published)  # copies, aliased with neither network


def test_load_arrays_rejects_missing_keys_and_wrong_shapes():
    net = nn.Linear(3, 4)
    arrays = to_arrays(net)
    with pytest.raises(KeyError, match="bias"):
        load_arrays(net, {"weight": arrays["weight"]})
    with pytest.raises(RuntimeError):
        load_arrays(net, {"weight": np.zeros((5, 3), np.float32), "bias": arrays["bias"]})


def test_a_read_only_array_is_saved_without_a_warning_and_loads_back(tmp_path) -> None:
    # In a fresh process with warnings as errors: torch warns once a process about sharing a non-writable array.
    code = (
        "import numpy as np, torch\n"
        "from agentlab.saveable import from_saveable, to_saveable\n"
        "array = np.arange(6.0).reshape(2, 3)\n"
        "array.flags.writeable = False  # as arrays that came through Ray's object store are\n"
        f"torch.save(to_saveable({{'x': array}}), {str(tmp_path / 'state.pt')!r})\n"
        f"loaded = from_saveable(torch.load({str(tmp_path / 'state.pt')!r}, weights_only=True))\n"
        "np.testing.assert_array_equal(loaded['x'], array)\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)


def test_arrays_of_every_rank_keep_their_shape_through_a_checkpoint(tmp_path) -> None:
    from agentlab.saveable import from_saveable, to_saveable

    arrays = {"rank0": np.array(2.5), "rank1": np.arange(3), "strided": np.arange(12.0).reshape(3, 4)[:, ::2]}
    torch.save(to_saveable(arrays), tmp_path / "state.pt")
    loaded = from_saveable(torch.load(tmp_path / "state.pt", weights_only=True))
    for name, array in arrays.items():
        assert loaded[name].shape == array.shape, name  # a 0-d array once came back as shape (1,)
        np.testing.assert_array_equal(loaded[name], array)

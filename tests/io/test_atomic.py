"""Atomic writes: a failed write leaves neither a partial file nor a damaged target."""

import numpy as np
import pytest

from codec.io.atomic import atomic_write


def test_success_renames_into_place(tmp_path):
    target = tmp_path / "lsf.npy"
    with atomic_write(target) as partial:
        assert partial.suffix == ".npy" and partial != target
        np.save(partial, np.arange(3))
    np.testing.assert_array_equal(np.load(target), np.arange(3))
    assert list(tmp_path.iterdir()) == [target]


def test_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "manifest.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as partial:
        partial.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_an_unwritable_place_names_the_target(tmp_path):
    target = tmp_path / "missing" / "out.npy"
    with pytest.raises(OSError, match=r"out.npy: cannot write there"), atomic_write(target):
        pass

import numpy as np
import pytest

from bc_gym.actions import HIGHWAY_ACTIONS, ActionMap


def test_names_and_round_trip():
    am = HIGHWAY_ACTIONS
    assert am.n == 9
    assert am.names == (
        "noop", "left", "right", "up", "down", "up+left", "up+right", "down+left", "down+right",
    )  # fmt: skip
    for i in range(am.n):
        assert am.from_keys(am.to_keys(i)) == i
        assert am.from_multibinary(am.to_multibinary(i)) == i


def test_from_keys_cancels_opposites_and_ignores_unknown():
    am = HIGHWAY_ACTIONS
    assert am.from_keys({"left", "right"}) == am.index("noop")
    assert am.from_keys({"up", "left", "right"}) == am.index("up")
    assert am.from_keys({"up", "space"}) == am.index("up")


def test_largest_contained_combo_wins():
    am = ActionMap.single_keys(["a", "b"])
    assert am.from_keys({"a", "b"}) == am.index("a")  # no a+b combo: lowest index of size 1


def test_labels_from_held_vectorised():
    am = HIGHWAY_ACTIONS
    held = np.array([am.to_multibinary(i) for i in range(am.n)] * 3)
    assert (am.labels_from_held(held) == np.tile(np.arange(am.n), 3)).all()


def test_dict_round_trip():
    am = ActionMap.from_dict(HIGHWAY_ACTIONS.to_dict())
    assert am == HIGHWAY_ACTIONS


def test_errors_name_the_value():
    with pytest.raises(ValueError, match="no action named 'jump'"):
        HIGHWAY_ACTIONS.index("jump")
    with pytest.raises(ValueError, match=r"action 9 out of range: expected 0 <= action < 9"):
        HIGHWAY_ACTIONS.to_keys(9)
    with pytest.raises(ValueError, match=r"uses keys \['space'\] not in keys"):
        ActionMap(("left",), (frozenset({"space"}),))
    with pytest.raises(ValueError, match="not an action map"):
        ActionMap.from_dict({"keys": []})


def test_mirror_permutation_swaps_the_two_keys():
    perm = HIGHWAY_ACTIONS.mirror_permutation("left:right")
    for a in range(HIGHWAY_ACTIONS.n):
        keys = HIGHWAY_ACTIONS.to_keys(a)
        swapped = {"left": "right", "right": "left"}
        assert HIGHWAY_ACTIONS.to_keys(perm[a]) == {swapped.get(k, k) for k in keys}
    assert sorted(perm) == list(range(HIGHWAY_ACTIONS.n))
    with pytest.raises(ValueError, match="expected 'KEY:KEY'"):
        HIGHWAY_ACTIONS.mirror_permutation("left:space")
    lopsided = ActionMap.from_names(["noop", "left"], keys=["left", "right"])
    with pytest.raises(ValueError, match="is not an action"):
        lopsided.mirror_permutation("left:right")

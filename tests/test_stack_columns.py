"""The kernel stacks read each distinct column once: a column equal to another on the training data (the
last, best and recent mean value of a one-epoch curve) adds nothing to an RBF kernel's distance."""
import numpy as np

from naapgnn.models.curve_stack import DistinctColumns, _kernel_ridge


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    return X, y


def test_distinct_columns_keeps_the_first_of_equal_columns_and_reads_new_rows_the_same_way():
    X = np.array([[1.0, 2.0, 1.0, 5.0, 2.0], [3.0, 4.0, 3.0, 6.0, 4.0], [0.0, 1.0, 0.0, 7.0, 1.0]])
    keep = DistinctColumns().fit(X)
    assert keep.columns_.tolist() == [0, 1, 3]
    # equal in training, not in a new row: the new row is read as the training data was
    assert keep.transform(np.array([[9.0, 8.0, 7.0, 6.0, 5.0]])).tolist() == [[9.0, 8.0, 6.0]]


def test_a_repeated_column_changes_no_kernel_prediction():
    X, y = _data()
    repeated = np.c_[X, X[:, 0], X[:, 0]]  # one value three times, as a one-epoch curve's features give it
    for setting in ((0.01, 0.3), (0.1, 1.0)):
        once = _kernel_ridge(setting, X).fit(X, y).predict(X[:10])
        thrice = _kernel_ridge(setting, repeated).fit(repeated, y).predict(repeated[:10])
        np.testing.assert_allclose(thrice, once, rtol=1e-10, atol=1e-12)


def test_gamma_is_over_the_distinct_varying_columns():
    X, y = _data()
    with_copies = np.c_[X, X[:, 1], np.ones(len(X))]  # a copy and a constant column
    model = _kernel_ridge((0.1, 1.0), with_copies)
    assert model[-1].gamma == 1.0 / 3
    missing = with_copies.copy()
    missing[0, 3] = np.nan  # the copy with a missing value is no longer the same column
    assert _kernel_ridge((0.1, 1.0), missing)[-1].gamma == 1.0 / 4

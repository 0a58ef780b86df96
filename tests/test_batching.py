"""Mini-batches: the document's shapes and shuffles, every flavour of gradient descent."""
import numpy as np
from hypothesis import given, strategies as st

from deepbasics.learn import batching
from deepbasics.studies import classic


def test_document_minibatch_shapes():
    rng = np.random.RandomState(1)
    X, Y = rng.randn(12288, 148), rng.randn(1, 148) < 0.5
    batches = classic.random_mini_batches(X, Y, 64)
    assert [b[0].shape for b in batches] == [(12288, 64), (12288, 64), (12288, 20)]
    assert [b[1].shape for b in batches] == [(1, 64), (1, 64), (1, 20)]


def test_shuffle_protocol_matches_the_documents_seeding():
    # The document: seed = 10; each epoch seed += 1; np.random.seed(seed); permutation(m).
    for epoch in range(3):
        np.testing.assert_array_equal(batching.epoch_order(900, epoch, 10),
                                      np.random.RandomState(10 + epoch + 1).permutation(900))
    np.testing.assert_array_equal(batching.epoch_order(5, 7, None), np.arange(5))


@given(m=st.integers(1, 500), batch=st.integers(1, 600))
def test_bounds_cover_every_example_once(m, batch):
    bounds = batching.batch_bounds(m, batch)
    sizes = [b - a for a, b in bounds]
    assert sum(sizes) == m and bounds[0][0] == 0 and bounds[-1][1] == m
    assert all(s == batch for s in sizes[:-1]) and 0 < sizes[-1] <= batch
    assert len(bounds) == -(-m // batch)


def test_batch_stochastic_and_minibatch_flavours():
    assert batching.batch_bounds(10, 10) == [(0, 10)]                 # batch GD: one step per epoch
    assert len(batching.batch_bounds(10, 1)) == 10                     # stochastic GD: m steps
    assert batching.batch_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]   # mini-batch, last partial


def test_random_mini_batches_touches_no_global_state():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    classic.random_mini_batches(np.ones((2, 10)), np.ones((1, 10)), 3, seed=5)
    assert np.random.rand() == expected

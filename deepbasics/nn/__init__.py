"""The model's math: what a network computes, forward and backward, in NumPy (or jax.numpy).

    rand           counter-based random draws (dropout masks, RReLU slopes), the same on every engine
    initializers   weight initialisers (standard normal, Glorot, He, LeCun, zeros)
    layer          the Layer protocol and the Context (xp, train/eval, random key) it receives
    dense          Dense: y = x W^T + b, forward and backward side by side
    activations    sigmoid, tanh, the ReLU family, ELU, SELU, GELU, softplus, softmax, linear
    batchnorm      batch normalisation (running statistics are buffers, not parameters)
    dropout        inverted dropout
    losses         binary and categorical cross-entropy, mean squared error (with fused outputs)
    network        a network as data: build, forward, backward, flatten/unflatten parameters
    diagnostics    per-layer activation statistics and gradient norms

May import: ``deepbasics.errors`` only. Nothing here knows about training, files or front ends.
"""

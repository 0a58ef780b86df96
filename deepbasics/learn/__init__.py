"""Learning: turning a network and data into trained weights.

    optim           update rules as data (GD, Momentum, RMSProp, Adam, AdamW, AdaGrad): init/update
    schedules       learning rate as a function of epoch or step
    batching        epoch orders and mini-batch bounds (the document's shuffles)
    step            the one training update every engine runs: forward, loss, backward, clip, update
    engines/        run epochs of the step: NumPy eagerly, JAX compiled; "auto" picks one
    loop            the epoch loop around an engine: history, logs, validation, divergence
    history         what a fit records, epoch by epoch
    early_stopping  Keras's early-stopping rule and one fit's bookkeeping of it
    fit             Sequential.fit's options (FitOptions) and its steps
    model           Sequential: layers and weights; fit / predict / evaluate
    checkpoint      the .npz checkpoint format (never pickled) and restoring a model from it
    saving          load_model: a saved Sequential rebuilt through the library's own tables

May import: ``deepbasics.nn``, ``deepbasics.errors``, ``deepbasics.fileio``, ``deepbasics.version``.
"""

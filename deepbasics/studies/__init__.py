"""Studies: the document's own code and the experiments built on the library.

    classic        the document's function API (its names, dicts W1, b1, ..., examples as columns)
    reproduce      every experiment of the document, checked figure by figure
    deep           the depth experiment: how fast deep networks learn, recipe by recipe
    bench          the engines side by side with PyTorch and the BLAS ceiling

May import: ``nn``, ``learn``, ``data``, ``runs``; never matplotlib (``report.deep_summary`` draws
the depth experiment's findings).
"""

"""Reports: what a run leaves for people to read.

    plots    the figures (cost, accuracy, learning rate, decision boundaries, confusion, gradient flow)
    writer   report.html, summary.md, results.json and config.toml, written atomically

The only room that imports matplotlib. May import every room above the front ends.
"""

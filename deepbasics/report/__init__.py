"""Reports: what a run leaves for people to read.

    plots          the figures (cost, accuracy, learning rate, decision boundaries, confusion,
                   gradient flow, a History's cost curves)
    writer         report.html, summary.md, results.json and config.toml, written atomically
    deep_summary   the depth experiment's summary.md, findings and figures, from its own numbers

The only room that imports matplotlib, always inside the function that draws. May import the rooms
below it: nn, learn, data, runs, studies.
"""

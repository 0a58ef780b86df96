"""The playground: train a network in the browser and watch it learn, live.

``deepbasics playground`` serves a small web page (``static/``) and trains, for every browser
tab, the library's own model in a worker process, streaming compact frames (costs, gradient
norms per layer, the decision boundary) over a WebSocket. The message contract between page
and server is ``PROTOCOL.md``.

    protocol.py   messages from the page checked (types, ranges, the playground's limits, then
                  ``config.from_dict``, the one validator) and frames encoded as JSON
    presets.py    the chapter's experiments as ready configurations; ``options()`` for the page
    rates.py      a schedule whose per-update rates grow with the run instead of being
                  recomputed from epoch 0 at every chunk of training
    plane.py      the plane the views draw: a generated set's own, or two of a table's features
                  with the others held at their mean
    trainer.py    one training session's state: data, one or two runs, chunks of ``fit``, frames
    session.py    a worker process per tab running a Trainer (answering commands mid-epoch), and
                  the server's handle on it
    uploads.py    a session's uploaded files, in its own temporary folder
    access.py     who may use the server: the token, the Host and Origin checks (an ASGI guard)
    server.py     the Starlette app: ``/``, ``/static/...``, ``/api/options``, ``/api/upload``,
                  ``/ws``
    bench.py      ``python -m deepbasics.playground.bench``: epochs and frames per second over a
                  real WebSocket

It may import the library's public modules (``config``, ``experiment``, ``datasets``,
``diagnostics``, the model and its layers) and, in ``server.py`` only, starlette and uvicorn
(the ``deepbasics[playground]`` extra). Nothing in the library imports it back; only the
``deepbasics playground`` command does.
"""

"""One module per CLI command; each defines ``register(subparsers)`` that adds its parser and sets
``func(args) -> exit code``. The CLI lists them here, in the order ``--help`` shows them."""
COMMANDS = ("demo", "train", "compare", "reproduce", "deep", "bench", "playground",)

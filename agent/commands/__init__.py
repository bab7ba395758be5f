"""One module per subcommand; each exposes ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code), and ``HELP``, a one-line summary."""

"""Subcommands of the ``labkit`` CLI, one module each, each with ``register(subparsers)``.

A module's ``register`` adds its subparser and sets ``func`` (called with the parsed
arguments, returning the exit status). Keep logic in the analysis modules; these only
parse arguments and print.
"""

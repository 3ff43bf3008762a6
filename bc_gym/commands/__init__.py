"""CLI command groups, one module each (see ``bc_gym/cli.py``)."""

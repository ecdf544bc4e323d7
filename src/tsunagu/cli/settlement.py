"""``tsunagu settlement …``."""

from __future__ import annotations

import typer

app = typer.Typer(help="settlement", no_args_is_help=True)

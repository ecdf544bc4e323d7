"""``tsunagu appeals …``."""

from __future__ import annotations

import typer

app = typer.Typer(help="appeals", no_args_is_help=True)

"""``tsunagu enforcement …``."""

from __future__ import annotations

import typer

app = typer.Typer(help="enforcement", no_args_is_help=True)

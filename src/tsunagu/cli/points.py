"""``tsunagu points …``: the points programme (stub until the commands land)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Points: balances, redemptions, expiry, seller settings.", no_args_is_help=True)

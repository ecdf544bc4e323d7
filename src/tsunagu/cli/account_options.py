"""Options and helpers shared by the commands about accounts: ``tsunagu users`` (with its linked
accounts, :mod:`tsunagu.cli.user_links`) and ``tsunagu tokens``."""

from __future__ import annotations

from typing import Annotated

import typer

#: the audit actor for everything done through the local command line
LOCAL_ACTOR = "local-owner"

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EmailOpt = Annotated[str, typer.Option("--email", help="The user's e-mail address.")]
EmailArg = Annotated[str, typer.Argument(help="The user's e-mail address.")]


def when(value: object) -> str:
    """A time for a table: ``YYYY-MM-DD HH:MM UTC``, or ``-`` for none."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else "-"

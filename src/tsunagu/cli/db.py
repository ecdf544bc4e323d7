from __future__ import annotations

import typer

from tsunagu.cli.context import ctx, out
from tsunagu.core.db import current_revision, head_revision, make_engine, upgrade
from tsunagu.core.i18n import _

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Apply all migrations (safe to run again)."""
    engine = make_engine(ctx().settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before == after:
        out.print(_("Database is up to date (revision {revision}).", revision=after))
    else:
        out.print(
            _("Database upgraded from {before} to {after}.", before=before or "-", after=after)
        )


@app.command("status")
def status_cmd() -> None:
    """Show the schema revision of the database and of this tsunagu."""
    engine = make_engine(ctx().settings.database_url)
    out.print(
        _(
            "Database revision: {current}; newest: {head}.",
            current=current_revision(engine) or "-",
            head=head_revision(),
        )
    )

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tsunagu.cli import layout
from tsunagu.cli.context import Context, ctx, err, out, print_json
from tsunagu.cli.reporting import progress_for
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _
from tsunagu.core.origins import LOOPBACK_NAMES
from tsunagu.demo.profiles import CANCELS_US
from tsunagu.enforcement import words as enforcement_words
from tsunagu.health import alert_service, incremental, refresh
from tsunagu.settings import Settings, with_seed_key

if TYPE_CHECKING:
    from tsunagu.demo.generate import DemoDataset

app = typer.Typer(help="A realistic JP + US demo dataset.", no_args_is_help=True)

Seed = Annotated[int, typer.Option("--seed", help="Same seed, same data.")]
Sellers = Annotated[int, typer.Option("--sellers", min=3, max=1000, help="At least 3.")]
Orders = Annotated[int, typer.Option("--orders", min=100, max=5_000_000)]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Last day of the data (YYYY-MM-DD).")]


def _as_of(value: str | None) -> date:
    if value is None:
        return utcnow().date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(
            N_("--as-of must be a date like 2026-11-25"), code="invalid_as_of"
        ) from exc


@app.command("generate")
def generate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path(
        "demo-data"
    ),
    seed: Seed = 7,
    sellers: Sellers = 3,
    orders: Orders = 6000,
    as_of: AsOf = None,
) -> None:
    """Write the dataset: sellers.json and events.jsonl (load them with `tsunagu demo load`)."""
    from tsunagu.demo.generate import generate, write_jsonl

    dataset = generate(seed=seed, sellers=sellers, orders=orders, as_of=_as_of(as_of))
    out_dir.mkdir(parents=True, exist_ok=True)
    import orjson

    (out_dir / "sellers.json").write_bytes(
        orjson.dumps(
            [
                {
                    "id": s.id,
                    "name": s.name,
                    "marketplaces": list(s.marketplaces),
                    "profile": s.profile,
                    "description": s.description,
                }
                for s in dataset.sellers
            ],
            option=orjson.OPT_INDENT_2,
        )
    )
    count = write_jsonl(dataset, out_dir / "events.jsonl")
    out.print(
        _(
            "Wrote {count} events for {sellers} sellers to {path}",
            count=count,
            sellers=len(dataset.sellers),
            path=out_dir,
        )
    )


@app.command("load")
def load_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder written by `tsunagu demo generate`.")],
    json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Create the folder's sellers (with their ids) and import its events."""
    from tsunagu.cli.events import import_jsonl
    from tsunagu.cli.reporting import render, require_file
    from tsunagu.demo.load import ensure_sellers, read_sellers

    require_file(folder / "sellers.json")
    require_file(folder / "events.jsonl")
    c = ctx()
    sellers = read_sellers(folder / "sellers.json")
    created = ensure_sellers(c.factory, sellers, registry=c.registry, now=utcnow())
    err.print(_("{count} sellers created.", count=created))
    result = import_jsonl(c, folder / "events.jsonl", source_label="demo", quiet=json)
    render(result, as_json=json, dry_run=False)


_STATUSES = enforcement_words.STATUS


@app.command("run")
def run_cmd(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Load and summarise, then exit.")
    ] = False,
    seed: Seed = 7,
    sellers: Sellers = 3,
    orders: Orders = 6000,
    as_of: AsOf = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Load the demo into the database (once), print a summary, and serve the dashboard."""
    from tsunagu.demo.generate import generate
    from tsunagu.demo.load import ensure_demo_owner

    c = ctx()
    dataset = generate(seed=seed, sellers=sellers, orders=orders, as_of=_as_of(as_of))
    _load_once(c, dataset, quiet=json)
    now = utcnow()
    ensure_demo_owner(
        c.factory,
        [s.id for s in dataset.sellers],
        now=now,
        settings=c.settings.identity,
        managed=[s.id for s in dataset.sellers if s.profile == CANCELS_US],
    )
    _evaluate(c, dataset.as_of, now)
    alert_service.check_everything(c.factory, c.registry, now)  # the demo's alerts (issue 16)
    points = _settle_points(c, dataset.as_of)
    rows = _summary_rows(c, dataset, now=now)
    if json:
        print_json(rows)
    else:
        _print_summary(rows, dataset)
        out.print(
            _(
                "Points (JP): {customers} buyers hold {points} points.",
                customers=points[0],
                points=points[1],
            )
        )
    if not no_serve:
        serve(host=host, port=port)


def _load_once(c: Context, dataset: DemoDataset, *, quiet: bool) -> None:
    """Load the demo's events unless its sellers are already in the database."""
    from tsunagu.demo.load import already_loaded, load

    with c.read_factory() as session:
        loaded = already_loaded(session, dataset)
    if loaded:
        err.print(
            _(
                "The demo sellers are already in {db}; showing them as they are.",
                db=c.settings.database_url,
            )
        )
        return
    with progress_for(len(dataset.events), quiet=quiet) as progress:
        result = load(
            c.factory,
            dataset,
            registry=c.registry,
            now=utcnow(),
            chunk_size=c.settings.import_chunk_size,
            progress=progress,
        )
    refresh.refresh_all(c.factory, c.registry, utcnow())
    err.print(
        _(
            "Loaded {stored} events ({duplicates} already there, {rejected} rejected).",
            stored=result.report.stored,
            duplicates=result.report.duplicates,
            rejected=result.report.rejected,
        )
    )


def _evaluate(c: Context, as_of: date, now: datetime) -> None:
    """The account status of every store as the daily job would have decided it on the day
    before the data's ``as_of`` and a week earlier (idempotent: a day evaluated already changes
    nothing)."""
    from tsunagu.enforcement import service as enforcement

    for day in (as_of - timedelta(days=8), as_of - timedelta(days=1)):
        with unit_of_work(c.factory) as session:
            enforcement.evaluate_stores(session, registry=c.registry, day=day, now=now)


def _settle_points(c: Context, as_of: date) -> tuple[int, int]:
    """The points of the demo's JP orders as the jobs would have left them at the data's end:
    grants from the orders, settled where shipped over a day before, balances a year idle
    expired; (buyers with points, points they hold)."""
    from sqlalchemy import func, select

    from tsunagu.points.jobs import run_expiry
    from tsunagu.points.models import PointsAccount

    end = datetime.combine(as_of, time(0), tzinfo=UTC)
    with unit_of_work(c.factory) as session:
        run_expiry(session, registry=c.registry, as_of=end)
    with c.read_factory() as session:
        holders, total = session.execute(
            select(func.count(), func.coalesce(func.sum(PointsAccount.available), 0)).where(
                PointsAccount.available > 0
            )
        ).one()
    return int(holders), int(total)


def _summary_rows(c: Context, dataset: DemoDataset, *, now: datetime) -> list[dict[str, object]]:
    """The demo's stores, each with today's Account Health Rating from its rollups."""
    from tsunagu.demo.load import summary
    from tsunagu.enforcement import service as enforcement

    with c.read_factory() as session:
        rows = summary(session, dataset)
        for r in rows:
            h = incremental.store_health_now(
                session,
                seller_id=str(r["seller_id"]),
                marketplace=c.registry.require(str(r["marketplace"])),
                now=now,
            )
            r["ahr"], r["band"] = h.rating.score, h.rating.band
            r["status"] = enforcement.store_status(
                session, seller_id=str(r["seller_id"]), marketplace=str(r["marketplace"])
            ).status
    return rows


def _print_summary(rows: list[dict[str, object]], dataset: DemoDataset) -> None:
    from tsunagu.demo.load import DEMO_EMAIL, DEMO_PASSWORD

    # fits 80 columns (cli/layout.py): the ids are under the table, with each seller's story
    layout.show(
        (
            layout.Col(_("Seller")),
            layout.Col(_("Store")),
            layout.Col(_("Orders"), whole=True, justify="right"),
            layout.Col(_("Cancelled"), whole=True, justify="right"),
            layout.Col(_("Violations"), whole=True, justify="right"),
            layout.Col(_("AHR"), whole=True, justify="right"),
            layout.Col(_("Account status")),
        ),
        [
            (
                str(r["name"]),
                str(r["marketplace"]),
                str(r["orders"]),
                str(r["cancelled"]),
                str(r["open_violations"]),
                str(r["ahr"]),
                _(_STATUSES.get(str(r["status"]), str(r["status"]))),
            )
            for r in rows
        ],
        title=_("Demo data"),
    )
    for s in dataset.sellers:
        layout.say(f"• {s.name} ({s.id}): {s.description}", indent=2)
    out.print(
        _(
            "Sign in to the dashboard as {email} with the password {password}.",
            email=DEMO_EMAIL,
            password=DEMO_PASSWORD,
        )
    )


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Processes serving requests behind the one port (production: about one per "
            "core, on PostgreSQL).",
        ),
    ] = 1,
) -> None:
    """Serve the dashboard and the REST API.

    Links in e-mails point at TSUNAGU_PUBLIC_URL. On a loopback address (the default) it may be
    left out: it is then http://HOST:PORT. Listening on any other address needs it."""
    import uvicorn

    if not 1 <= workers <= MAX_WORKERS:
        raise UsageError(
            N_("--workers must be a whole number from 1 to {most}, not {value}"),
            code="invalid_value",
            most=MAX_WORKERS,
            value=workers,
            details={"field": "workers", "value": workers},
        )
    c = ctx()
    settings = serving_settings(c.settings, host=host, port=port)
    app: Any = c.wiring.application(settings) if workers == 1 else _prepare_workers(c, settings)
    out.print(
        _(
            "tsunagu is serving on http://{host}:{port}/ (API description at /openapi.json). "
            "Ctrl-C stops.",
            host=host,
            port=port,
        )
    )
    if settings.public_url and settings.public_url != local_url(host, port):
        out.print(_("Links in e-mails point at {url}.", url=settings.public_url))
    # forwarded headers are tsunagu's to judge (TSUNAGU_TRUSTED_PROXIES), never uvicorn's
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
    )


#: more processes than this on one machine only add memory and database connections
MAX_WORKERS = 64


def _prepare_workers(c: Context, settings: Settings) -> str:
    """What ``serve --workers N`` does once before the N processes start, so that they never race
    each other: the schema is created or upgraded here, a SQLite file's seed key is made here,
    and the settings this command worked out (the public URL of a loopback server) reach them
    through the environment they inherit. Each process then builds its application from
    :attr:`Wiring.application_ref`."""
    # creates or upgrades the schema once, here; the supervisor then holds no connection
    c.engine.dispose()
    key = with_seed_key(settings).identity.seed_key
    if key is not None:
        key.key()
    if settings.public_url:
        os.environ["TSUNAGU_PUBLIC_URL"] = settings.public_url
    return c.wiring.application_ref


def local_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serving_settings(settings: Settings, *, host: str, port: int) -> Settings:
    """The settings a server runs with: a loopback server without TSUNAGU_PUBLIC_URL links to
    itself; any other address must be told where users reach it (AUTH-17), since links in
    e-mails are never built from a request."""
    if settings.public_url:
        return settings
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return replace(settings, public_url=local_url(host.strip("[]"), port))
    raise UsageError(
        N_(
            "Set TSUNAGU_PUBLIC_URL to the address users reach tsunagu at (for example "
            "https://tsunagu.example.com) before serving on {host}: links in password-reset and "
            "verification e-mails point there."
        ),
        code="public_url_required",
        host=host,
    )

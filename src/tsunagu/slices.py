"""The composition root: every slice of tsunagu and what it contributes, in one list.

A slice contributes REST routes (its ``api.py``), dashboard pages, command groups, job kinds
and its section of the config file. This module is the only one that knows them all; the
kernel, the job runner, the application (``api/``), the pages (``web/``) and the commands
(``cli/``) are handed what they need from here and import no slice list of their own. Adding
a slice is one line in :data:`SLICES` (ADR 0019).

The console script ``tsunagu`` runs :func:`main`; ``tsunagu serve`` and the tests build the
application with :func:`create_app`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tsunagu.appeals import config as appeals_config
from tsunagu.appeals import jobs as appeals_jobs
from tsunagu.cli import appeals as appeals_cli
from tsunagu.cli import audit as audit_cli
from tsunagu.cli import db as db_cli
from tsunagu.cli import demo as demo_cli
from tsunagu.cli import enforcement as enforcement_cli
from tsunagu.cli import events as events_cli
from tsunagu.cli import health as health_cli
from tsunagu.cli import imports as imports_cli
from tsunagu.cli import jobs as jobs_cli
from tsunagu.cli import main as cli_main
from tsunagu.cli import marketplaces as marketplaces_cli
from tsunagu.cli import notifications as notifications_cli
from tsunagu.cli import orders as orders_cli
from tsunagu.cli import points as points_cli
from tsunagu.cli import sellers as sellers_cli
from tsunagu.cli import settlement as settlement_cli
from tsunagu.cli import tokens as tokens_cli
from tsunagu.cli import users as users_cli
from tsunagu.cli.context import Wiring
from tsunagu.enforcement import config as enforcement_config
from tsunagu.enforcement import jobs as enforcement_jobs
from tsunagu.health import config as health_config
from tsunagu.health import jobs as health_jobs
from tsunagu.jobs.registry import JobKind, JobKinds, by_name
from tsunagu.marketplaces import registry as regions
from tsunagu.notifications import config as notifications_config
from tsunagu.notifications import jobs as notifications_jobs
from tsunagu.points import config as points_config
from tsunagu.points import jobs as points_jobs
from tsunagu.settings import Settings
from tsunagu.settlement import config as settlement_config
from tsunagu.settlement import jobs as settlement_jobs

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

Command = Callable[..., Any]
#: where a slice's routes or pages are: ``"package.module:name"`` (``name`` defaults to
#: ``router``). They are imported when the application is built, so a command that serves no
#: request never loads the web framework (``tsunagu import …`` starts in half the time).
RouterRef = str


@dataclass(frozen=True)
class Slice:
    """What one slice adds to tsunagu. Every part is optional."""

    name: str
    #: REST routes under ``/v1``; each router carries its own sign-in dependency
    routers: tuple[RouterRef, ...] = ()
    #: dashboard pages that need a signed-in session
    pages: tuple[RouterRef, ...] = ()
    #: dashboard pages anyone may open (sign-in, password reset)
    public_pages: tuple[RouterRef, ...] = ()
    #: command groups: ``tsunagu <name> …``
    groups: tuple[tuple[str, typer.Typer], ...] = ()
    #: single commands: ``tsunagu <name>``
    commands: tuple[tuple[str, Command], ...] = ()
    jobs: tuple[JobKind, ...] = ()
    settings: tuple[regions.SettingsSection, ...] = ()


SLICES: tuple[Slice, ...] = (
    Slice("db", groups=(("db", db_cli.app),)),
    Slice("marketplaces", groups=(("marketplaces", marketplaces_cli.app),)),
    Slice(
        "sellers",
        routers=("tsunagu.sellers.api",),
        pages=("tsunagu.web.seller_pages",),
        groups=(("sellers", sellers_cli.app),),
    ),
    Slice(
        "events",
        routers=("tsunagu.events.api",),
        pages=("tsunagu.web.imports_pages",),
        groups=(("events", events_cli.app), ("import", imports_cli.app)),
    ),
    Slice(
        "orders",
        routers=("tsunagu.orders.api",),
        pages=("tsunagu.web.order_pages",),
        groups=(("orders", orders_cli.app),),
    ),
    Slice(
        "health",
        routers=("tsunagu.health.api",),
        pages=("tsunagu.web.health_pages", "tsunagu.web.export_pages"),
        groups=(("health", health_cli.app),),
        jobs=health_jobs.KINDS,
        settings=(health_config.SECTION,),
    ),
    Slice(
        "policy", routers=("tsunagu.health.compliance_api",), pages=("tsunagu.web.policy_pages",)
    ),
    Slice(
        "settlement",
        routers=("tsunagu.settlement.api",),
        groups=(("settlement", settlement_cli.app),),
        jobs=settlement_jobs.KINDS,
        settings=(settlement_config.SECTION,),
    ),
    Slice(
        "enforcement",
        routers=("tsunagu.enforcement.api",),
        groups=(("enforcement", enforcement_cli.app),),
        jobs=enforcement_jobs.KINDS,
        settings=(enforcement_config.SECTION,),
    ),
    Slice(
        "appeals",
        routers=("tsunagu.appeals.api",),
        pages=("tsunagu.web.enforcement_pages",),
        groups=(("appeals", appeals_cli.app),),
        jobs=appeals_jobs.KINDS,
        settings=(appeals_config.SECTION,),
    ),
    Slice(
        "points",
        routers=("tsunagu.points.api",),
        pages=("tsunagu.web.points_pages",),
        groups=(("points", points_cli.app),),
        jobs=points_jobs.KINDS,
        settings=(points_config.SECTION,),
    ),
    Slice(
        "notifications",
        routers=("tsunagu.notifications.api",),
        groups=(("notifications", notifications_cli.app),),
        jobs=notifications_jobs.KINDS,
        settings=(notifications_config.SECTION,),
    ),
    Slice(
        "jobs",
        routers=("tsunagu.jobs.api",),
        groups=(("jobs", jobs_cli.app),),
        commands=(("worker", jobs_cli.worker),),
    ),
    Slice(
        "identity",
        routers=(
            "tsunagu.identity.api",
            "tsunagu.access.api",
            "tsunagu.identity.api:links_router",
        ),
        pages=("tsunagu.web.account_pages",),
        public_pages=("tsunagu.web.auth_pages",),
        groups=(
            ("users", users_cli.app),
            ("tokens", tokens_cli.app),
            ("outbox", audit_cli.outbox_app),
            ("audit", audit_cli.audit_app),
        ),
    ),
    Slice("demo", groups=(("demo", demo_cli.app),), commands=(("serve", demo_cli.serve),)),
)


def job_kinds(slices: Iterable[Slice] = SLICES) -> JobKinds:
    """Every slice's job kinds by name."""
    return by_name(kind for s in slices for kind in s.jobs)


def sections(slices: Iterable[Slice] = SLICES) -> tuple[regions.SettingsSection, ...]:
    return tuple(section for s in slices for section in s.settings)


def load_registry(config_path: Path | None) -> regions.Registry:
    """The region table with every slice's section of the config file checked
    (``invalid_config`` names the file, the table and the key)."""
    registry = regions.load_registry(config_path)
    for section in sections():
        section.check(registry)
    return registry


def router_of(ref: RouterRef) -> APIRouter:
    """The router a slice names (``package.module:name``)."""
    from fastapi import APIRouter

    module, _, name = ref.partition(":")
    found = getattr(importlib.import_module(module), name or "router", None)
    if not isinstance(found, APIRouter):
        raise TypeError(f"{ref} names no APIRouter")
    return found


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    """The ASGI application with every slice's routes and pages."""
    from tsunagu.api.app import build_app
    from tsunagu.settings import load_settings
    from tsunagu.web.pages import assemble

    settings = settings or load_settings()
    return build_app(
        settings,
        registry=load_registry(settings.config_path),
        routers=[router_of(ref) for s in SLICES for ref in s.routers],
        pages=assemble(
            public=[router_of(ref) for s in SLICES for ref in s.public_pages],
            signed_in=[router_of(ref) for s in SLICES for ref in s.pages],
        ),
        job_kinds=job_kinds(),
        migrate=migrate,
    )


def cli() -> typer.Typer:
    """The ``tsunagu`` command with every slice's groups and commands."""
    return cli_main.assemble(
        groups=[group for s in SLICES for group in s.groups],
        commands=[command for s in SLICES for command in s.commands],
    )


def main() -> None:
    """The ``tsunagu`` console script."""
    cli_main.wire(
        Wiring(
            job_kinds=job_kinds(),
            sections=sections(),
            application=create_app,
            application_ref=f"{__name__}:create_app",
        )
    )
    cli_main.run(cli())

"""Request dependencies: the database session and the one access check.

Until sign-in exists, every request acts for the configured local owner, who may see every seller.
All seller-scoped routes depend on :func:`seller_access`, so making access real (users, roles,
tokens) changes this module only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.settings import Settings
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import seller_not_found


@dataclass(frozen=True)
class Actor:
    """Who is calling. ``sellers is None`` means every seller (the local owner)."""

    name: str
    sellers: frozenset[str] | None = None

    def can_access(self, seller_id: str) -> bool:
        return self.sellers is None or seller_id in self.sellers


def get_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.factory
    return factory


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route commits what it changes, anything else rolls back.

    GET and HEAD requests read through the read-only engine (no SQLite write lock).
    """
    factory = (
        request.app.state.read_factory
        if request.method in ("GET", "HEAD")
        else (get_factory(request))
    )
    with factory() as session:
        yield session


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


LOCAL_OWNER = Actor(name="local-owner")


def current_actor(request: Request) -> Actor:
    """Until sign-in exists every request acts for the installation's owner."""
    return LOCAL_OWNER


SessionDep = Annotated[Session, Depends(get_session)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[Actor, Depends(current_actor)]


def seller_access(
    actor: ActorDep,
    seller_id: Annotated[str, Path(min_length=1, max_length=40, description="Seller id.")],
) -> str:
    """The seller the route is about, if the caller may see it; 404 otherwise (no existence leak)."""
    if not actor.can_access(seller_id):
        raise seller_not_found(seller_id)
    return seller_id


SellerIdDep = Annotated[str, Depends(seller_access)]


def path_marketplace(
    marketplace: Annotated[
        str, Path(min_length=1, max_length=20, description="JP, US, … or an Amazon marketplace id.")
    ],
    registry: RegistryDep,
) -> Marketplace:
    """The marketplace named in the path; 404 ``unknown_marketplace`` otherwise."""
    return registry.require(marketplace)


MarketplaceDep = Annotated[Marketplace, Depends(path_marketplace)]

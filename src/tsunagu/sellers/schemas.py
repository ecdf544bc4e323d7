"""Seller shapes for the API and ``--json`` output."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tsunagu.sellers.models import Seller


class StoreOut(BaseModel):
    id: str
    marketplace: str = Field(examples=["JP"])
    created_at: datetime


class SellerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "sel_01jd0000000000000000000000",
                    "name": "Kyoto Tea Works",
                    "created_at": "2026-11-25T00:00:00Z",
                    "stores": [
                        {
                            "id": "sto_01jd0000000000000000000000",
                            "marketplace": "JP",
                            "created_at": "2026-11-25T00:00:00Z",
                        }
                    ],
                }
            ]
        }
    )

    id: str
    name: str
    created_at: datetime
    stores: list[StoreOut]

    @classmethod
    def of(cls, seller: Seller) -> SellerOut:
        return cls(
            id=seller.id,
            name=seller.name,
            created_at=seller.created_at,
            stores=[
                StoreOut(id=s.id, marketplace=s.marketplace, created_at=s.created_at)
                for s in seller.stores
            ],
        )


class SellerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Kyoto Tea Works", "marketplaces": ["JP", "US"]}]},
    )

    name: str = Field(min_length=1, max_length=200, description="The business name.")
    marketplaces: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Marketplace codes (JP, US, ...) or Amazon marketplace ids.",
    )


class SellerPage(BaseModel):
    items: list[SellerOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


class MarketplaceOut(BaseModel):
    code: str = Field(examples=["JP"])
    marketplace_id: str = Field(examples=["A1VC38T7YXB528"])
    currency: str
    timezone: str
    sales_channel: str
    region: str
    name: str
    builtin: bool

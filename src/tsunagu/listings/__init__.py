"""Listings: a seller's offers in each marketplace. Until the catalog feature lands this is the
minimal offer table the points programme needs (SKU, category, points rate); the catalog extends
the same table."""

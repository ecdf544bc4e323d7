"""tsunagu — seller-side marketplace systems across regions, as inspectable software."""

__version__ = "0.1.0"

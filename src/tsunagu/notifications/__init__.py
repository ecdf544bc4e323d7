"""The notifications slice (issue 14)."""

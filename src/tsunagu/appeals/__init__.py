"""The appeals slice (issue 14)."""

"""The enforcement slice (issue 14)."""

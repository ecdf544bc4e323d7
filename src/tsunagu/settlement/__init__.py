"""The settlement slice (issue 14)."""

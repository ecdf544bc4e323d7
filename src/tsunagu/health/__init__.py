"""Account health: performance metrics and the Account Health Rating (AHR)."""

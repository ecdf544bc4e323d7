"""The points slice (issue 15): a Japan-style, seller-funded loyalty ledger."""

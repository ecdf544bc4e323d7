"""Identity and security core: principals, passwords, sign-in throttling, sessions, TOTP,
recovery codes and the audit log.

Subject-agnostic on purpose (issue 6, point 11; ADR 0012): a *principal* is anyone who signs in —
a seller's user today, a buyer with the customer-account issue. Nothing here knows sellers,
stores or roles; memberships live in the slices that grant access.
"""

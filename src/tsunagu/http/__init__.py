"""What the REST API, the slices' routes and the dashboard share about HTTP requests.

:mod:`tsunagu.http.deps` turns a request into its caller, session and seller, and
:mod:`tsunagu.http.responses` holds the error envelope and the documentation helpers. Neither
``api`` nor ``web`` imports the other: both build on this package (ADR 0019).
"""

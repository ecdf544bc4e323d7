"""Who may do what with which seller: memberships (owner / manager / viewer per seller), the
platform-wide operator, and the pure rule :func:`tsunagu.access.rules.can` (ADR 0013).

The identity slice knows principals and nothing about sellers; this slice ties the two together.
"""

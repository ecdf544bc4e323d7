"""Jobs of the enforcement slice."""

from __future__ import annotations

from tsunagu.jobs.registry import JobKind

#: the enforcement slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = ()

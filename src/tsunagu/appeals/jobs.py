"""Jobs of the appeals slice."""

from __future__ import annotations

from tsunagu.jobs.registry import JobKind

#: the appeals slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = ()

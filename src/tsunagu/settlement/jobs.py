"""Jobs of the settlement slice."""

from __future__ import annotations

from tsunagu.jobs.registry import JobKind

#: the settlement slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = ()

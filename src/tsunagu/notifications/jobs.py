"""Jobs of the notifications slice."""

from __future__ import annotations

from tsunagu.jobs.registry import JobKind

#: the notifications slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = ()

"""The composition root (``tsunagu/slices.py``, ADR 0019): one list of slices, and what each
contributes reaches the application, the command line and the job runner."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi import APIRouter

from tsunagu import slices
from tsunagu.jobs.registry import JobKind, by_name


def test_every_slice_is_listed_once_and_every_router_it_names_exists():
    names = [s.name for s in slices.SLICES]
    assert len(names) == len(set(names))
    refs = [ref for s in slices.SLICES for ref in (*s.routers, *s.pages, *s.public_pages)]
    assert refs
    assert len(refs) == len(set(refs))
    assert all(isinstance(slices.router_of(ref), APIRouter) for ref in refs)


def test_a_reference_to_something_that_is_not_a_router_is_refused():
    with pytest.raises(TypeError, match="names no APIRouter"):
        slices.router_of("tsunagu.slices:SLICES")
    with pytest.raises(ModuleNotFoundError):
        slices.router_of("tsunagu.nowhere.api")


def test_the_runner_gets_every_slices_job_kinds_and_a_name_twice_is_an_error():
    kinds = slices.job_kinds()
    assert set(kinds) == {k.name for s in slices.SLICES for k in s.jobs}
    assert "health.alerts" in kinds

    def handler(*_: object) -> dict[str, object]:
        return {}

    twice = JobKind(name="x.y", handler=handler, description="")
    with pytest.raises(ValueError, match="listed twice"):
        by_name([twice, twice])


def test_a_slice_added_to_the_list_reaches_the_command_line_and_the_runner():
    def handler(*_: object) -> dict[str, object]:
        return {}

    extra = slices.Slice(
        "extra", jobs=(JobKind(name="extra.nightly", handler=handler, description="n"),)
    )
    assert "extra.nightly" in slices.job_kinds((*slices.SLICES, extra))
    app = slices.cli()
    group_names = {group.name for group in app.registered_groups}
    assert group_names == {name for s in slices.SLICES for name, _ in s.groups}


def test_the_command_line_does_not_load_the_web_framework():
    """Commands that serve no request start without FastAPI and the pages; ``serve`` builds the
    application when it runs."""
    code = (
        "import sys; from tsunagu import slices; slices.cli(); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette') "
        "or m.startswith(('tsunagu.web', 'tsunagu.api'))]; print(loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

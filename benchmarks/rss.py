"""Peak resident memory (RSS) of this process or of a running child, in MB.

On Linux the peak (``VmHWM``) can be reset (``/proc/self/clear_refs``), so a step that runs in a
process shared with other steps can report its own peak: :func:`reset_own_peak` before the step,
:func:`own_peak_mb` after it. Elsewhere the peak is the process's since it started.
"""

from __future__ import annotations

import resource
from pathlib import Path


def _vm_hwm_mb(pid: int | str) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def reset_own_peak() -> bool:
    """Start this process's peak RSS again from its current RSS; False where that is not
    possible (then the peak stays the one since start)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def own_peak_mb() -> float:
    """This process's peak RSS since start or since :func:`reset_own_peak`."""
    found = _vm_hwm_mb("self")
    if found is not None:
        return found
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def peak_mb_of(pid: int) -> float | None:
    """A running process's peak RSS; None where there is no ``/proc`` or the process is gone.
    Read it just before stopping the process."""
    return _vm_hwm_mb(pid)

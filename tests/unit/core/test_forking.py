"""fork() freezes the parent's objects so the children keep sharing their pages."""

from __future__ import annotations

import gc
import os

from vmail.core.forking import fork


def test_fork_freezes_the_parents_objects_first() -> None:
    gc.unfreeze()
    try:
        pid = fork()
        if pid == 0:  # the child: nothing to do but leave at once
            os._exit(0 if gc.get_freeze_count() > 0 else 1)
        assert gc.get_freeze_count() > 0
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        gc.unfreeze()

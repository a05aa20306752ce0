"""``vmail reload`` and ``vmail stop``: signal the running ``vmail serve``.

The server's process ID is read from ``$queue_directory/pid/master.pid``; ``reload``
sends SIGHUP (re-read main.cf, master.cf and the tables), ``stop`` sends SIGTERM (finish
what is in progress, then exit). A missing or stale PID file is an error, as with
``postfix reload`` when Postfix is not running. :func:`wake_server` (SIGUSR1) is how
``sendmail`` and ``postqueue -f`` make the server look at the queue at once.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from vmail.config import MainConfig
from vmail.core.errors import VmailError

PID_FILE = "pid/master.pid"
SIGNALS = {"reload": signal.SIGHUP, "stop": signal.SIGTERM}


class NotRunningError(VmailError):
    """No vmail serve is running for this configuration."""


def wake_server(config: MainConfig) -> bool:
    """SIGUSR1 to a running vmail serve: run the queue now. False if none is running."""
    pid_file = Path(config.get("queue_directory")) / PID_FILE
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGUSR1)
    except (OSError, ValueError):
        return False
    return True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options besides -c."""


def run(args: argparse.Namespace) -> int:
    config = MainConfig.load(args.config_dir)
    pid_file = Path(config.get("queue_directory")) / PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, SIGNALS[args.command])
    except (FileNotFoundError, ValueError):
        raise NotRunningError(f"the mail system is not running ({pid_file})") from None
    except ProcessLookupError:
        raise NotRunningError(f"the mail system is not running (stale {pid_file})") from None
    what = "refreshing the mail system" if args.command == "reload" else "stopping the mail system"
    print(f"vmail/{args.command}: {what}")
    return 0

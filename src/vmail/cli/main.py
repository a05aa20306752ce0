"""The ``vmail`` command: dispatches to one module per subcommand.

``-c DIR`` (the configuration directory) is accepted before or after the subcommand, as
in ``vmail -c DIR postconf`` and ``vmail postconf -c DIR``; ``$VMAIL_CONFIG_DIR`` is the
fallback. Every expected failure is one line on stderr and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import weakref
from collections.abc import Callable, Sequence
from importlib import import_module
from types import ModuleType

from vmail import __version__
from vmail.core.errors import VmailError

# command parsers that report unknown options as getopt(3) does ("invalid option -- 'x'"),
# as the Postfix tools they stand for (see vmail.cli.queue_support.usage_errors)
GETOPT_STYLE: weakref.WeakSet[argparse.ArgumentParser] = weakref.WeakSet()

# subcommand -> module under vmail.cli providing add_arguments(parser) and run(args) -> int
SUBCOMMANDS: dict[str, str] = {
    "postconf": "Print configuration parameters, as Postfix's postconf(1).",
    "postmap": "Compile or query lookup tables, as Postfix's postmap(1).",
    "route": "Explain what happens to mail for an address.",
    "init": "Create a ready-to-run configuration directory and directory database.",
    "domain": "Add, list, show, edit or delete mail domains.",
    "mailbox": "Add, list, show, edit or delete mailboxes, or set a password.",
    "alias": "Add, list, show, edit or delete aliases and forwardings.",
    "alias-domain": "Add, list, show, edit or delete alias domains.",
    "admin": "Add, list, show, edit or delete administrators.",
    "token": "Create, list or revoke REST API tokens.",
    "import": "Import domains, mailboxes and aliases from Postfix or a Dovecot passwd-file.",
    "postqueue": "List or flush the mail queue, as Postfix's postqueue(1).",
    "postsuper": "Delete, hold, release or requeue queued mail, as Postfix's postsuper(1).",
    "postcat": "Show a queued message, as Postfix's postcat(1).",
    "serve": "Run the mail system (SMTP listeners, queue manager, delivery agents).",
    "reload": "Make a running vmail serve re-read its configuration (SIGHUP).",
    "stop": "Stop a running vmail serve gracefully (SIGTERM).",
    "sendmail": "Post a message from stdin, as Sendmail/Postfix's sendmail(1).",
}
# subcommands whose module name differs from the command (``import`` is a Python keyword)
MODULE_NAMES = {"import": "importer", "reload": "control", "stop": "control"}

EXIT_USAGE = 2
EXIT_FAILURE = 1


def _config_dir_option(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "-c",
        dest="config_dir",
        metavar="DIR",
        default=default,
        help="configuration directory (default: $VMAIL_CONFIG_DIR, else /etc/vmail)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vmail", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"vmail {__version__}")
    _config_dir_option(parser, default=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in SUBCOMMANDS.items():
        module = _module(name)
        sub = subparsers.add_parser(name, help=summary, description=summary)
        # SUPPRESS keeps a -c given before the subcommand from being overwritten.
        _config_dir_option(sub, default=argparse.SUPPRESS)
        module.add_arguments(sub)
        sub.set_defaults(command_parser=sub)  # reports the command's unknown options
    return parser


def _module(name: str) -> ModuleType:
    module = MODULE_NAMES.get(name, name.replace("-", "_"))
    return import_module(f"vmail.cli.{module}")


def _warnings_to_stderr(command: str) -> None:
    """Library warnings appear as ``vmail COMMAND: warning: text``, Postfix-style."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"vmail {command}: warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    root = logging.getLogger("vmail")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def _sendmail(argv: Sequence[str]) -> int:
    """``vmail [-c DIR] sendmail ARGS``: Sendmail's own option syntax, not argparse's."""
    config_dir = None
    if argv[:1] == ["-c"]:
        config_dir, argv = argv[1], argv[2:]
    from vmail.cli.sendmail import run_argv

    _warnings_to_stderr("sendmail")
    try:
        return run_argv(argv[1:], config_dir)
    except VmailError as e:
        print(f"sendmail: fatal: {e}", file=sys.stderr)
        return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    head = args_list[2:] if args_list[:1] == ["-c"] else args_list
    if head[:1] == ["sendmail"]:
        return _sendmail(args_list)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # the command's parser answers (postqueue, postsuper...: as Postfix's getopt would)
        reporter: argparse.ArgumentParser = getattr(args, "command_parser", parser)
        first = unknown[0]
        if reporter in GETOPT_STYLE and first[:1] == "-" and first[1:2] not in ("", "-"):
            reporter.error(f"invalid option -- '{first[1]}'")
        reporter.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    run: Callable[[argparse.Namespace], int] = _module(args.command).run
    _warnings_to_stderr(args.command)
    try:
        return run(args)
    except VmailError as e:
        print(f"vmail {args.command}: fatal: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130

"""The pipe agent: master.cf attributes, argv macros, flags, statuses, batches."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.unit.delivery.command_helpers import AS_ROOT, nobody_uid, open_dir, script
from vmail.config import MainConfig
from vmail.config.master import MasterConfig
from vmail.delivery.pipe import PipeAgent, unescape
from vmail.delivery.request import DeliveryRequest, DeliveryResult, MessageInfo, Status

__all__ = ["open_dir"]

MESSAGE = b"Subject: hi\r\n\r\nFrom here\r\n.dot\r\nlast"

# Records its argv (JSON, one element per line) and its input.
RECORDER = """\
out="$(dirname "$0")"
for a in "$@"; do printf '%s\\n' "$a"; done > "$out/argv"
cat > "$out/stdin"
"""


def agent(line: str, **settings: str) -> PipeAgent:
    master = MasterConfig.from_text(line)
    values = {"recipient_delimiter": "+", "queue_directory": "/nonexistent", **settings}
    config = MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in values.items()))
    return PipeAgent(config, master.services[0])


def request(rcpt: str, sender: str = "s@x.org", orig: str = "", **info: object) -> DeliveryRequest:
    message = MessageInfo(
        "4ABC",
        sender,
        size=int(info.pop("size", len(MESSAGE))),  # type: ignore[call-overload]
        client={
            "address": "192.0.2.1",
            "helo": "mx.x.org",
            "name": "mx.x.org",
            "port": "2525",
            "protocol": "ESMTP",
            "sasl_username": "joe",
        },
    )
    return DeliveryRequest("4ABC", sender, rcpt, orig, "svc", "Next.Hop", message=message)


def deliver(
    a: PipeAgent, *requests: DeliveryRequest, data: bytes = MESSAGE
) -> list[DeliveryResult]:
    return a.deliver_batch(list(requests), lambda: [data])


def argv_of(directory: Path) -> list[str]:
    return (directory / "argv").read_text().splitlines()


def service(directory: Path, attrs: str, *args: str, name: str = "svc") -> str:
    cmd = script(directory, "cmd", RECORDER)
    return f"{name} unix - n n - - pipe {attrs} user=nobody argv={cmd} " + " ".join(args)


def test_autoreply_reference_example(open_dir: Path) -> None:
    # VIRTUAL_README: flags= user=nobody argv=/path/to/autoreply $sender $mailbox
    a = agent(service(open_dir, "flags=", "$sender", "$mailbox", name="autoreply"))
    [result] = deliver(a, request("user@domain.tld@autoreply.mydomain.tld"))
    assert result == DeliveryResult(Status.SENT, "2.0.0", "delivered via autoreply service")
    assert argv_of(open_dir) == ["s@x.org", "user@domain.tld"]
    assert (open_dir / "stdin").read_bytes() == b"Subject: hi\n\nFrom here\n.dot\nlast\n"


def test_dovecot_reference_example_flags(open_dir: Path) -> None:
    # flags=DRhu user=vmail:vmail argv=/usr/lib/dovecot/deliver -f ${sender} -d ${recipient}
    line = service(open_dir, "flags=DRhu", "-f", "${sender}", "-d", "${recipient}")
    line = line.replace("user=nobody", "user=nobody:nogroup")
    [result] = deliver(agent(line), request("John.Doe+Box@Example.COM", "S@X.org"))
    assert result.status is Status.SENT
    assert argv_of(open_dir) == ["-f", "S@X.org", "-d", "john.doe+box@example.com"]
    assert (open_dir / "stdin").read_bytes() == (
        b"Return-Path: <S@X.org>\nDelivered-To: John.Doe+Box@Example.COM\n"
        b"Subject: hi\n\nFrom here\n.dot\nlast\n"
    )


def test_all_header_flags_in_order(open_dir: Path) -> None:
    a = agent(service(open_dir, "flags=FRODB.>"))
    deliver(a, request("r@y.org", orig="alias@y.org"))
    lines = (open_dir / "stdin").read_bytes().split(b"\n")
    assert lines[0].startswith(b"From s@x.org  ")
    assert len(lines[0]) == len(b"From s@x.org  ") + 24
    assert lines[1:] == [
        b"Return-Path: <s@x.org>",
        b"X-Original-To: alias@y.org",
        b"Delivered-To: r@y.org",
        b"Subject: hi",
        b"",
        b">From here",
        b"..dot",
        b"last",
        b"",
        b"",
    ]


def test_eol_attribute(open_dir: Path) -> None:
    deliver(agent(service(open_dir, "eol=\\r\\n flags=B")), request("r@y.org"))
    assert (open_dir / "stdin").read_bytes() == (
        b"Subject: hi\r\n\r\nFrom here\r\n.dot\r\nlast\r\n\r\n"
    )
    assert unescape("a\\tb\\101\\\\") == "a\tbA\\"


def test_null_sender(open_dir: Path) -> None:
    deliver(agent(service(open_dir, "flags=R", "$sender")), request("r@y.org", sender=""))
    assert argv_of(open_dir) == ["MAILER-DAEMON"]
    assert (open_dir / "stdin").read_bytes().startswith(b"Return-Path: <MAILER-DAEMON>\n")
    deliver(
        agent(service(open_dir, "null_sender= flags=R", "-f", "$sender")),
        request("r@y.org", sender=""),
    )
    assert argv_of(open_dir) == ["-f", ""]
    assert (open_dir / "stdin").read_bytes().startswith(b"Return-Path: <>\n")


def test_all_macros(open_dir: Path) -> None:
    args = [
        "${nexthop}",
        "$queue_id",
        "$(size)",
        "${client_address}",
        "${client_helo}",
        "${client_hostname}",
        "${client_port}",
        "${client_protocol}",
        "${sasl_username}",
        "${sasl_method}",
        "x$${user}",
        "u=$user",
        "e=$extension",
        "m=$mailbox",
        "d=$domain",
        "o=$original_recipient",
    ]
    deliver(agent(service(open_dir, "flags=", *args)), request("Joe+Tag@Y.org", orig="a@y.org"))
    assert argv_of(open_dir) == [
        "Next.Hop",
        "4ABC",
        str(len(MESSAGE)),
        "192.0.2.1",
        "mx.x.org",
        "mx.x.org",
        "2525",
        "ESMTP",
        "joe",
        "",
        "x${user}",
        "u=Joe",
        "e=Tag",
        "m=Joe+Tag",
        "d=Y.org",
        "o=a@y.org",
    ]


def test_batch_repeats_recipient_arguments(open_dir: Path) -> None:
    a = agent(service(open_dir, "flags=h", "-n", "$nexthop", "--", "$recipient", "u=$user"))
    results = deliver(a, request("a@X.org"), request("b+e@Y.org"), request("@z.org"))
    assert [r.status for r in results] == [Status.SENT] * 3
    assert argv_of(open_dir) == [
        "-n",
        "next.hop",
        "--",
        "a@x.org",
        "b+e@y.org",
        "@z.org",
        "u=a",
        "u=b",
    ]


def test_q_flag_quotes_local_parts(open_dir: Path) -> None:
    a = agent(service(open_dir, "flags=q", "$sender", "$recipient", "$mailbox"))
    deliver(a, request("john doe@y.org", sender='a"b c@x.org'))
    assert argv_of(open_dir) == ['"a\\"b c"@x.org', '"john doe"@y.org', "john doe"]


def test_shell_metacharacters_stay_in_argv(open_dir: Path) -> None:
    a = agent(service(open_dir, "flags=", "$sender", "$recipient"))
    evil = "$(touch${IFS}pwned);`id`|x"
    deliver(a, request(f"{evil}@y.org", sender=f"{evil}@x.org"))
    assert argv_of(open_dir) == [f"{evil}@x.org", f"{evil}@y.org"]
    assert not (open_dir / "pwned").exists()


def test_d_and_o_need_single_recipient(open_dir: Path) -> None:
    for flags in ("D", "O"):
        results = deliver(
            agent(service(open_dir, f"flags={flags}")), request("a@y.org"), request("b@y.org")
        )
        assert (
            results
            == [DeliveryResult(Status.DEFERRED, "4.3.5", "mail system configuration error")] * 2
        )


def test_delivered_to_loop(open_dir: Path) -> None:
    data = b"Delivered-To: R@Y.org\r\n" + MESSAGE
    [result] = deliver(agent(service(open_dir, "flags=D")), request("r@y.org"), data=data)
    assert result == DeliveryResult(Status.BOUNCED, "5.4.6", "mail forwarding loop for r@y.org")
    assert not (open_dir / "stdin").exists()
    [result] = deliver(agent(service(open_dir, "flags=")), request("r@y.org"), data=data)
    assert result.status is Status.SENT


def test_size_limit(open_dir: Path) -> None:
    a = agent(service(open_dir, "size=10 flags="))
    assert deliver(a, request("r@y.org")) == [
        DeliveryResult(Status.BOUNCED, "5.2.3", "message too large")
    ]
    assert deliver(a, request("r@y.org", size=10))[0].status is Status.SENT


def test_exit_status_and_output(open_dir: Path) -> None:
    cmd = script(open_dir, "fail", "echo 'no such user:' \"$1\"; exit 67\n")
    a = agent(f"svc unix - n n - - pipe user=nobody argv={cmd} $user")
    assert (
        deliver(a, request("bob@y.org"), request("al@y.org"))
        == [
            DeliveryResult(
                Status.BOUNCED, "5.1.1", "user unknown. Command output: no such user: bob "
            )
        ]
        * 2
    )


def test_success_output_and_final_delivery_flag(open_dir: Path) -> None:
    cmd = script(open_dir, "ok", "cat >/dev/null; echo '  saved to INBOX  '\n")
    a = agent(f"svc unix - n n - - pipe flags=X user=nobody argv={cmd}")
    assert deliver(a, request("r@y.org")) == [
        DeliveryResult(Status.SENT, "2.0.0", "delivered via svc service (saved to INBOX)")
    ]


def test_time_limit_from_service_parameter(open_dir: Path) -> None:
    cmd = script(open_dir, "slow", "sleep 30\n")
    a = agent(f"svc unix - n n - - pipe user=nobody argv={cmd}", svc_time_limit="1s")
    started = time.monotonic()
    [result] = deliver(a, request("r@y.org"))
    assert time.monotonic() - started < 5
    assert (result.status, result.dsn, result.text) == (
        Status.BOUNCED,
        "5.3.0",
        f'Command time limit exceeded: "{cmd}"',
    )
    assert agent(f"svc unix - n n - - pipe user=nobody argv={cmd}").time_limit == 1000
    b = agent(f"svc unix - n n - - pipe user=nobody argv={cmd}", command_time_limit="7")
    assert b.time_limit == 7


@pytest.mark.parametrize(
    ("attrs", "problem"),
    [
        ("user=root", "user= command-line attribute specifies root privileges"),
        ("user=nobody:root", "user= command-line attribute specifies privileged group id 0"),
        ("user=postfix", "user= command-line attribute specifies mail system owner postfix"),
        ("user=no-such-user-x", "get_service_attr: unknown username: no-such-user-x"),
        ("user=nobody:no-such-group", "get_service_attr: unknown group: no-such-group"),
        ("user=nobody flags=Z", "unknown flag: Z (ignored)"),
        ("user=nobody size=big", "get_service_attr: bad size= value: big"),
    ],
)
def test_bad_attributes_defer(attrs: str, problem: str) -> None:
    a = agent(f"svc unix - n n - - pipe {attrs} argv=/bin/true")
    if "postfix" in attrs:
        a = agent(f"svc unix - n n - - pipe {attrs} argv=/bin/true", mail_owner="postfix")
    assert a.problem == problem
    assert deliver(a, request("r@y.org")) == [
        DeliveryResult(Status.DEFERRED, "4.3.5", "mail system configuration error")
    ]


def test_unknown_macro_defers() -> None:
    a = agent("svc unix - n n - - pipe user=nobody argv=/bin/echo ${bogus}")
    assert a.problem == 'file master.cf: service svc: unknown macro name: "bogus"'
    assert deliver(a, request("r@y.org"))[0].dsn == "4.3.5"


@pytest.mark.skipif(not AS_ROOT, reason="privilege drop needs root")
def test_runs_as_user_attribute(open_dir: Path) -> None:
    cmd = script(open_dir, "who", 'id -u > "$(dirname "$0")/uid"\n')
    deliver(agent(f"svc unix - n n - - pipe user=nobody argv={cmd}"), request("r@y.org"))
    assert (open_dir / "uid").read_text().strip() == str(nobody_uid())


def test_directory_attribute(open_dir: Path) -> None:
    cmd = script(open_dir, "pwd", 'pwd > "$(dirname "$0")/cwd"\n')
    deliver(
        agent(f"svc unix - n n - - pipe directory=/ user=nobody argv={cmd}"), request("r@y.org")
    )
    assert (open_dir / "cwd").read_text().strip() == "/"


def test_empty_batch() -> None:
    assert agent("svc unix - n n - - pipe user=nobody argv=/bin/true").deliver_batch([], list) == []


DOVECOT_LDA = Path("/usr/lib/dovecot/dovecot-lda")


@pytest.mark.skipif(not DOVECOT_LDA.exists() or not AS_ROOT, reason="needs dovecot-lda and root")
def test_real_dovecot_lda(open_dir: Path) -> None:
    # The reference's LDA service, with a private configuration and no auth service
    # (so without -d: the LDA delivers for the user it runs as).
    conf = open_dir / "dovecot.conf"
    conf.write_text(
        f"ssl = no\nbase_dir = {open_dir}/run\nlog_path = {open_dir}/lda.log\n"
        f"mail_location = maildir:{open_dir}/mail\nprotocols =\n"
    )
    conf.chmod(0o644)
    line = (
        "dovecot unix - n n - - pipe flags=DRhu user=nobody:nogroup "
        f"argv={DOVECOT_LDA} -c {conf} -f ${{sender}}"
    )
    [result] = deliver(agent(line), request("User@Example.COM"))
    assert result == DeliveryResult(Status.SENT, "2.0.0", "delivered via dovecot service")
    [path] = (open_dir / "mail" / "new").iterdir()
    assert path.read_bytes().startswith(
        b"Return-Path: <s@x.org>\nDelivered-To: User@Example.COM\nSubject: hi\n"
    )


def test_missing_user_attribute_defers() -> None:
    a = agent("svc unix - n n - - pipe argv=/bin/true")
    assert a.problem is not None
    assert "missing user=" in a.problem
    assert deliver(a, request("r@y.org"))[0].dsn == "4.3.5"

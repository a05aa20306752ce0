"""The local agent: aliases(5) with |command, /file, /dir/, :include:, owner-, restrictions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.delivery.command_helpers import AS_ROOT, nobody_uid, open_dir, script
from vmail.config import MainConfig
from vmail.core.errors import TemporaryError
from vmail.core.reply import Reply
from vmail.delivery.local import Forward, LocalAgent
from vmail.delivery.request import DeliveryRequest, DeliveryResult, MessageInfo, Status

__all__ = ["open_dir"]

MESSAGE = b"Subject: hi\r\n\r\nFrom here\r\nbody\r\n"


def agent(directory: Path, aliases: str, **settings: str) -> LocalAgent:
    (directory / "aliases").write_text(aliases)
    values = {
        "alias_maps": f"texthash:{directory}/aliases",
        "myhostname": "host.example.com",
        "mydomain": "example.com",
        "myorigin": "example.com",
        "mydestination": "example.com, localhost",
        "recipient_delimiter": "+",
        "command_time_limit": "10s",
        **settings,
    }
    return LocalAgent(MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in values.items())))


def deliver(a: LocalAgent, rcpt: str, data: bytes = MESSAGE, orig: str = "") -> DeliveryResult:
    message = MessageInfo("4ABC", "s@x.org", client={"address": "192.0.2.1"})
    request = DeliveryRequest(
        "4ABC", "s@x.org", rcpt, orig, "local", "example.com", message=message
    )
    [result] = a.deliver_batch([request], lambda: [data])
    return result


ENV_DUMP = 'env | sort > "$(dirname "$0")/env.$1"; cat > "$(dirname "$0")/stdin.$1"\n'


def test_mailing_list_reference_example(open_dir: Path) -> None:
    # VIRTUAL_README: listname: "|/some/where/majordomo/wrapper ..." with owner-listname
    wrapper = script(open_dir, "wrapper", ENV_DUMP)
    aliases = (
        f'listname: "|{wrapper} list"\n'
        f"owner-listname: admin\n"
        f'listname-request: "|{wrapper} request"\n'
        "admin: /dev/null\n"
    )
    a = agent(open_dir, aliases)
    result = deliver(a, "listname@example.com", orig="listname@hosted.example")
    assert result == DeliveryResult(Status.SENT, "2.0.0", f"delivered to command: {wrapper} list")
    env = (open_dir / "env.list").read_text().splitlines()
    assert "SENDER=owner-listname@example.com" in env
    assert "RECIPIENT=listname@example.com" in env
    assert "LOCAL=listname" in env
    assert "USER=listname" in env
    assert "DOMAIN=example.com" in env
    assert "ORIGINAL_RECIPIENT=listname@hosted.example" in env
    assert "CLIENT_ADDRESS=192.0.2.1" in env
    assert "PATH=/usr/bin:/bin" in env
    stdin = (open_dir / "stdin.list").read_bytes().split(b"\n")
    assert stdin[0].startswith(b"From owner-listname@example.com  ")
    assert stdin[1:] == [
        b"Return-Path: <owner-listname@example.com>",
        b"X-Original-To: listname@hosted.example",
        b"Delivered-To: listname@example.com",
        b"Subject: hi",
        b"",
        b"From here",
        b"body",
        b"",
    ]
    result = deliver(a, "listname-request@example.com")
    assert result.text == f"delivered to command: {wrapper} request"
    assert "SENDER=s@x.org" in (open_dir / "env.request").read_text().splitlines()


def test_expand_owner_alias(open_dir: Path) -> None:
    aliases = "list: |/bin/true\nowner-list: boss@elsewhere.org\n"
    a = agent(open_dir, aliases, expand_owner_alias="yes")
    [target] = a.expand(DeliveryRequest("4ABC", "s@x.org", "list@example.com"))
    assert target.sender == "boss@elsewhere.org"


def test_command_with_shell_syntax_and_extension(open_dir: Path) -> None:
    out = open_dir / "out"
    a = agent(open_dir, f'joe: "|echo $EXTENSION:$LOCAL > {out}"\n')
    result = deliver(a, "Joe+Tag@example.com")
    assert result.status is Status.SENT
    assert out.read_text() == "tag:joe+tag\n"


def test_environment_is_filtered(open_dir: Path) -> None:
    a = agent(open_dir, "x: |/bin/true\n")
    request = DeliveryRequest("4ABC", "a`b$c@x.org", "x@example.com")
    [target] = a.expand(request)
    assert a.environment(request, target)["SENDER"] == "a_b_c@x.org"


def test_command_failure_statuses(open_dir: Path) -> None:
    fail = script(open_dir, "fail", "echo sorry; exit 67\n")
    a = agent(open_dir, f"bad: |{fail}\nslow: |/bin/sleep 30\n", command_time_limit="1s")
    assert deliver(a, "bad@example.com") == DeliveryResult(
        Status.BOUNCED, "5.1.1", "user unknown. Command output: sorry "
    )
    result = deliver(a, "slow@example.com")
    assert (result.status, result.dsn, result.text) == (
        Status.BOUNCED,
        "5.3.0",
        'Command time limit exceeded: "/bin/sleep 30"',
    )


@pytest.mark.skipif(not AS_ROOT, reason="privilege drop needs root")
def test_commands_run_as_default_privs(open_dir: Path) -> None:
    out = open_dir / "uid"
    a = agent(open_dir, f'who: "|id -u > {out}"\n')
    assert deliver(a, "who@example.com").status is Status.SENT
    assert out.read_text().strip() == str(nobody_uid())


def test_file_delivery_mbox(open_dir: Path) -> None:
    box = open_dir / "box"
    a = agent(open_dir, f"f: {box}\n")
    assert deliver(a, "f@example.com") == DeliveryResult(
        Status.SENT, "2.0.0", f"delivered to file: {box}", str(box)
    )
    deliver(a, "f@example.com")
    lines = box.read_bytes().split(b"\n")
    assert lines[0].startswith(b"From s@x.org  ")
    assert lines[1:9] == [
        b"Return-Path: <s@x.org>",
        b"X-Original-To: f@example.com",
        b"Delivered-To: f@example.com",
        b"Subject: hi",
        b"",
        b">From here",
        b"body",
        b"",
    ]
    assert lines[9].startswith(b"From s@x.org  ")
    if AS_ROOT:
        assert box.stat().st_uid == nobody_uid()


def test_file_delivery_maildir(open_dir: Path) -> None:
    a = agent(open_dir, f"m: {open_dir}/Maildir/\n")
    result = deliver(a, "m@example.com")
    assert (result.status, result.text) == (Status.SENT, "delivered to maildir")
    [path] = (open_dir / "Maildir" / "new").iterdir()
    assert path.read_bytes().startswith(b"Return-Path: <s@x.org>\n")


@pytest.mark.skipif(not AS_ROOT, reason="needs root to test another user's rights")
def test_file_not_writable_by_default_privs(tmp_path: Path) -> None:
    box = tmp_path / "box"
    box.write_bytes(b"")
    box.chmod(0o644)
    a = agent(tmp_path, f"f: {box}\n")
    assert deliver(a, "f@example.com") == DeliveryResult(
        Status.BOUNCED,
        "5.2.0",
        f"cannot append message to file {box}: cannot open file: Permission denied",
        str(box),
    )
    assert box.read_bytes() == b""


def test_include_file(open_dir: Path) -> None:
    out = open_dir / "out"
    members = open_dir / "members"
    members.write_text(f"# members\nsub1, sub2\n{open_dir}/inc-box\n|echo x > {out}\n")
    aliases = f"list: :include:{members}\nsub1: {open_dir}/sub1\nsub2: {open_dir}/sub2\n"
    a = agent(open_dir, aliases)
    result = deliver(a, "list@example.com")
    assert result == DeliveryResult(Status.BOUNCED, "5.7.1", "mail to file is restricted")
    assert (open_dir / "sub1").exists()
    assert (open_dir / "sub2").exists()
    assert not (open_dir / "inc-box").exists()
    assert not out.exists()
    a = agent(
        open_dir,
        aliases,
        allow_mail_to_files="alias, include",
        allow_mail_to_commands="alias, include",
    )
    assert deliver(a, "list@example.com").status is Status.SENT
    assert (open_dir / "inc-box").exists()
    assert out.read_text() == "x\n"


def test_include_problems(open_dir: Path) -> None:
    a = agent(open_dir, "rel: :include:members\nmissing: :include:/nonexistent/x\n")
    assert deliver(a, "rel@example.com") == DeliveryResult(
        Status.BOUNCED, "5.3.5", "mail system configuration error"
    )
    assert deliver(a, "missing@example.com") == DeliveryResult(
        Status.BOUNCED,
        "5.3.0",
        "cannot open include file /nonexistent/x: No such file or directory",
    )


def test_commands_restricted(open_dir: Path) -> None:
    a = agent(open_dir, "c: |/bin/true\n", allow_mail_to_commands="forward")
    assert deliver(a, "c@example.com") == DeliveryResult(
        Status.BOUNCED, "5.7.1", "mail to command is restricted"
    )


def test_unknown_user(open_dir: Path) -> None:
    a = agent(open_dir, "known: /dev/null\n")
    assert deliver(a, "Nobody+x@example.com") == DeliveryResult(
        Status.BOUNCED, "5.1.1", 'unknown user: "nobody+x"'
    )


def test_recursive_and_self_aliases(open_dir: Path) -> None:
    aliases = f"a: b\nb: c, {open_dir}/b-box\nc: |/bin/true\nself: self, {open_dir}/s\n"
    a = agent(open_dir, aliases)
    assert [t.kind for t in a.expand(DeliveryRequest("q", "s@x.org", "a@example.com"))] == [
        "command",
        "file",
    ]
    result = deliver(a, "self@example.com")
    assert result == DeliveryResult(Status.BOUNCED, "5.1.1", 'unknown user: "self"')
    assert (open_dir / "s").exists()


def test_mutual_loop_ends(open_dir: Path) -> None:
    a = agent(open_dir, "x: y\ny: x\n")
    assert deliver(a, "x@example.com").dsn == "5.1.1"


def test_remote_forward_defers_before_any_delivery(open_dir: Path) -> None:
    a = agent(open_dir, f"fw: {open_dir}/copy, someone@remote.org\n")
    assert deliver(a, "fw@example.com") == DeliveryResult(
        Status.DEFERRED, "4.3.5", "mail system configuration error"
    )
    assert not (open_dir / "copy").exists()


def test_remote_forward_is_a_new_message_through_the_forwarder(open_dir: Path) -> None:
    """As Postfix's local(8): the other targets are delivered, the non-local ones get one
    new message per envelope sender with Delivered-To: first, and the recipient is
    ``sent (forwarded as ID)`` with the DSN parameters passed on."""
    forwarded: list[tuple[Forward, bytes]] = []

    def forwarder(message: Forward) -> str:
        forwarded.append((message, b"".join(message.chunks)))
        return "4jcNEWzQ"

    (open_dir / "aliases").write_text(f"fw: {open_dir}/copy, someone@remote.org, Two@Remote.org\n")
    values = {
        "alias_maps": f"texthash:{open_dir}/aliases",
        "myorigin": "example.com",
        "mydestination": "example.com",
    }
    a = LocalAgent(
        MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in values.items())),
        forwarder=forwarder,
    )
    request = DeliveryRequest(
        "Q1", "s@x.org", "fw@example.com", notify=("FAILURE",), orcpt="rfc822;fw@example.com"
    )
    result = a.deliver(request, lambda: MESSAGE)
    assert (result.status, result.dsn) == (Status.SENT, "2.0.0")
    assert result.text == f"delivered to file: {open_dir}/copy; forwarded as 4jcNEWzQ"
    assert (open_dir / "copy").exists()
    [(message, content)] = forwarded
    assert message.sender == "s@x.org"
    assert message.recipients == (
        ("someone@remote.org", ("FAILURE",), "rfc822;fw@example.com"),
        ("Two@Remote.org", ("FAILURE",), "rfc822;fw@example.com"),
    )
    assert content == b"Delivered-To: fw@example.com\r\n" + MESSAGE


def test_a_forward_cleanup_refuses_defers(open_dir: Path) -> None:
    def forwarder(message: Forward) -> str:
        raise TemporaryError(Reply(451, "4.3.0", "Queue file write error"))

    (open_dir / "aliases").write_text("fw: someone@remote.org\n")
    config = MainConfig.from_text(
        f"alias_maps = texthash:{open_dir}/aliases\nmydestination = example.com\n"
    )
    a = LocalAgent(config, forwarder=forwarder)
    result = a.deliver(DeliveryRequest("Q1", "s@x.org", "fw@example.com"), lambda: MESSAGE)
    assert result == DeliveryResult(
        Status.DEFERRED, "4.3.0", "cannot forward: Queue file write error"
    )


def test_delivered_to_loop(open_dir: Path) -> None:
    a = agent(open_dir, f"l: {open_dir}/l\n")
    data = b"Delivered-To: L@Example.com\r\n" + MESSAGE
    assert deliver(a, "l@example.com", data=data) == DeliveryResult(
        Status.BOUNCED, "5.4.6", "mail forwarding loop for l@example.com"
    )


def test_duplicate_targets_once(open_dir: Path) -> None:
    a = agent(open_dir, f"d: e, {open_dir}/dup\ne: {open_dir}/dup\n")
    assert deliver(a, "d@example.com").status is Status.SENT
    assert (open_dir / "dup").read_bytes().count(b"\nFrom s@x.org") == 0
    assert os.path.getsize(open_dir / "dup") > 0


def test_alias_maps_that_cannot_be_opened_defer(open_dir: Path) -> None:
    a = agent(open_dir, "", alias_maps="bogustype:/x")
    assert a.problem is not None
    assert deliver(a, "x@example.com") == DeliveryResult(
        Status.DEFERRED, "4.3.5", "mail system configuration error"
    )


def test_dev_null_and_executable_files(open_dir: Path) -> None:
    exe = script(open_dir, "exe", "true\n")
    exe.chmod(0o777)
    a = agent(open_dir, f"null: /dev/null\nexe: {exe}\n")
    assert deliver(a, "null@example.com") == DeliveryResult(
        Status.SENT, "2.0.0", "delivered to file: /dev/null", "/dev/null"
    )
    assert deliver(a, "exe@example.com") == DeliveryResult(
        Status.BOUNCED, "5.7.1", f"cannot append message to file {exe}: file is executable"
    )

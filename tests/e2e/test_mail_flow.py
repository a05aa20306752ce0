"""Mail flow through a real ``vmail serve``: aliases, the reference autoreply pipe,
relay control and AUTH on submission, sendmail."""

from __future__ import annotations

import os
import smtplib
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import PASSWORD, ServerProcess, make_config, running, vmail

MESSAGE = b"From: alice@example.org\r\nSubject: flow\r\n\r\nhello\r\n"


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_alias_fan_out(server: ServerProcess) -> None:
    server.vmail("alias", "add", "team@example.com", "--goto", "bob@example.com,carol@example.com")
    with server.smtp() as client:
        client.sendmail("alice@example.org", ["team@example.com"], MESSAGE)
    (to_bob,) = server.wait_for("bob@example.com")
    (to_carol,) = server.wait_for("carol@example.com")
    assert b"X-Original-To: team@example.com\n" in to_bob
    assert b"Delivered-To: carol@example.com\n" in to_carol


def _autoreply_script(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "autoreply-out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    script = tmp_path / "autoreply"
    # /bin/sh: the command runs as nobody, who may not reach the test's Python
    script.write_text(
        "#!/bin/sh\n"
        f'{{ printf "%s|" "$@"; printf "\\n"; cat; }} > {out}/call.tmp\n'
        f"mv {out}/call.tmp {out}/call\n"
    )
    script.chmod(0o755)
    return script, out


def test_reference_autoreply_pipe(tmp_path: Path) -> None:
    """The reference text's autoreply: a virtual alias copies mail to
    user@domain.tld@autoreply.mydomain.tld, which transport_maps sends to a pipe service."""
    script, out = _autoreply_script(tmp_path)
    virtual = tmp_path / "virtual"
    virtual.write_text("bob@example.com bob@example.com, bob@example.com@autoreply.mydomain.tld\n")
    transport = tmp_path / "transport"
    transport.write_text("autoreply.mydomain.tld  autoreply:\n")
    master = (
        "autoreply unix  -       n       n       -       -       pipe\n"
        f"    flags= user=nobody argv={script} $sender $mailbox\n"
    )
    config_dir = make_config(tmp_path, {"transport_maps": f"texthash:{transport}"}, master)
    directory_maps = vmail(config_dir, "postconf", "-h", "virtual_alias_maps").strip()
    with open(config_dir / "main.cf", "a") as main_cf:
        main_cf.write(f"virtual_alias_maps = texthash:{virtual}, {directory_maps}\n")
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        with server.smtp() as client:
            client.sendmail("alice@example.org", ["bob@example.com"], MESSAGE)
        server.wait_for("bob@example.com")
        call = out / "call"
        deadline = time.monotonic() + 20
        while not call.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert call.exists(), server.log
        argv, _, body = call.read_text().partition("\n")
        assert argv == "alice@example.org|bob@example.com|"
        assert "Subject: flow\n" in body
        server.wait_log(r"relay=autoreply, .*status=sent \(delivered via autoreply service\)")


@pytest.fixture
def outside(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A server for which 127.0.0.1 is an outside client (mynetworks elsewhere)."""
    config_dir = make_config(tmp_path, {"mynetworks": "192.0.2.0/24"})
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        yield server


def test_relay_denied_to_outside_clients(outside: ServerProcess) -> None:
    with outside.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        client.sendmail("a@example.org", ["someone@elsewhere.example"], MESSAGE)
    code, text = e.value.recipients["someone@elsewhere.example"]
    assert (code, text) == (554, b"5.7.1 <someone@elsewhere.example>: Relay access denied")
    with outside.smtp() as client:  # local recipients are still welcome
        client.sendmail("a@example.org", ["bob@example.com"], MESSAGE)
    outside.wait_for("bob@example.com")


def test_submission_needs_starttls_then_auth(outside: ServerProcess) -> None:
    with outside.smtp("submission") as client:
        client.ehlo("me")
        assert not client.has_extn("auth")  # smtpd_tls_auth_only: no AUTH in plaintext
        code, text = client.mail("bob@example.com")
        assert (code, text) == (530, b"5.7.0 Must issue a STARTTLS command first")
    with outside.smtp("submission") as client:
        client.starttls(context=_tls())
        client.ehlo("me")
        assert client.has_extn("auth")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            client.login("bob@example.com", "wrong password")
        assert e.value.smtp_code == 535
    outside.wait_log(r"SASL (PLAIN|LOGIN) authentication failed")


def test_submission_after_auth_accepts_and_adds_headers(outside: ServerProcess) -> None:
    with outside.smtp("submission") as client:
        client.starttls(context=_tls())
        client.login("bob@example.com", PASSWORD)
        client.sendmail("bob@example.com", ["bob@example.com"], b"Subject: self\r\n\r\nnote\r\n")
    (note,) = outside.wait_for("bob@example.com")
    assert b"with ESMTPSA id" in note
    assert b"\nMessage-Id: <" in note
    assert b"\nDate: " in note


def test_smtps_wrapper_mode(outside: ServerProcess) -> None:
    with outside.smtp("submissions") as client:
        client.login("bob@example.com", PASSWORD)
        client.sendmail("bob@example.com", ["bob@example.com"], MESSAGE)
    outside.wait_for("bob@example.com")


def test_sendmail_posts_and_wakes_the_server(server: ServerProcess) -> None:
    env = {**os.environ, "VMAIL_CONFIG_DIR": ""}
    done = subprocess.run(
        [sys.executable, "-m", "vmail", "-c", str(server.config_dir), "sendmail", "-t", "-i"],
        input=b"To: carol@example.com\nSubject: local\n\nfrom a script\n.\nstill body\n",
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (local,) = server.wait_for("carol@example.com", timeout=10)
    assert b"Received: by mx.test (vmail, from userid " in local
    assert local.endswith(b"from a script\n.\nstill body\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: vmail drops it, the helper keeps it")
def test_pipe_user_runs_as_that_user_after_root_was_dropped(tmp_path: Path) -> None:
    """serve runs as nobody; pipe(8)'s user=daemon command still runs as daemon (uid 1)."""
    out = tmp_path / "who"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    script = tmp_path / "whoami"
    script.write_text(f"#!/bin/sh\nid -u > {out}/uid.tmp && mv {out}/uid.tmp {out}/uid\n")
    script.chmod(0o755)
    transport = tmp_path / "transport"
    transport.write_text("pipe.test  whoami:\n")
    master = f"whoami unix - n n - - pipe\n    flags= user=daemon argv={script}\n"
    config_dir = make_config(tmp_path, {"transport_maps": f"texthash:{transport}"}, master)
    for server in running(config_dir):
        with server.smtp() as client:  # 127.0.0.1 is in mynetworks: may relay to pipe.test
            client.sendmail("alice@example.org", ["x@pipe.test"], MESSAGE)
        server.wait_log(r"relay=whoami, .*status=sent \(delivered via whoami service\)")
        assert (out / "uid").read_text().strip() == "1"
        assert "running as uid 65534" in server.log


def test_lmtp_listener_delivers_per_recipient(tmp_path: Path) -> None:
    master = "127.0.0.1:0 inet n - n - - lmtpd\n  -o syslog_name=postfix/lmtp\n"
    for server in running(make_config(tmp_path, master=master)):
        server.add_mailbox("bob@example.com")
        with smtplib.LMTP("127.0.0.1", server.ports["lmtp"]) as client:
            client.ehlo_or_helo_if_needed()
            client.mail("alice@example.org")
            client.rcpt("bob@example.com")
            code, _ = client.rcpt("nobody@example.com")
            assert code == 550
            client.putcmd("data")
            assert client.getreply()[0] == 354
            client.send(b"Subject: via lmtp\r\n\r\nhi\r\n.\r\n")
            code, text = client.getreply()  # one reply per accepted recipient
            assert code == 250
            assert text.startswith(b"2.0.0 Ok: queued as ")
        server.wait_for("bob@example.com")


def test_submission_listeners_apply_their_own_restrictions(server: ServerProcess) -> None:
    # master.cf's "-o smtpd_client_restrictions=permit_sasl_authenticated,reject" holds
    # for that listener only, even for a client in mynetworks (as in Postfix)
    with server.smtp("submissions") as client, pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        client.sendmail("alice@example.org", ["bob@example.com"], MESSAGE)
    code, text = e.value.recipients["bob@example.com"]
    assert (code, text) == (554, b"5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied")
    with server.smtp() as client:  # the smtp listener keeps main.cf's restrictions
        assert client.sendmail("alice@example.org", ["bob@example.com"], MESSAGE) == {}


def test_local_alias_forwards_to_another_domain(tmp_path: Path) -> None:
    """/etc/aliases' "root: admin@elsewhere": Postfix's local(8) sends a new message (with
    Received: by HOST and Delivered-To: root@...), and logs the alias's recipient as
    "sent (forwarded as NEWID)"; the new message then takes its own way."""
    aliases = tmp_path / "aliases"
    aliases.write_text("root: bob@example.com\n")
    aliases.chmod(0o644)
    config_dir = make_config(
        tmp_path,
        {
            "local_transport": "local",
            "local_recipient_maps": "",
            "alias_maps": f"texthash:{aliases}",
        },
        master="local     unix  -       n       n       -       -       local\n",
    )
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        with server.smtp() as client:
            client.sendmail(
                "alice@example.org", ["root@localhost"], b"Subject: hi\r\n\r\nhello\r\n"
            )
        (delivered,) = server.wait_for("bob@example.com")
        assert b"Delivered-To: root@localhost\n" in delivered
        assert b"Received: by mx.test (vmail)\n" in delivered
        found = server.wait_log(
            r"vmail/local\[\d+\]: (\w+): to=<root@localhost>, relay=local, .*"
            r"status=sent \(forwarded as (\w+)\)"
        )
        server.wait_log(rf"{found.group(2)}: to=<bob@example\.com>, relay=virtual, .*status=sent")

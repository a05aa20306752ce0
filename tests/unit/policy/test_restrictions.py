"""RCPT TO decisions: restriction lists, access tables, and their replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routing_helpers import BASE, INSIDE, OUTSIDE
from tests.unit.policy.fake_dns import FakeDNS
from vmail.config import MainConfig
from vmail.core.errors import TableError
from vmail.policy.evaluation import Client, MessageAction
from vmail.route import Router
from vmail.tables import Table
from vmail.tables.memo import LookupMemo, WouldBlockError
from vmail.tables.registry import register


def _reply(tmp_path: Path, main_cf: str, address: str, client: Client = OUTSIDE) -> str:
    (tmp_path / "main.cf").write_text(BASE + main_cf)
    router = Router(MainConfig.load(tmp_path), dns=FakeDNS())
    return str(router.route([address], client, "sender@example.org")[0].rcpt)


ACCESS = "smtpd_recipient_restrictions = check_recipient_access inline:{{{table}}}, permit\n"


@pytest.mark.parametrize(
    ("table", "reply"),
    [
        ("a@x.example=OK", "250 2.1.5 Ok"),
        (
            "a@x.example=REJECT",
            "554 5.7.1 <a@x.example>: Recipient address rejected: Access denied",
        ),
        (
            "{a@x.example=REJECT not here}",
            "554 5.7.1 <a@x.example>: Recipient address rejected: not here",
        ),
        (
            "{a@x.example=550 5.1.1 gone}",
            "550 5.1.1 <a@x.example>: Recipient address rejected: gone",
        ),
        (
            "{a@x.example=450 try later}",
            "450 4.7.1 <a@x.example>: Recipient address rejected: try later",
        ),
        ("a@x.example=DEFER", "450 4.7.1 <a@x.example>: Recipient address rejected: Access denied"),
        ("x.example=REJECT", "554 5.7.1 <a@x.example>: Recipient address rejected: Access denied"),
        ("example=REJECT", "554 5.7.1 <a@x.example>: Recipient address rejected: Access denied"),
        ("a@=REJECT", "554 5.7.1 <a@x.example>: Recipient address rejected: Access denied"),
        ("a@x.example=DUNNO", "250 2.1.5 Ok"),
        ("{a@x.example=reject_unauth_destination}", "554 5.7.1 <a@x.example>: Relay access denied"),
    ],
)
def test_check_recipient_access(tmp_path: Path, table: str, reply: str) -> None:
    main_cf = "smtpd_relay_restrictions =\n" + ACCESS.format(table=table)
    assert _reply(tmp_path, main_cf, "a@x.example") == reply


WITH_HELO = Client("192.0.2.7", "unknown", helo="client.test")


@pytest.mark.parametrize(
    ("main_cf", "client", "reply"),
    [  # as Postfix 3.7 answers (checked against a private instance)
        (
            "smtpd_client_restrictions = reject",
            OUTSIDE,
            "554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied",
        ),
        (
            "smtpd_client_restrictions = check_client_access inline:{192.0.2.7=REJECT}",
            OUTSIDE,
            "554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied",
        ),
        (
            "smtpd_client_restrictions = defer_if_permit",
            OUTSIDE,
            "450 4.7.0 <unknown[192.0.2.7]>: Client host rejected: defer_if_permit requested",
        ),
        (
            "smtpd_helo_restrictions = reject",
            WITH_HELO,
            "554 5.7.1 <client.test>: Helo command rejected: Access denied",
        ),
        ("smtpd_helo_restrictions = reject", OUTSIDE, "250 2.1.5 Ok"),  # no HELO: skipped
        (
            "smtpd_sender_restrictions = reject",
            OUTSIDE,
            "554 5.7.1 <sender@example.org>: Sender address rejected: Access denied",
        ),
        (
            "smtpd_sender_restrictions = defer",
            OUTSIDE,
            "450 4.3.2 <sender@example.org>: Sender address rejected: Try again later",
        ),
        (
            "smtpd_recipient_restrictions = defer",
            OUTSIDE,
            "450 4.3.2 <a@x.example>: Recipient address rejected: Try again later",
        ),
    ],
)
def test_generic_restrictions_name_their_stages_subject(
    tmp_path: Path, main_cf: str, client: Client, reply: str
) -> None:
    extra = "mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions =\n"
    assert _reply(tmp_path, extra + main_cf + "\n", "a@x.example", client) == reply


def test_reject_non_fqdn_recipient(tmp_path: Path) -> None:
    main_cf = "smtpd_recipient_restrictions = reject_non_fqdn_recipient, permit\n"
    assert _reply(tmp_path, main_cf, "user@localhost", INSIDE) == (
        "504 5.5.2 <user@localhost>: Recipient address rejected: need fully-qualified address"
    )


@pytest.mark.parametrize(
    ("address", "reply"),
    [
        ("a@exists.example", "250 2.1.5 Ok"),
        (
            "a@missing.example",
            "450 4.1.2 <a@missing.example>: Recipient address rejected: Domain not found",
        ),
        (
            "a@broken.example",
            "450 4.1.2 <a@broken.example>: Recipient address rejected: Domain not found",
        ),
    ],
)
def test_reject_unknown_recipient_domain(tmp_path: Path, address: str, reply: str) -> None:
    main_cf = "smtpd_recipient_restrictions = reject_unknown_recipient_domain, permit\n"
    assert _reply(tmp_path, main_cf, address, INSIDE) == reply


def test_unknown_restriction_is_a_server_configuration_error(tmp_path: Path) -> None:
    main_cf = "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_nonsense\n"
    assert _reply(tmp_path, main_cf, "a@x.example") == "451 4.3.5 Server configuration error"


def test_warn_if_reject_only_warns(tmp_path: Path) -> None:
    main_cf = (
        "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = warn_if_reject reject, permit\n"
    )
    assert _reply(tmp_path, main_cf, "a@x.example") == "250 2.1.5 Ok"


def test_defer_if_permit_turns_acceptance_into_deferral(tmp_path: Path) -> None:
    main_cf = "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = defer_if_permit, permit\n"
    assert _reply(tmp_path, main_cf, "a@x.example") == (
        "450 4.7.0 <a@x.example>: Recipient address rejected: defer_if_permit requested"
    )


def test_soft_bounce_makes_rejects_temporary(tmp_path: Path) -> None:
    main_cf = "soft_bounce = yes\nsmtpd_relay_restrictions = reject_unauth_destination\n"
    # soft_bounce subtracts 100 from the code: 554 becomes 454 (550 would become 450)
    reply = _reply(tmp_path, main_cf, "a@x.example")
    assert reply == "454 4.7.1 <a@x.example>: Relay access denied"


def test_restriction_class(tmp_path: Path) -> None:
    main_cf = (
        "smtpd_restriction_classes = strict\nstrict = reject\n"
        "smtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions = check_recipient_access inline:{a@x.example=strict}, permit\n"
    )
    assert _reply(tmp_path, main_cf, "a@x.example").startswith("554 5.7.1")
    assert _reply(tmp_path, main_cf, "b@x.example") == "250 2.1.5 Ok"


class _Down(Table):
    def lookup(self, key: str) -> str | None:
        raise TableError(self.spec, "server down")


register("testdown", lambda spec, name, context: _Down(spec))


def test_failing_table_is_a_temporary_lookup_failure(tmp_path: Path) -> None:
    main_cf = "virtual_mailbox_domains = testdown:x\n"
    assert (
        _reply(tmp_path, main_cf, "a@x.example")
        == "451 4.3.0 <a@x.example>: Temporary lookup failure"
    )


def test_sasl_authenticated_client_may_relay(tmp_path: Path) -> None:
    authed = Client("192.0.2.7", "unknown", None, "someone")
    assert _reply(tmp_path, "", "a@x.example", authed) == "250 2.1.5 Ok"
    assert _reply(tmp_path, "", "a@x.example") == "454 4.7.1 <a@x.example>: Relay access denied"


def test_access_table_that_cannot_be_opened(tmp_path: Path) -> None:
    main_cf = (
        "smtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions = check_recipient_access nosuch:table, permit\n"
    )
    assert _reply(tmp_path, main_cf, "a@x.example") == "451 4.3.5 Server configuration error"


def test_a_decision_restarted_in_a_thread_logs_its_warnings_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "main.cf").write_text(
        BASE
        + "smtpd_relay_restrictions =\n"
        + "smtpd_recipient_restrictions = warn_if_reject, reject,"
        + " check_recipient_access unix:passwd.byname, permit\n"
    )
    router = Router(MainConfig.load(tmp_path), dns=FakeDNS())
    memo = LookupMemo()
    check = router.policy.check_recipient
    args = (OUTSIDE, "sender@example.org", "nobody@mail.example.net")
    with pytest.raises(WouldBlockError):  # the unix: table is not local
        memo.run_inline(check, *args)
    assert "reject_warning" not in caplog.text
    memo.run(check, *args)
    assert caplog.text.count("reject_warning: 554 5.7.1") == 1


def test_dns_checks_are_not_made_inline(tmp_path: Path) -> None:
    (tmp_path / "main.cf").write_text(
        BASE
        + "smtpd_relay_restrictions =\n"
        + "smtpd_recipient_restrictions = reject_unknown_recipient_domain, permit\n"
    )
    router = Router(MainConfig.load(tmp_path), dns=FakeDNS())
    memo = LookupMemo()
    args = (OUTSIDE, "sender@example.org", "bob@missing.example")
    with pytest.raises(WouldBlockError):
        memo.run_inline(router.policy.check_recipient, *args)
    assert str(memo.run(router.policy.check_recipient, *args)).startswith("450 4.1.2")


def _policy(tmp_path: Path, main_cf: str) -> Router:
    (tmp_path / "main.cf").write_text(BASE + main_cf)
    return Router(MainConfig.load(tmp_path), dns=FakeDNS())


def test_data_restrictions_name_the_data_command(tmp_path: Path) -> None:
    # replies as Postfix 3.7 gave them for the same restrictions
    policy = _policy(
        tmp_path,
        "smtpd_data_restrictions = reject_unauth_pipelining, reject_multi_recipient_bounce\n",
    ).policy
    sender, two = "s@example.org", ["a@example.com", "b@example.com"]
    assert policy.check_data(OUTSIDE, sender, two) is None
    assert str(policy.check_data(OUTSIDE, "", two)) == (
        "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce"
    )
    assert policy.check_data(OUTSIDE, "", two[:1]) is None
    pipelining = Client(OUTSIDE.address, OUTSIDE.name, "x", None, improper_pipelining=True)
    assert str(policy.check_data(pipelining, sender, two)) == (
        "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining"
    )


def test_end_of_data_restrictions(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        "smtpd_end_of_data_restrictions ="
        " check_sender_access inline:{ {eod@example.org=REJECT no} },"
        " check_recipient_access inline:{ {one@example.com=REJECT later} }\n",
    ).policy
    assert str(policy.check_end_of_data(OUTSIDE, "eod@example.org", ["x@example.com"])) == (
        "554 5.7.1 <eod@example.org>: Sender address rejected: no"
    )
    # recipient checks see the recipient only when there is one, as Postfix's
    assert str(policy.check_end_of_data(OUTSIDE, "s@example.org", ["one@example.com"])) == (
        "554 5.7.1 <one@example.com>: Recipient address rejected: later"
    )
    two = ["one@example.com", "b@x.test"]
    assert policy.check_end_of_data(OUTSIDE, "s@example.org", two) is None
    assert policy.check_data(OUTSIDE, "eod@example.org", ["a@x.test"]) is None  # not set


def test_multi_recipient_bounce_at_rcpt(tmp_path: Path) -> None:
    main_cf = "smtpd_recipient_restrictions = reject_multi_recipient_bounce, permit\n"
    policy = _policy(tmp_path, main_cf).policy
    assert policy.check_recipient(INSIDE, "", "a@example.com").ok
    refused = policy.check_recipient(INSIDE, "", "b@example.com", accepted=1)
    assert str(refused) == (
        "550 5.5.3 <b@example.com>: Recipient address rejected: Multi-recipient bounce"
    )
    assert policy.check_recipient(INSIDE, "s@example.org", "b@example.com", accepted=1).ok


@pytest.mark.parametrize(
    ("helo", "reply"),
    [  # as Postfix 3.7 answered for the same HELO names
        ("mail.example.org", "250 2.1.5 Ok"),
        ("host.example.", "250 2.1.5 Ok"),
        ("a_b.example", "250 2.1.5 Ok"),
        ("[192.0.2.1]", "250 2.1.5 Ok"),
        ("[IPv6:::1]", "250 2.1.5 Ok"),
        ("a_b!", "501 5.5.2 <a_b!>: Helo command rejected: Invalid name"),
        ("-host.example", "501 5.5.2 <-host.example>: Helo command rejected: Invalid name"),
        ("a..b", "501 5.5.2 <a..b>: Helo command rejected: Invalid name"),
        ("m\u00e4il.example", "501 5.5.2 <m\u00e4il.example>: Helo command rejected: Invalid name"),
        ("[1.2.3.400]", "501 5.5.2 <[1.2.3.400]>: Helo command rejected: invalid ip address"),
        ("nodots", "504 5.5.2 <nodots>: Helo command rejected: need fully-qualified hostname"),
        ("1.2.3.4", "504 5.5.2 <1.2.3.4>: Helo command rejected: need fully-qualified hostname"),
    ],
)
def test_helo_hostname_syntax(tmp_path: Path, helo: str, reply: str) -> None:
    main_cf = (
        "smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname\n"
    )
    client = Client(INSIDE.address, INSIDE.name, helo)
    assert _reply(tmp_path, main_cf, "a@example.com", client) == reply


def test_unknown_helo_and_client_hostnames(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        "smtpd_helo_restrictions = reject_unknown_helo_hostname\n"
        "smtpd_client_restrictions = reject_unknown_reverse_client_hostname\n"
        "smtpd_recipient_restrictions = reject_unknown_client_hostname, permit\n",
    ).policy

    def check(helo: str, name: str = "mx.example", reverse: str | None = None) -> str:
        client = Client("192.0.2.9", name, helo, reverse_name=reverse)
        return str(policy.check_recipient(client, "s@example.org", "root@mail.example.net"))

    assert check("exists.example") == "250 2.1.5 Ok"
    assert check("[192.0.2.9]") == "250 2.1.5 Ok"  # literals are not looked up
    assert check("nx.example") == ("450 4.7.1 <nx.example>: Helo command rejected: Host not found")
    assert check("broken.example") == (  # DNS failed: defer_if_permit
        "450 4.7.1 <broken.example>: Helo command rejected: Host not found"
    )
    assert check("exists.example", "unknown", "ptr.example") == (
        "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.9]"
    )
    assert check("exists.example", "unknown") == (
        "450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]"
    )


def test_access_actions_for_the_message_and_the_log(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        "smtpd_recipient_restrictions = check_sender_access inline:{ {h@example.org=HOLD},"
        " {d@example.org=DISCARD}, {w@example.org=WARN watch it}, {i@example.org=INFO},"
        " {r@example.org=REDIRECT x@example.com}, {p@example.org=PREPEND X-Tag: one},"
        " {f@example.org=FILTER scan:[127.0.0.1]:10024}, {n@example.org=FILTER nocolon} },"
        " reject\n",
    ).policy

    def actions(sender: str) -> tuple[str, list[MessageAction]]:
        found: list[MessageAction] = []
        reply = policy.check_recipient(INSIDE, sender, "root@mail.example.net", actions=found)
        return str(reply)[:3], found

    assert actions("h@example.org") == (
        "554",  # HOLD goes on to the next restriction
        [MessageAction("hold", "<h@example.org>: Sender address triggers HOLD action")],
    )
    assert actions("d@example.org") == (  # DISCARD ends the list, as OK does
        "250",
        [MessageAction("discard", "<d@example.org>: Sender address triggers DISCARD action")],
    )
    assert actions("w@example.org") == ("554", [MessageAction("warn", "watch it")])
    assert actions("i@example.org")[1] == [
        MessageAction("info", "<i@example.org>: Sender address triggers INFO action")
    ]
    assert actions("r@example.org")[1] == [
        MessageAction(
            "redirect",
            "<r@example.org>: Sender address triggers REDIRECT x@example.com",
            "x@example.com",
        )
    ]
    assert actions("p@example.org")[1] == [MessageAction("prepend", "", "X-Tag: one")]
    assert actions("f@example.org")[1] == [
        MessageAction(
            "filter",
            "<f@example.org>: Sender address triggers FILTER scan:[127.0.0.1]:10024",
            "scan:[127.0.0.1]:10024",
        )
    ]
    assert actions("n@example.org")[1] == []  # FILTER needs transport:destination


def test_dns_lists(tmp_path: Path) -> None:
    def reply(restrictions: str, client: Client = OUTSIDE, sender: str = "s@example.org") -> str:
        main_cf = f"smtpd_recipient_restrictions = {restrictions}, permit\n"
        (tmp_path / "main.cf").write_text(BASE + main_cf)
        router = Router(MainConfig.load(tmp_path), dns=FakeDNS())
        return str(router.policy.check_recipient(client, sender, "root@mail.example.net"))

    listed = "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using bl.test;"
    assert reply("reject_rbl_client bl.test") == listed + " see https://bl.test/q"
    assert reply("reject_rbl_client bl.test=127.0.0.2") == listed + " see https://bl.test/q"
    assert reply("reject_rbl_client bl.test=127.0.0.[3..9]") == "250 2.1.5 Ok"
    assert reply("reject_rbl_client bl.test=127.0.0.[1;2]").startswith("554 ")
    assert reply("reject_rbl_client bl.test", INSIDE) == "250 2.1.5 Ok"  # not listed
    assert reply("reject_rbl_client down.test") == "250 2.1.5 Ok"  # DNS failed
    assert reply("permit_dnswl_client wl.test, reject") == "250 2.1.5 Ok"
    assert reply("reject_rhsbl_sender bl.test", sender="x@spam.example") == (
        "554 5.7.1 Service unavailable; Sender address [x@spam.example] blocked using bl.test;"
        " see https://bl.test/q"
    )
    spam_client = Client("192.0.2.9", "spam.example", "spam.example")
    assert reply("reject_rhsbl_client bl.test", spam_client).startswith(
        "554 5.7.1 Service unavailable; Client host [spam.example] blocked"
    )
    assert reply("reject_rhsbl_helo bl.test", spam_client).startswith(
        "554 5.7.1 Service unavailable; Helo command [spam.example] blocked"
    )


def test_reject_unlisted_sender(tmp_path: Path) -> None:
    # Postfix 3.7.11: "550 5.1.0 <nobody@example.com>: Sender address rejected: User unknown
    # in virtual mailbox table"; senders in other domains pass
    main_cf = (
        "virtual_mailbox_domains = example.com\n"
        "virtual_mailbox_maps = inline:{ bob@example.com=bob/ }\n"
        "smtpd_recipient_restrictions = reject_unlisted_sender, permit\n"
    )
    policy = _policy(tmp_path, main_cf).policy

    def reply(sender: str) -> str:
        return str(policy.check_recipient(INSIDE, sender, "bob@example.com"))

    assert reply("nobody@example.com") == (
        "550 5.1.0 <nobody@example.com>: Sender address rejected:"
        " User unknown in virtual mailbox table"
    )
    assert reply("bob@example.com") == "250 2.1.5 Ok"
    assert reply("x@remote.example") == "250 2.1.5 Ok"
    assert reply("") == "250 2.1.5 Ok"


def test_reverse_client_hostname_access_and_sleep(tmp_path: Path) -> None:
    main_cf = (
        "smtpd_recipient_restrictions = sleep 0,"
        " check_reverse_client_hostname_access inline:{ {ptr.example=REJECT no ptr} }, permit\n"
    )
    policy = _policy(tmp_path, main_cf).policy
    unconfirmed = Client("192.0.2.9", "unknown", "h.example", reverse_name="mx.ptr.example")
    # Postfix 3.7.11 names the reverse name, as "Unverified Client host"
    assert str(policy.check_recipient(unconfirmed, "s@example.org", "root@mail.example.net")) == (
        "554 5.7.1 <mx.ptr.example>: Unverified Client host rejected: no ptr"
    )
    assert policy.check_recipient(INSIDE, "s@example.org", "root@mail.example.net").ok


@pytest.mark.parametrize(
    "restriction", ["check_policy_service", "reject_rbl_client", "check_sender_access", "sleep"]
)
def test_a_restriction_without_its_argument_is_a_configuration_error(
    tmp_path: Path, restriction: str, caplog: pytest.LogCaptureFixture
) -> None:
    main_cf = f"smtpd_recipient_restrictions = permit_mynetworks, {restriction}\n"
    reply = _reply(tmp_path, main_cf, "root@mail.example.net")
    assert reply == "451 4.3.5 Server configuration error"
    assert f"restriction {restriction} needs" in caplog.text


def test_pattern_tables_see_helo_and_client_names(tmp_path: Path) -> None:
    # Postfix 3.7.11 asks a regexp table for the HELO name and the client name (not for
    # their parent domains); vmail used to skip pattern tables for both
    (tmp_path / "names.re").write_text("/^bad\\./ REJECT by pattern\n")
    main_cf = (
        f"smtpd_helo_restrictions = check_helo_access regexp:{tmp_path}/names.re\n"
        f"smtpd_client_restrictions = check_client_access regexp:{tmp_path}/names.re\n"
    )
    policy = _policy(tmp_path, main_cf).policy

    def reply(client: Client) -> str:
        return str(policy.check_recipient(client, "s@example.org", "root@mail.example.net"))

    assert reply(Client("192.0.2.1", "unknown", "bad.example")) == (
        "554 5.7.1 <bad.example>: Helo command rejected: by pattern"
    )
    assert reply(Client("192.0.2.1", "bad.example", "x.example")) == (
        "554 5.7.1 <bad.example[192.0.2.1]>: Client host rejected: by pattern"
    )
    assert reply(Client("192.0.2.1", "unknown", "x.bad.example")) == "250 2.1.5 Ok"


@pytest.mark.parametrize(
    ("restrictions", "client", "sender", "reply"),
    [  # as Postfix 3.7.11 answered
        (  # a client without a name is looked up as "unknown"
            "check_client_access inline:{ {unknown=REJECT no name} }",
            OUTSIDE,
            "s@example.org",
            "554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: no name",
        ),
        (  # the null sender is smtpd_null_access_lookup_key
            "check_sender_access inline:{ {<>=REJECT null sender} }",
            OUTSIDE,
            "",
            "554 5.7.1 <>: Sender address rejected: null sender",
        ),
        (  # the reverse name may not be permitted
            "check_reverse_client_hostname_access inline:{ {host.test=OK} }",
            Client("192.0.2.7", "unknown", reverse_name="host.test"),
            "s@example.org",
            "451 4.3.5 Server configuration error",
        ),
    ],
)
def test_access_subjects(
    tmp_path: Path, restrictions: str, client: Client, sender: str, reply: str
) -> None:
    main_cf = f"smtpd_recipient_restrictions = {restrictions}, permit\n"
    policy = _policy(tmp_path, main_cf).policy
    assert str(policy.check_recipient(client, sender, "root@mail.example.net")) == reply


def test_check_sasl_access(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    table = "inline:{ {joe=REJECT}, {Joe2=550 5.7.0 who}, {ok@x=OK} }"
    main_cf = (
        "smtpd_sasl_auth_enable = yes\n"
        f"smtpd_recipient_restrictions = check_sasl_access {table}, reject\n"
    )
    policy = _policy(tmp_path, main_cf).policy

    def reply(login: str | None) -> str:
        client = Client("127.0.0.1", "unknown", "client.example", login)
        return str(policy.check_recipient(client, "s@example.org", "root@mail.example.net"))

    # as Postfix 3.7.11 answered (the login name is the whole key)
    assert reply("joe") == "554 5.7.1 <joe>: SASL login name rejected: Access denied"
    assert reply("Joe2") == "550 5.7.0 <Joe2>: SASL login name rejected: who"
    assert reply("ok@x") == "250 2.1.5 Ok"
    assert (
        reply("ok")
        == reply(None)
        == ("554 5.7.1 <root@mail.example.net>: Recipient address rejected: Access denied")
    )
    # without AUTH the restriction is ignored, with Postfix's warning
    policy = _policy(tmp_path, main_cf.replace("= yes", "= no")).policy
    assert reply("joe").startswith("554 5.7.1 <root@mail.example.net>")
    assert "restriction `check_sasl_access' ignored: no SASL support" in caplog.text


def test_reject_plaintext_session(tmp_path: Path) -> None:
    main_cf = "smtpd_recipient_restrictions = reject_plaintext_session, permit\n"
    policy = _policy(tmp_path, main_cf).policy
    plain = Client("192.0.2.7", "unknown", "client.example")
    assert str(policy.check_recipient(plain, "s@example.org", "root@mail.example.net")) == (
        "450 4.7.1 Session encryption is required"
    )
    tls = Client("192.0.2.7", "unknown", "client.example", encrypted=True)
    assert policy.check_recipient(tls, "s@example.org", "root@mail.example.net").ok
    policy = _policy(tmp_path, "plaintext_reject_code = 554\n" + main_cf).policy
    assert str(policy.check_recipient(plain, "s@example.org", "root@mail.example.net")) == (
        "554 5.7.1 Session encryption is required"
    )


@pytest.mark.parametrize(
    ("address", "permitted"),
    [("127.0.0.1", True), ("192.0.2.10", True), ("192.0.2.201", False), ("127.0.0.2", False)],
)
def test_permit_inet_interfaces(tmp_path: Path, address: str, permitted: bool) -> None:
    # Postfix 3.7.11: the client's own address must be one of inet_interfaces (a
    # proxy_interfaces address is not)
    main_cf = (
        "inet_interfaces = 127.0.0.1, 192.0.2.10\nproxy_interfaces = 192.0.2.201\n"
        "smtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions = permit_inet_interfaces, reject\n"
    )
    reply = _reply(tmp_path, main_cf, "a@x.example", Client(address))
    assert (reply == "250 2.1.5 Ok") is permitted

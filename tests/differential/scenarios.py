"""Routing scenarios shared by the Postfix oracle goldens and vmail's tests.

Plain data only.  Every scenario is run against a private Postfix 3.7 by
``tests/oracle/record_goldens.py``, which writes
``tests/differential/golden/<name>.json``; vmail's ``route`` output is later
compared against those files.

Conventions:

* ``main_cf`` overrides the oracle's base configuration (see
  ``tests.oracle.postfix.base_main_cf``: myhostname ``mail.example.test``,
  ``mydestination = $myhostname, localhost.$mydomain, localhost``,
  ``mynetworks = 127.0.0.0/8``, ``compatibility_level = 3.6``, alias maps in
  the config directory, SASL enabled so XCLIENT LOGIN counts as
  authenticated).  Paths are written as ``$config_directory/NAME``.
* ``files`` are written into the config directory; the ones named in
  ``postmap`` are compiled as ``hash:`` tables; ``aliases`` is compiled with
  postalias.  The machine has no user accounts ``joe``/``jane``, so aliases
  stand in for the UNIX accounts of Postfix's VIRTUAL_README
  (``joe: /dev/null``), which makes local(8) report "delivers to file".
* Each query is one SMTP session (one MAIL FROM, one RCPT per address) from
  ``client_ip`` (optionally authenticated as ``sasl_user``), and, if
  ``verify`` is true, one ``sendmail -bv`` run for the same addresses.
  ``data`` adds a DATA phase to the SMTP session (message put on hold and
  deleted) to see whole-message errors such as alias loops.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Query(TypedDict):
    """One SMTP session (and optionally one -bv run) against a scenario."""

    name: str
    addresses: list[str]
    client_ip: str
    sasl_user: str | None
    sender: str
    verify: bool
    data: NotRequired[bool]
    helo: NotRequired[str]
    client_name: NotRequired[str | None]


class Scenario(TypedDict):
    """A Postfix configuration plus the queries to ask it."""

    name: str
    description: str
    main_cf: dict[str, str]
    files: dict[str, str]
    postmap: list[str]
    master_cf: str
    queries: list[Query]


INSIDE = "127.0.0.1"  # in mynetworks
OUTSIDE = "192.0.2.7"  # TEST-NET-1, not in mynetworks
SENDER = "sender@example.org"

# Stand-ins for the UNIX accounts of VIRTUAL_README.
ALIASES = "postmaster: root\nroot: /dev/null\njoe: /dev/null\njane: /dev/null\n"

VIRTUAL_ALIAS_MAIN = {
    "virtual_alias_domains": "example.com",
    "virtual_alias_maps": "hash:$config_directory/virtual",
}

VIRTUAL_ALIAS_TABLE = """\
postmaster@example.com postmaster
info@example.com       joe
sales@example.com      jane
"""

AUTOREPLY_MASTER = (
    "autoreply unix  -       n       n       -       -       pipe\n"
    "  flags= user=nobody argv=/path/to/autoreply $sender $mailbox\n"
)


def _q(
    name: str,
    addresses: list[str],
    client_ip: str = OUTSIDE,
    sasl_user: str | None = None,
    sender: str = SENDER,
    verify: bool = True,
    data: bool = False,
) -> Query:
    query: Query = {
        "name": name,
        "addresses": addresses,
        "client_ip": client_ip,
        "sasl_user": sasl_user,
        "sender": sender,
        "verify": verify,
    }
    if data:
        query["data"] = True
    return query


REMOTE = ["user@remote.example", "user@[192.0.2.99]"]

SCENARIOS: list[Scenario] = [
    {
        "name": "virtual_alias_domain",
        "description": "VIRTUAL_README: Postfix virtual ALIAS example, separate domains, "
        "UNIX system accounts; plus relay decisions for inside/outside/SASL clients "
        "under the default smtpd_relay_restrictions (defer_unauth_destination).",
        "main_cf": dict(VIRTUAL_ALIAS_MAIN),
        "files": {"virtual": VIRTUAL_ALIAS_TABLE, "aliases": ALIASES},
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "postmaster@example.com",
                    "info@example.com",
                    "sales@example.com",
                    "nobody@example.com",
                    "joe@mail.example.test",
                    "nosuchuser@mail.example.test",
                    "postmaster@mail.example.test",
                    "postmaster@localhost",
                    *REMOTE,
                ],
            ),
            _q("inside_client", ["info@example.com", "nobody@example.com", *REMOTE], INSIDE),
            _q("outside_client_sasl", ["info@example.com", *REMOTE], OUTSIDE, sasl_user="alice"),
            _q("null_sender", ["info@example.com", "user@remote.example"], sender=""),
            _q(
                "duplicates_across_rcpts",
                [
                    "info@example.com",
                    "info@example.com",
                    "INFO@Example.COM",
                    "joe@mail.example.test",
                ],
            ),
        ],
    },
    {
        "name": "virtual_alias_reject_unauth",
        "description": "Same virtual alias domain, but smtpd_relay_restrictions with "
        "reject_unauth_destination instead of the default defer_unauth_destination.",
        "main_cf": {
            **VIRTUAL_ALIAS_MAIN,
            "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, "
            "reject_unauth_destination",
        },
        "files": {"virtual": VIRTUAL_ALIAS_TABLE, "aliases": ALIASES},
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [
            _q("outside_client", ["info@example.com", "nobody@example.com", *REMOTE], verify=False),
            _q("inside_client", ["info@example.com", *REMOTE], INSIDE, verify=False),
            _q("outside_client_sasl", REMOTE, OUTSIDE, sasl_user="alice", verify=False),
        ],
    },
    {
        "name": "virtual_alias_catchall_extensions",
        "description": "Virtual alias domain with a catch-all @example.com, an @otherdomain "
        "rewrite (@example.net -> @example.com), recipient_delimiter = + with extensions, "
        "one-to-many aliases, self-including alias, and duplicates after expansion.",
        "main_cf": {
            "virtual_alias_domains": "example.com, example.net",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            "recipient_delimiter": "+",
        },
        "files": {
            "virtual": """\
postmaster@example.com postmaster
info@example.com       joe
sales@example.com      jane
team@example.com       joe, jane, friend@remote.example
both@example.com       info@example.com, sales@example.com
keep@example.com       keep@example.com, copy@remote.example
ext@example.com        ext-target@remote.example
plus+tag@example.com   tagged@remote.example
@example.com           jane
@example.net           @example.com
""",
            "aliases": ALIASES,
        },
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "info@example.com",
                    "info+news@example.com",
                    "anything@example.com",
                    "anything+x@example.com",
                    "ext@example.com",
                    "ext+foo@example.com",
                    "plus+tag@example.com",
                    "plus+other@example.com",
                    "info@example.net",
                    "whoever@example.net",
                    "team@example.com",
                    "keep@example.com",
                ],
            ),
            _q(
                "duplicates_after_expansion",
                ["both@example.com", "info@example.com", "team@example.com", "sales@example.com"],
            ),
            _q("joe_extension_local", ["joe+x@mail.example.test", "jane+@mail.example.test"]),
        ],
    },
    {
        "name": "virtual_alias_loop",
        "description": "Virtual alias loop (a -> b -> a): smtpd accepts the RCPT, cleanup "
        "refuses the whole message; plus a self-reference that is not a loop.",
        "main_cf": dict(VIRTUAL_ALIAS_MAIN),
        "files": {
            "virtual": """\
loop1@example.com  loop2@example.com
loop2@example.com  loop1@example.com
self@example.com   self@example.com
info@example.com   joe
""",
            "aliases": ALIASES,
        },
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [
            _q("loop", ["loop1@example.com"], data=True),
            _q("loop_with_good_rcpt", ["info@example.com", "loop2@example.com"], data=True),
            _q("self_reference", ["self@example.com"], data=True),
        ],
    },
    {
        "name": "virtual_mailbox_domain",
        "description": "VIRTUAL_README: Postfix virtual MAILBOX example, separate domains, "
        "non-UNIX accounts (mailbox file vs maildir/), postmaster alias, unknown user.",
        "main_cf": {
            "virtual_mailbox_domains": "example.com",
            "virtual_mailbox_base": "/var/mail/vhosts",
            "virtual_mailbox_maps": "hash:$config_directory/vmailbox",
            "virtual_minimum_uid": "100",
            "virtual_uid_maps": "static:5000",
            "virtual_gid_maps": "static:5000",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            "recipient_delimiter": "+",
        },
        "files": {
            "vmailbox": "info@example.com    example.com/info\n"
            "sales@example.com   example.com/sales/\n",
            "virtual": "postmaster@example.com postmaster\n",
            "aliases": ALIASES,
        },
        "postmap": ["vmailbox", "virtual"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "info@example.com",
                    "sales@example.com",
                    "postmaster@example.com",
                    "nobody@example.com",
                    "info+ext@example.com",
                    "Sales@EXAMPLE.com",
                    *REMOTE,
                ],
            ),
            _q("inside_client", ["nobody@example.com", *REMOTE], INSIDE),
            _q("outside_client_sasl", ["nobody@example.com", *REMOTE], OUTSIDE, "alice"),
        ],
    },
    {
        "name": "virtual_mailbox_catchall",
        "description": "Virtual mailbox domain with a catch-all mailbox @example.com.",
        "main_cf": {
            "virtual_mailbox_domains": "example.com",
            "virtual_mailbox_base": "/var/mail/vhosts",
            "virtual_mailbox_maps": "hash:$config_directory/vmailbox",
            "virtual_uid_maps": "static:5000",
            "virtual_gid_maps": "static:5000",
        },
        "files": {
            "vmailbox": "info@example.com    example.com/info\n"
            "@example.com        example.com/catchall\n",
            "aliases": ALIASES,
        },
        "postmap": ["vmailbox"],
        "master_cf": "",
        "queries": [
            _q("outside_client", ["info@example.com", "nobody@example.com", "user@remote.example"]),
        ],
    },
    {
        "name": "mail_forwarding_domain",
        "description": "VIRTUAL_README: mail forwarding domains (virtual alias domain whose "
        "addresses all forward elsewhere), catch-all to a remote address, @domain alias.",
        "main_cf": {
            "virtual_alias_domains": "example.com, example.net",
            "virtual_alias_maps": "hash:$config_directory/virtual",
        },
        "files": {
            "virtual": """\
postmaster@example.com postmaster
joe@example.com        joe@somewhere.example
jane@example.com       jane@somewhere-else.example
team@example.com       joe@somewhere.example, jane@somewhere-else.example
@example.com           jane@somewhere-else.example
@example.net           @somewhere.example
""",
            "aliases": ALIASES,
        },
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "postmaster@example.com",
                    "joe@example.com",
                    "jane@example.com",
                    "team@example.com",
                    "random@example.com",
                    "someone@example.net",
                    "user@somewhere.example",
                ],
            ),
        ],
    },
    {
        "name": "autoreply",
        "description": "VIRTUAL_README: autoreplies via a virtual alias to a fake domain that "
        "transport_maps sends to a pipe(8) service (command never runs in verify mode).",
        "main_cf": {
            "virtual_mailbox_domains": "domain.tld",
            "virtual_mailbox_base": "/var/mail/vhosts",
            "virtual_mailbox_maps": "hash:$config_directory/vmailbox",
            "virtual_uid_maps": "static:5000",
            "virtual_gid_maps": "static:5000",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            "transport_maps": "hash:$config_directory/transport",
        },
        "files": {
            "vmailbox": "user@domain.tld     domain.tld/user/\n",
            "virtual": "user@domain.tld user@domain.tld, user@domain.tld@autoreply.mydomain.tld\n",
            "transport": "autoreply.mydomain.tld  autoreply:\n",
            "aliases": ALIASES,
        },
        "postmap": ["vmailbox", "virtual", "transport"],
        "master_cf": AUTOREPLY_MASTER,
        "queries": [
            _q("outside_client", ["user@domain.tld", "other@domain.tld"]),
            _q(
                "direct_to_autoreply_domain",
                ["user@domain.tld@autoreply.mydomain.tld", "x@autoreply.mydomain.tld"],
            ),
        ],
    },
    {
        "name": "relay_and_transport_maps",
        "description": "relay_domains with transport_maps entries error:, discard:, "
        "smtp:[host]:port, relay:nexthop, lmtp:, and a per-address entry; shows "
        "the transport and nexthop Postfix picks and what each agent reports.",
        "main_cf": {
            "relay_domains": "relay.example, err.example, disc.example, hostport.example, "
            "relayhop.example, lmtp.example, peruser.example",
            "transport_maps": "hash:$config_directory/transport",
        },
        "files": {
            "transport": """\
err.example          error:5.7.1 mail for err.example is not accepted
disc.example         discard:
hostport.example     smtp:[127.0.0.1]:1
relayhop.example     relay:gw.relayhop.example
lmtp.example         lmtp:unix:/nonexistent/lmtp
special@peruser.example  error:user is gone
peruser.example      smtp:[127.0.0.1]:1
.sub.remote.example  relay:[127.0.0.1]:1
""",
            "aliases": ALIASES,
        },
        "postmap": ["transport"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "a@relay.example",
                    "a@err.example",
                    "a@disc.example",
                    "a@hostport.example",
                    "a@relayhop.example",
                    "a@lmtp.example",
                    "special@peruser.example",
                    "other@peruser.example",
                    "a@host.sub.remote.example",
                    "a@remote.example",
                ],
            ),
            _q(
                "inside_client",
                ["a@host.sub.remote.example", "a@remote.example", "a@err.example"],
                INSIDE,
            ),
        ],
    },
]


def scenario_names() -> list[str]:
    """Names of all scenarios, in definition order."""
    return [s["name"] for s in SCENARIOS]

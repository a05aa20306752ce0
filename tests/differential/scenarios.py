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
* ``sqlite`` (optional) maps database file names in the config directory to
  SQL scripts that create them; in ``files``, ``${config_directory}`` is
  replaced by the config directory (a sqlite ``dbpath`` must be absolute).
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
    sqlite: NotRequired[dict[str, str]]


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


# ---------------------------------------------------------------------------
# Wider coverage: virtual(5) lookup order, limits, table types, transport(5),
# smtpd restrictions and address syntax.  Each scenario states the Postfix
# behaviour it pins down; the goldens hold Postfix's actual answers.

LOOKUP_ORDER_TABLE = """\
joe@mail.example.test     joe-full@remote.example
bob                       bob-bare@remote.example
bob+special               bob-special@remote.example
bob-dash                  bob-dash@remote.example
@localhost                catchall-localhost@remote.example
info@example.com          info-full@remote.example
bob@example.com           bob-example@remote.example
@example.com              catchall-example@remote.example
@example.net              @example.com
owner-list@example.com    owner-list-target@remote.example
list-request@example.com  list-request-target@remote.example
owner@example.com         owner-target@remote.example
list@example.com          list-target@remote.example
Mixed@example.com         mixed-target@remote.example
"""

LOOKUP_ORDER_ADDRESSES = [
    "joe@mail.example.test",
    "joe+x@mail.example.test",
    "bob@mail.example.test",
    "bob+special@mail.example.test",
    "bob+other@mail.example.test",
    "bob-dash@mail.example.test",
    "bob-dash+x@mail.example.test",
    "bob-other@mail.example.test",
    "bob@localhost",
    "nobody@localhost",
    "bob@[127.0.0.1]",
    "bob+x@[127.0.0.1]",
    "bob@example.com",
    "bob+x@example.com",
    "bob-x@example.com",
    "info@example.net",
    "info+x@example.net",
    "INFO@EXAMPLE.COM",
    "Info+Tag@Example.Com",
    "mixed@example.com",
    "BOB@MAIL.EXAMPLE.TEST",
    '"a b"@example.com',
    '"bob"@example.com',
    "owner-list@example.com",
    "list-request@example.com",
    "owner-x@example.com",
    "x-request@example.com",
]


def _lookup_order(name: str, description: str, extra: dict[str, str]) -> Scenario:
    return {
        "name": name,
        "description": description,
        "main_cf": {
            "virtual_alias_domains": "example.com, example.net",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            **extra,
        },
        "files": {"virtual": LOOKUP_ORDER_TABLE, "aliases": ALIASES},
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [_q("outside_client", LOOKUP_ORDER_ADDRESSES)],
    }


LIMIT_TABLE = """\
chain1@example.com   chain2@example.com
chain2@example.com   chain3@example.com
chain3@example.com   joe@mail.example.test
two1@example.com     two2@example.com
two2@example.com     joe@mail.example.test
three@example.com    a@remote.example, b@remote.example, c@remote.example
four@example.com     a@remote.example, b@remote.example, c@remote.example, d@remote.example
nest@example.com     three@example.com
selfplus@example.com selfplus@example.com, a@remote.example, b@remote.example
long@example.com     a-very-long-local-part-for-testing@remote.example
short@example.com    short@remote.example
cyc1@example.com     cyc2@example.com
cyc2@example.com     cyc1@example.com
"""


def _limits(name: str, description: str, extra: dict[str, str]) -> Scenario:
    return {
        "name": name,
        "description": description,
        "main_cf": {**VIRTUAL_ALIAS_MAIN, **extra},
        "files": {"virtual": LIMIT_TABLE, "aliases": ALIASES},
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [
            _q(name_, [addr], data=True)
            for name_, addr in [
                ("chain3", "chain1@example.com"),
                ("chain2", "two1@example.com"),
                ("three_results", "three@example.com"),
                ("four_results", "four@example.com"),
                ("nested_three", "nest@example.com"),
                ("self_plus_others", "selfplus@example.com"),
                ("long_result", "long@example.com"),
                ("short_result", "short@example.com"),
                ("cycle", "cyc1@example.com"),
            ]
        ],
    }


TRANSPORT_TABLE = """\
user+ext@example.com   smtp:[full.example]
user@example.com       smtp:[stripped.example]
example.com            smtp:[domain.example]
.example.com           smtp:[subdomain.example]
.parent.example        relay:[dotparent.example]
parent.example         relay:[parent.example]
empty1.example         :nexthop1.example
empty2.example         smtp:
empty3.example         :
hostport.example       smtp:[gw.example]:2525
joe@mail.example.test  local:
*                      smtp:[star.example]
"""

TRANSPORT_ADDRESSES = [
    "user+ext@example.com",
    "user+other@example.com",
    "user@example.com",
    "other@example.com",
    "a@host.example.com",
    "a@deep.host.example.com",
    "a@parent.example",
    "a@x.parent.example",
    "a@empty1.example",
    "a@empty2.example",
    "a@empty3.example",
    "a@hostport.example",
    "a@remote.example",
    "joe@mail.example.test",
    "jane@mail.example.test",
    "info@valias.example",
]


def _transport(name: str, description: str, extra: dict[str, str]) -> Scenario:
    return {
        "name": name,
        "description": description,
        "main_cf": {
            "recipient_delimiter": "+",
            "transport_maps": "hash:$config_directory/transport",
            "virtual_alias_domains": "valias.example",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            **extra,
        },
        "files": {
            "transport": TRANSPORT_TABLE,
            "virtual": "info@valias.example jane@mail.example.test\n",
            "aliases": ALIASES,
        },
        "postmap": ["transport", "virtual"],
        "master_cf": "",
        "queries": [_q("inside_client", TRANSPORT_ADDRESSES, INSIDE)],
    }


ACCESS_TABLE = """\
ok@example.com            OK
rej@example.com           REJECT
rejtext@example.com       REJECT go away
rejdsn@example.com        REJECT 5.1.2 no such place
code550@example.com       550 5.7.1 custom text
code450@example.com       450 try later
code554@example.com       554 plain code
code450dsn@example.com    450 5.2.2 mailbox full
dunno@example.com         DUNNO
defer@example.com         DEFER
defertext@example.com     DEFER come back later
deferperm@example.com     DEFER_IF_PERMIT
deferpermtext@example.com DEFER_IF_PERMIT not now
deferrej@example.com      DEFER_IF_REJECT
restr@example.com         reject_unauth_destination
restr2@example.com        permit_mynetworks, reject
restrclass@example.com    myclass
numeric@example.com       200
ext+tag@example.com       REJECT full with extension
ext@example.com           REJECT base address
userpart@                 REJECT user at any domain
blocked.example           REJECT whole domain
parent.example            REJECT parent domain
.dotted.example           REJECT dotted parent
"""

ACCESS_REGEXP = """\
/^re-ok@/        OK
/^re-rej@/       REJECT regexp says no
/^re-dunno@/     DUNNO
/^re-code@/      551 5.7.0 regexp code
/^rej@/          OK
"""

ACCESS_DOMAINS = (
    "example.com, blocked.example, parent.example, host.parent.example, "
    "dotted.example, host.dotted.example, other.example"
)

ACCESS_ADDRESSES = [
    "ok@example.com",
    "rej@example.com",
    "rejtext@example.com",
    "rejdsn@example.com",
    "code550@example.com",
    "code450@example.com",
    "code554@example.com",
    "code450dsn@example.com",
    "dunno@example.com",
    "defer@example.com",
    "defertext@example.com",
    "deferperm@example.com",
    "deferpermtext@example.com",
    "deferrej@example.com",
    "restr@example.com",
    "restr2@example.com",
    "restrclass@example.com",
    "numeric@example.com",
    "ext+tag@example.com",
    "ext+other@example.com",
    "ext@example.com",
    "userpart@other.example",
    "userpart+x@other.example",
    "any@blocked.example",
    "any@parent.example",
    "any@host.parent.example",
    "any@dotted.example",
    "any@host.dotted.example",
    "re-ok@example.com",
    "re-rej@example.com",
    "re-dunno@example.com",
    "re-code@example.com",
    "plain@example.com",
    "user@remote.example",
    "restr@remote.example",
]

NETWORKS = "127.0.0.0/8, !192.0.2.128/25, 192.0.2.0/24, cidr:$config_directory/nets"

SYNTAX_ADDRESSES = [
    "user@[127.0.0.1]",
    "joe@[127.0.0.1]",
    "user@[192.0.2.1]",
    "joe@localhost.",
    "user@localhost.",
    "joe@mail.example.test.",
    "user%remote.example@mail.example.test",
    "joe%localhost@mail.example.test",
    "joe%relay.example@mail.example.test",
    "relay.example!joe",
    "user%remote.example@relay.example",
    "remote.example!user@relay.example",
    "user@remote.example@relay.example",
    "remote.example!user",
    "localhost!joe",
    "remote.example!user@mail.example.test",
    "joe",
    "nosuch",
    "postmaster",
    "POSTMASTER",
    "Joe@Mail.Example.Test",
    "user@remote",
]


def _syntax(name: str, description: str, extra: dict[str, str]) -> Scenario:
    return {
        "name": name,
        "description": description,
        "main_cf": {"relay_domains": "relay.example", **extra},
        "files": {"aliases": ALIASES},
        "postmap": [],
        "master_cf": "",
        "queries": [
            _q("outside_client", SYNTAX_ADDRESSES),
            _q("inside_client", SYNTAX_ADDRESSES, INSIDE),
        ],
    }


SQLITE_ALIASES = """\
CREATE TABLE alias (source TEXT PRIMARY KEY, dest TEXT NOT NULL);
INSERT INTO alias VALUES ('sq@example.com', 'sq-target@remote.example');
INSERT INTO alias VALUES ('both@example.com', 'from-sqlite@remote.example');
INSERT INTO alias VALUES ('multi@example.com', 'm1@remote.example, joe');
INSERT INTO alias VALUES ('@example.org', 'sqlite-catchall@remote.example');
"""

EXTRA_SCENARIOS: list[Scenario] = [
    _lookup_order(
        "lookup_order_plus",
        "virtual(5) lookup order with recipient_delimiter = +: user@domain, user+ext@domain, "
        "user and user+ext (local domains only: mydestination and the [127.0.0.1] literal of "
        "inet_interfaces), @domain; @otherdomain with extension; upper case; quoted local "
        "parts; owner-/-request keys.",
        {"recipient_delimiter": "+"},
    ),
    _lookup_order(
        "lookup_order_multi_delimiter",
        "The same table with recipient_delimiter = +- (either character starts an "
        "extension; owner-* and *-request are then not split).",
        {"recipient_delimiter": "+-"},
    ),
    _lookup_order(
        "lookup_order_no_propagation",
        "The same table with recipient_delimiter = + and propagate_unmatched_extensions "
        "empty: an extension that the matched key lacked is dropped.",
        {"recipient_delimiter": "+", "propagate_unmatched_extensions": ""},
    ),
    _lookup_order(
        "lookup_order_no_delimiter",
        "The same table without recipient_delimiter: no extension handling at all.",
        {},
    ),
    _limits(
        "virtual_alias_limits_default",
        "Alias chains, fan-out, an address that expands into itself plus others and a "
        "two-address cycle, under the default limits (DATA shows cleanup's verdict).",
        {},
    ),
    _limits(
        "virtual_alias_limits_low",
        "The same aliases with virtual_alias_recursion_limit = 2, "
        "virtual_alias_expansion_limit = 3, virtual_alias_address_length_limit = 30.",
        {
            "virtual_alias_recursion_limit": "2",
            "virtual_alias_expansion_limit": "3",
            "virtual_alias_address_length_limit": "30",
        },
    ),
    {
        "name": "virtual_alias_table_types",
        "description": "virtual_alias_maps listing hash, regexp, pcre, texthash, inline and "
        "sqlite tables: per lookup key all tables are asked in order, so a full-address hit "
        "in a later table beats an @domain entry in an earlier one; pattern tables see only "
        "the full address; regexp substitution ($1).",
        "main_cf": {
            "virtual_alias_domains": "example.com, example.org, sales.example",
            "recipient_delimiter": "+",
            "virtual_alias_maps": "hash:$config_directory/virtual, "
            "regexp:$config_directory/virtual_re, pcre:$config_directory/virtual_pcre, "
            "texthash:$config_directory/virtual_th, "
            "inline:{ inl@example.com=joe, { inl2@example.com = jane, in2@remote.example } }, "
            "sqlite:$config_directory/virtual_sqlite.cf",
        },
        "files": {
            "virtual": "hash@example.com hash-target@remote.example\n"
            "both@example.com from-hash@remote.example\n"
            "@example.com hash-catchall@remote.example\n",
            "virtual_re": "/^(.*)-sales@example\\.com$/ $1@sales.example\n"
            "/^re@example\\.com$/ re-target@remote.example\n"
            "/^both@example\\.com$/ from-regexp@remote.example\n"
            '/^"a b"@example\\.com$/ quoted-target@remote.example\n'
            "/^(.*)@sales\\.example$/ sales-$1@remote.example\n",
            "virtual_pcre": "/^pc(\\d+)@example\\.com$/ pcre-$1@remote.example\n"
            "/^pcre@example\\.org$/ pcre-org@remote.example\n",
            "virtual_th": "th@example.com th-target@remote.example\n"
            "th2@example.org   th2-target@remote.example\n",
            "virtual_sqlite.cf": "dbpath = ${config_directory}/valias.sqlite\n"
            "query = SELECT dest FROM alias WHERE source='%s'\n",
            "aliases": ALIASES,
        },
        "sqlite": {"valias.sqlite": SQLITE_ALIASES},
        "postmap": ["virtual"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "hash@example.com",
                    "both@example.com",
                    "john-sales@example.com",
                    "john-sales+x@example.com",
                    "re@example.com",
                    "re+x@example.com",
                    '"a b"@example.com',
                    "pc42@example.com",
                    "pcre@example.org",
                    "th@example.com",
                    "th2@example.org",
                    "inl@example.com",
                    "inl2@example.com",
                    "sq@example.com",
                    "sq+x@example.com",
                    "multi@example.com",
                    "other@example.org",
                    "unknown@example.com",
                ],
            ),
        ],
    },
    _transport(
        "transport_lookup_order",
        "transport(5) search order: full address, address without extension, domain, "
        ".parent, *; entries with empty transport or next hop; [host]:port; a * entry "
        "also catches local mail; virtual alias class is not affected.",
        {},
    ),
    _transport(
        "transport_parent_style",
        "The same transport table with transport_maps in "
        "parent_domain_matches_subdomains (a plain parent entry matches subdomains).",
        {"parent_domain_matches_subdomains": "transport_maps"},
    ),
    {
        "name": "relayhost_classes",
        "description": "relayhost = [gw.example]:2525 with the default and relay classes "
        "(relay_transport = relay), plus a transport_maps entry without next hop.",
        "main_cf": {
            "relayhost": "[gw.example]:2525",
            "relay_domains": "relay.example, nohop.example",
            "transport_maps": "hash:$config_directory/transport",
        },
        "files": {"transport": "nohop.example smtp:\n", "aliases": ALIASES},
        "postmap": ["transport"],
        "master_cf": "",
        "queries": [
            _q(
                "inside_client",
                ["a@relay.example", "a@remote.example", "a@nohop.example", "joe@mail.example.test"],
                INSIDE,
            ),
        ],
    },
    {
        "name": "default_transport_error",
        "description": "default_transport = error:... and relay_transport = "
        "smtp:[relaygw.example]:25: remote mail is refused by the error agent, relay "
        "domains go to the relay gateway.",
        "main_cf": {
            "default_transport": "error:5.7.1 outbound mail disabled",
            "relay_transport": "smtp:[relaygw.example]:25",
            "relay_domains": "relay.example",
        },
        "files": {"aliases": ALIASES},
        "postmap": [],
        "master_cf": "",
        "queries": [
            _q("inside_client", ["a@remote.example", "a@relay.example", "joe@localhost"], INSIDE),
            _q("outside_client", ["a@remote.example", "a@relay.example"]),
        ],
    },
    {
        "name": "local_transport_virtual",
        "description": "local_transport = virtual with local_recipient_maps = "
        "$virtual_mailbox_maps (LOCAL_RECIPIENT_README): local domains delivered by "
        "virtual(8) from virtual_mailbox_maps.",
        "main_cf": {
            "local_transport": "virtual",
            "local_recipient_maps": "$virtual_mailbox_maps",
            "virtual_mailbox_base": "/var/mail/vhosts",
            "virtual_mailbox_maps": "hash:$config_directory/vmailbox",
            "virtual_uid_maps": "static:5000",
            "virtual_gid_maps": "static:5000",
            "recipient_delimiter": "+",
        },
        "files": {
            "vmailbox": "known@mail.example.test  local/known/\n"
            "bare                     local/bare\n"
            "@localhost               local/catchall/\n",
            "aliases": ALIASES,
        },
        "postmap": ["vmailbox"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "known@mail.example.test",
                    "known+x@mail.example.test",
                    "bare@mail.example.test",
                    "unknown@mail.example.test",
                    "postmaster@mail.example.test",
                    "anyone@localhost",
                    "joe@mail.example.test",
                ],
            ),
        ],
    },
    {
        "name": "recipient_access",
        "description": "check_recipient_access (hash, then regexp) with OK, REJECT [text], "
        "NNN [dsn] text, DUNNO, DEFER, DEFER_IF_PERMIT, DEFER_IF_REJECT, restriction lists "
        "and a restriction class as values; access(5) address lookup order (full, without "
        "extension, domain, parent domain, user@).",
        "main_cf": {
            "virtual_alias_domains": ACCESS_DOMAINS,
            "virtual_alias_maps": "hash:$config_directory/virtual",
            "recipient_delimiter": "+",
            "smtpd_restriction_classes": "myclass",
            "myclass": "check_recipient_access hash:$config_directory/classaccess, "
            "reject_unauth_destination",
            "smtpd_recipient_restrictions": "check_recipient_access "
            "hash:$config_directory/access, check_recipient_access "
            "regexp:$config_directory/access_re, permit_mynetworks, reject_unauth_destination",
        },
        "files": {
            "access": ACCESS_TABLE,
            "access_re": ACCESS_REGEXP,
            "classaccess": "restrclass@example.com REJECT rejected by class\n",
            "virtual": "".join(f"@{d.strip()} joe\n" for d in ACCESS_DOMAINS.split(",")),
            "aliases": ALIASES,
        },
        "postmap": ["access", "classaccess", "virtual"],
        "master_cf": "",
        "queries": [
            _q("outside_client", ACCESS_ADDRESSES, verify=False),
            _q("inside_client", ACCESS_ADDRESSES, INSIDE, verify=False),
        ],
    },
    {
        "name": "old_style_recipient_restrictions",
        "description": "smtpd_relay_restrictions empty with everything in "
        "smtpd_recipient_restrictions: reject_non_fqdn_recipient, permit_auth_destination, "
        "permit_mynetworks, reject.",
        "main_cf": {
            "smtpd_relay_restrictions": "",
            "smtpd_recipient_restrictions": "reject_non_fqdn_recipient, "
            "permit_auth_destination, permit_mynetworks, reject",
            "relay_domains": "relay.example",
        },
        "files": {"aliases": ALIASES},
        "postmap": [],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "joe",
                    "joe@localhost",
                    "joe@mail.example.test",
                    "joe@mail",
                    "a@relay.example",
                    "a@remote.example",
                    "joe@[127.0.0.1]",
                    "a@[192.0.2.1]",
                    "postmaster",
                ],
                verify=False,
            ),
            _q("inside_client", ["joe", "a@remote.example", "a@remote"], INSIDE, verify=False),
        ],
    },
    {
        "name": "warn_defer_if_reject",
        "description": "warn_if_reject turns the next restriction's REJECT into a warning; "
        "defer_if_reject turns later REJECTs into 450; an unknown restriction name gives "
        "451 4.3.5 Server configuration error.",
        "main_cf": {
            "virtual_alias_domains": "example.com",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            "smtpd_recipient_restrictions": "warn_if_reject, check_recipient_access "
            "hash:$config_directory/access1, defer_if_reject, check_recipient_access "
            "hash:$config_directory/access2, check_recipient_access "
            "hash:$config_directory/access3, permit_mynetworks, no_such_restriction, "
            "reject_unauth_destination",
        },
        "files": {
            "access1": "warned@example.com REJECT warned only\nstillok@example.com OK\n",
            "access2": "deferred@example.com REJECT would reject\n"
            "warned@example.com REJECT rejected later\n"
            "temp@example.com 450 4.7.1 temp stays\n"
            "dip@example.com defer_if_permit, permit\n",
            "access3": "third@example.com REJECT third\n",
            "virtual": "@example.com joe\n",
            "aliases": ALIASES,
        },
        "postmap": ["access1", "access2", "access3", "virtual"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "warned@example.com",
                    "stillok@example.com",
                    "deferred@example.com",
                    "temp@example.com",
                    "third@example.com",
                    "dip@example.com",
                    "other@example.com",
                ],
                verify=False,
            ),
            _q("inside_client", ["other@example.com", "a@remote.example"], INSIDE, verify=False),
        ],
    },
    {
        "name": "unlisted_recipient_codes",
        "description": "Unknown users in local, virtual mailbox and relay domains "
        "(relay_recipient_maps) with unknown_virtual_mailbox_reject_code = 450, "
        "show_user_unknown_table_name = no.",
        "main_cf": {
            "virtual_mailbox_domains": "vmail.example",
            "virtual_mailbox_base": "/var/mail/vhosts",
            "virtual_mailbox_maps": "hash:$config_directory/vmailbox",
            "virtual_uid_maps": "static:5000",
            "virtual_gid_maps": "static:5000",
            "relay_domains": "relay.example",
            "relay_recipient_maps": "hash:$config_directory/relay_recipients",
            "unknown_virtual_mailbox_reject_code": "450",
            "show_user_unknown_table_name": "no",
        },
        "files": {
            "vmailbox": "info@vmail.example vmail.example/info/\n",
            "relay_recipients": "known@relay.example x\n",
            "aliases": ALIASES,
        },
        "postmap": ["vmailbox", "relay_recipients"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "info@vmail.example",
                    "nobody@vmail.example",
                    "known@relay.example",
                    "nobody@relay.example",
                    "nosuchuser@mail.example.test",
                    "joe@mail.example.test",
                ],
            ),
        ],
    },
    {
        "name": "unlisted_recipient_off",
        "description": "smtpd_reject_unlisted_recipient = no: unknown users are accepted "
        "at RCPT (and bounce later).",
        "main_cf": {
            "virtual_mailbox_domains": "vmail.example",
            "virtual_mailbox_base": "/var/mail/vhosts",
            "virtual_mailbox_maps": "hash:$config_directory/vmailbox",
            "virtual_uid_maps": "static:5000",
            "virtual_gid_maps": "static:5000",
            "virtual_alias_domains": "valias.example",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            "relay_domains": "relay.example",
            "relay_recipient_maps": "hash:$config_directory/relay_recipients",
            "smtpd_reject_unlisted_recipient": "no",
        },
        "files": {
            "vmailbox": "info@vmail.example vmail.example/info/\n",
            "virtual": "info@valias.example joe\n",
            "relay_recipients": "known@relay.example x\n",
            "aliases": ALIASES,
        },
        "postmap": ["vmailbox", "virtual", "relay_recipients"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "nobody@vmail.example",
                    "nobody@valias.example",
                    "nobody@relay.example",
                    "nosuchuser@mail.example.test",
                ],
            ),
        ],
    },
    {
        "name": "soft_bounce",
        "description": "soft_bounce = yes: 5xx RCPT rejections become 4xx.",
        "main_cf": {
            "soft_bounce": "yes",
            "virtual_alias_domains": "example.com",
            "virtual_alias_maps": "hash:$config_directory/virtual",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": "check_recipient_access hash:$config_directory/access",
        },
        "files": {
            "virtual": "info@example.com joe\n",
            "access": "rej@example.com REJECT\ncode@example.com 554 5.7.2 code text\n",
            "aliases": ALIASES,
        },
        "postmap": ["virtual", "access"],
        "master_cf": "",
        "queries": [
            _q(
                "outside_client",
                [
                    "info@example.com",
                    "nobody@example.com",
                    "rej@example.com",
                    "code@example.com",
                    "a@remote.example",
                    "nosuchuser@mail.example.test",
                ],
                verify=False,
            ),
        ],
    },
    {
        "name": "mynetworks_cidr_exclusions",
        "description": "mynetworks with a !exclusion before a wider CIDR block and a cidr: "
        "table; relay decisions for clients inside, excluded and outside.",
        "main_cf": {"mynetworks": NETWORKS},
        "files": {
            "nets": "198.51.100.0/24 OK\n203.0.113.5 OK\n",
            "aliases": ALIASES,
        },
        "postmap": [],
        "master_cf": "",
        "queries": [
            _q(f"client_{ip.replace('.', '_')}", ["a@remote.example"], ip, verify=False)
            for ip in (
                "192.0.2.7",
                "192.0.2.200",
                "198.51.100.9",
                "203.0.113.5",
                "203.0.113.6",
                "10.1.2.3",
            )
        ],
    },
    _syntax(
        "address_syntax",
        "Address forms at RCPT and in -bv: [IP] literals, trailing dots, the percent hack "
        "and bang paths (allow_untrusted_routing = no), unqualified names, postmaster.",
        {},
    ),
    _syntax(
        "address_syntax_untrusted_routing",
        "The same addresses with allow_untrusted_routing = yes.",
        {"allow_untrusted_routing": "yes"},
    ),
]


SCENARIOS.extend(EXTRA_SCENARIOS)


def scenario_names() -> list[str]:
    """Names of all scenarios, in definition order."""
    return [s["name"] for s in SCENARIOS]

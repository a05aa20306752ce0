"""A small PostfixAdmin-like directory used by the SQL table tests, for every database."""

from __future__ import annotations

# Portable DDL: works in SQLite, MariaDB and PostgreSQL.
SCHEMA = [
    "CREATE TABLE domain (domain VARCHAR(255) NOT NULL, description VARCHAR(255),"
    " transport VARCHAR(255), backupmx SMALLINT NOT NULL DEFAULT 0,"
    " active SMALLINT NOT NULL DEFAULT 1)",
    "CREATE TABLE mailbox (username VARCHAR(255) NOT NULL, password VARCHAR(255),"
    " name VARCHAR(255), maildir VARCHAR(255), quota BIGINT NOT NULL DEFAULT 0,"
    " local_part VARCHAR(255) NOT NULL, domain VARCHAR(255) NOT NULL,"
    " active SMALLINT NOT NULL DEFAULT 1)",
    "CREATE TABLE alias (address VARCHAR(255) NOT NULL, goto TEXT,"
    " domain VARCHAR(255) NOT NULL, active SMALLINT NOT NULL DEFAULT 1)",
    "CREATE TABLE alias_domain (alias_domain VARCHAR(255) NOT NULL,"
    " target_domain VARCHAR(255) NOT NULL, active SMALLINT NOT NULL DEFAULT 1)",
    "CREATE TABLE kv (k VARCHAR(255), v VARCHAR(255), w VARCHAR(255))",
]

TABLES = ["domain", "mailbox", "alias", "alias_domain", "kv"]

ROWS: dict[str, list[tuple[object, ...]]] = {
    "domain": [
        ("example.com", "Example", "virtual:", 0, 1),
        ("example.org", "Org", "lmtp:unix:private/dovecot-lmtp", 0, 1),
        ("old.example", "Disabled", "virtual:", 0, 0),
        ("backup.example", "Backup MX", "relay:[mx.backup.example]", 1, 1),
    ],
    "mailbox": [
        (
            "alice@example.com",
            "{BLF-CRYPT}x",
            "Alice",
            "example.com/alice/",
            0,
            "alice",
            "example.com",
            1,
        ),
        (
            "bob@example.com",
            "{BLF-CRYPT}y",
            "Bob",
            "example.com/bob/",
            1024,
            "bob",
            "example.com",
            1,
        ),
        (
            "carol@example.org",
            "{BLF-CRYPT}z",
            "Carol",
            "example.org/carol/",
            0,
            "carol",
            "example.org",
            1,
        ),
        (
            "gone@example.com",
            "{BLF-CRYPT}g",
            "Gone",
            "example.com/gone/",
            0,
            "gone",
            "example.com",
            0,
        ),
        (
            "o'brien@example.com",
            "{X}q",
            "O'Brien",
            "example.com/obrien/",
            0,
            "o'brien",
            "example.com",
            1,
        ),
    ],
    "alias": [
        ("alice@example.com", "alice@example.com", "example.com", 1),
        ("bob@example.com", "bob@example.com", "example.com", 1),
        ("carol@example.org", "carol@example.org", "example.org", 1),
        ("info@example.com", "alice@example.com,bob@example.com", "example.com", 1),
        ("sales@example.com", "bob@example.com", "example.com", 1),
        ("sales@example.com", "carol@example.org", "example.com", 1),
        ("off@example.com", "alice@example.com", "example.com", 0),
        ("@example.org", "carol@example.org", "example.org", 1),
        ("o'brien@example.com", "o'brien@example.com", "example.com", 1),
        ("back\\slash@example.com", "alice@example.com", "example.com", 1),
        ("pct%s@example.com", "bob@example.com", "example.com", 1),
    ],
    "alias_domain": [
        ("alias.example", "example.com", 1),
        ("inactive.example", "example.com", 0),
    ],
    "kv": [
        ("multi", "u1@d1.com", "u2@d2.org"),
        ("multi", "@nolocal.com", None),
        ("multi", "plain", ""),
        ("multi", None, "x%y"),
        ("one", "v", None),
        ("null", None, None),
        ("empty", "", ""),
        ("semi;colon", "semi", None),
        ("dash--dash", "dash", None),
        ('quote"dq', "dq", None),
    ],
}

MAILBOX_QUERY = "SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'"
ALIAS_QUERY = "SELECT goto FROM alias WHERE address='%s' AND active = '1'"
DOMAIN_QUERY = "SELECT domain FROM domain WHERE domain='%s' AND backupmx = '0' AND active = '1'"
ALIAS_DOMAIN_MYSQL = (
    "SELECT goto FROM alias,alias_domain WHERE alias_domain.alias_domain = '%d'"
    " and alias.address = CONCAT('%u', '@', alias_domain.target_domain)"
    " AND alias.active = 1 AND alias_domain.active='1'"
)
ALIAS_DOMAIN_SQL = (
    "SELECT goto FROM alias,alias_domain WHERE alias_domain.alias_domain = '%d'"
    " and alias.address = '%u' || '@' || alias_domain.target_domain"
    " AND alias.active = 1 AND alias_domain.active='1'"
)

# Keys every differential test asks about: hits, misses, no @, odd characters.
KEYS = [
    "alice@example.com",
    "ALICE@Example.COM",
    "bob@example.com",
    "gone@example.com",
    "nobody@example.com",
    "info@example.com",
    "sales@example.com",
    "off@example.com",
    "@example.org",
    "x@example.org",
    "alice@alias.example",
    "sales@alias.example",
    "alice@inactive.example",
    "example.com",
    "example.org",
    "alice",
    "alice@",
    "@",
    "o'brien@example.com",
    "back\\slash@example.com",
    "pct%s@example.com",
    "x' OR '1'='1",
    "x' OR '1'='1@example.com",
    "'; DROP TABLE alias; --@example.com",
    "a\\'@example.com",
    "semi;colon",
    "dash--dash",
    'quote"dq',
    "multi",
    "one",
    "null",
    "empty",
    "a@b@example.com",
    "a@.example.com",
    "",
]

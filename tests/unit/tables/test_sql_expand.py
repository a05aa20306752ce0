"""The %-expansions of SQL table query and result_format templates (checked against postmap)."""

from __future__ import annotations

import sqlite3

import pytest

from vmail.tables.sqlexpand import AddressParts, Template, TemplateError, no_quote

QUERY = "%s|%u|%d|%1|%2|%S|%U|%D|%%"


def sql_quote(text: str) -> str:
    return text.replace("'", "''")


@pytest.mark.parametrize(
    ("template", "key", "expected"),
    [
        ("%s|%u|%d|%1|%%|%S|%U|%D", "a@b.com", "a@b.com|a|b.com|com|%|a@b.com|a|b.com"),
        ("%1.%2.%3", "u@mail.example.com", "com.example.mail"),
        ("%s|%u", "foo", "foo|foo"),  # no @: %u is the whole key
        ("%s|%u", "a@", "a@|a"),
        ("%d", "@b.com", "b.com"),  # an empty local part only stops %u
        ("%1", "@b.com", "com"),
        ("%s", "@b.com", "@b.com"),
        ("%u|%d", "a@b@c.com", "a@b|c.com"),  # split at the last @
        ("%d|%1", "a@.com", ".com|com"),  # empty labels are not counted
        ("%d|%1", "a@com.", "com.|com"),
        ("%2|%1", "a@b.c.d", "c|d"),
        ("%u", "x'y@z.com", "x''y"),
        ("%%s %%%s", "k", "%s %k"),
        ("no directives", "k", "no directives"),
        ("", "k", ""),
    ],
)
def test_query_expansion(template: str, key: str, expected: str) -> None:
    assert Template(template).expand(AddressParts.of(key), None, sql_quote) == expected


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ("%d", "foo"),  # no domain
        ("%D", "foo"),
        ("%d", "a@"),  # empty domain
        ("%u", "@b.com"),  # empty local part
        ("%U", "@"),
        ("%1", "foo"),
        ("%1", "a@"),
        ("%2", "a@com"),  # not enough labels
        ("%2", "a@.b"),
        ("%9", "a@b.c.d.e.f.g.h.i"),
    ],
)
def test_query_suppressed(template: str, key: str) -> None:
    assert Template(template).expand(AddressParts.of(key), None, sql_quote) is None


@pytest.mark.parametrize(
    ("template", "value", "key", "expected"),
    [
        ("[%s]", "u1@d1.com", "k", "[u1@d1.com]"),
        ("<%u>", "u1@d1.com", "k", "<u1>"),
        ("<%u>", "plain", "k", "<plain>"),
        ("<%u>", "@nolocal.com", "k", None),
        ("<%d>", "plain", "k", None),
        ("<%d>", "@nolocal.com", "k", "<nolocal.com>"),
        ("<%d|%S|%U|%D|%1|%%>", "u@d1.com", "m@x.y", "<d1.com|m@x.y|m|x.y|y|%>"),
        ("%U/%u", "foo", "foo", "foo/foo"),
        ("smtp:[%s]", "mx.example", "k", "smtp:[mx.example]"),
        ("x", "v", "k", "x"),
        ("%%s", "v", "k", "%s"),
    ],
)
def test_result_format(template: str, value: str, key: str, expected: str | None) -> None:
    t = Template(template)
    assert t.expand(AddressParts.of(key), AddressParts.of(value), no_quote) == expected


@pytest.mark.parametrize(
    ("template", "key", "complete"),
    [("%s %U", "foo", True), ("%s %D", "foo", False), ("%1", "@b.com", True), ("%U", "@b", False)],
)
def test_key_complete(template: str, key: str, complete: bool) -> None:
    assert Template(template).key_complete(AddressParts.of(key)) is complete


@pytest.mark.parametrize("text", ["%", "abc%", "%z", "%s%x", "%0", "%S%"])
def test_invalid_templates(text: str) -> None:
    with pytest.raises(TemplateError):
        Template(text)


def test_inserted_text_is_not_expanded_again() -> None:
    assert Template("'%s'").expand(AddressParts.of("%s%u@x"), None, sql_quote) == "'%s%u@x'"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT v FROM t WHERE k='%s'", ("SELECT v FROM t WHERE k='' || ? || ''", ("s",))),
        (
            "SELECT v FROM t WHERE k='%u' || '@' || '%d' AND a = '1'",
            (
                "SELECT v FROM t WHERE k='' || ? || '' || '@' || '' || ? || '' AND a = '1'",
                ("u", "d"),
            ),
        ),
        ("SELECT v FROM t WHERE k='x''%s'", ("SELECT v FROM t WHERE k='x''' || ? || ''", ("s",))),
        ("SELECT v FROM t WHERE k=%s", None),  # outside a literal: keep Postfix's expansion
        ("SELECT \"it's\" FROM t WHERE k='%s'", None),  # quotes in identifiers: not attempted
    ],
)
def test_parameterized_queries(query: str, expected: tuple[str, tuple[str, ...]] | None) -> None:
    assert Template(query).parameterized() == expected


def test_parameterized_query_answers_like_the_quoted_one() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (k TEXT, v TEXT)")
    keys = ["a@b.example", "o'brien@x.example", "back\\slash", "pct%s", "x' OR '1'='1"]
    db.executemany("INSERT INTO t VALUES (?, ?)", [(k, f"v{i}") for i, k in enumerate(keys)])
    template = Template("SELECT v FROM t WHERE k = '%s'")
    bound = template.parameterized()
    assert bound is not None
    for key in [*keys, "missing"]:
        quoted = template.expand(AddressParts.of(key), None, lambda s: s.replace("'", "''"))
        assert quoted is not None
        assert db.execute(quoted).fetchall() == db.execute(bound[0], (key,)).fetchall()

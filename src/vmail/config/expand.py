"""``$name`` expansion as Postfix's mac_expand(3) does it.

Supported forms: ``$name``, ``${name}``, ``$(name)``, ``${name?text}`` (text when name is
non-empty), ``${name:text}`` (text when name is empty or undefined),
``${name?{text1}:{text2}}``, and ``$$`` for a literal dollar. Expansion is recursive:
text substituted for a name is expanded again; a cycle is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vmail.core.errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9_]+")
MAX_DEPTH = 100

Lookup = Callable[[str], str | None]


def expand(value: str, lookup: Lookup, *, _depth: int = 0, _stack: tuple[str, ...] = ()) -> str:
    """Return ``value`` with every ``$`` reference replaced, using ``lookup(name)``.

    ``lookup`` returns the raw (unexpanded) value of a parameter, or None when undefined.
    """
    if "$" not in value:
        return value
    if _depth > MAX_DEPTH:
        raise ConfigError(f"unreasonable macro call nesting: {' -> '.join(_stack)}")
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c != "$":
            j = value.find("$", i)
            j = n if j < 0 else j
            out.append(value[i:j])
            i = j
            continue
        if i + 1 >= n:
            out.append("$")
            break
        nxt = value[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt in "{(":
            close = "}" if nxt == "{" else ")"
            end = _matching(value, i + 1, nxt, close)
            if end < 0:
                raise ConfigError(f"missing '{close}' in \"{value}\"")
            out.append(_braced(value[i + 2 : end], lookup, _depth, _stack))
            i = end + 1
            continue
        m = _NAME.match(value, i + 1)
        if not m:
            out.append("$")
            i += 1
            continue
        out.append(_resolve(m.group(0), lookup, _depth, _stack))
        i = m.end()
    return "".join(out)


def _matching(text: str, start: int, open_: str, close: str) -> int:
    """Index of the bracket closing the one at ``start``, honouring nesting; -1 if none."""
    depth = 0
    for k in range(start, len(text)):
        if text[k] == open_:
            depth += 1
        elif text[k] == close:
            depth -= 1
            if depth == 0:
                return k
    return -1


def _resolve(name: str, lookup: Lookup, depth: int, stack: tuple[str, ...]) -> str:
    if name in stack:
        raise ConfigError(f"parameter {name}: recursive reference ({' -> '.join((*stack, name))})")
    raw = lookup(name)
    if raw is None:
        return ""
    return expand(raw, lookup, _depth=depth + 1, _stack=(*stack, name))


def _braced(body: str, lookup: Lookup, depth: int, stack: tuple[str, ...]) -> str:
    m = _NAME.match(body)
    if not m:
        raise ConfigError(f'bad macro name in "${{{body}}}"')
    name, rest = m.group(0), body[m.end() :]
    if not rest:
        return _resolve(name, lookup, depth, stack)
    op, arg = rest[0], rest[1:]
    if op not in "?:":
        raise ConfigError(f'bad macro syntax in "${{{body}}}"')
    value = _resolve(name, lookup, depth, stack)
    if op == "?" and arg.startswith("{"):
        when_true, when_false = _split_alternatives(arg, body)
        chosen = when_true if value else when_false
        return expand(chosen, lookup, _depth=depth + 1, _stack=stack)
    if op == ":" and arg.startswith("{") and arg.endswith("}"):
        arg = arg[1:-1]
    if (op == "?") == bool(value):
        return expand(arg, lookup, _depth=depth + 1, _stack=stack)
    return ""


def _split_alternatives(arg: str, body: str) -> tuple[str, str]:
    """Split ``{a}:{b}`` into ``(a, b)``."""
    end = _matching(arg, 0, "{", "}")
    if end < 0:
        raise ConfigError(f"missing '}}' in \"${{{body}}}\"")
    first, rest = arg[1:end], arg[end + 1 :].strip()
    if not rest:
        return first, ""
    if not (rest.startswith(":") and rest[1:].strip().startswith("{") and rest.endswith("}")):
        raise ConfigError(f'bad macro syntax in "${{{body}}}"')
    second = rest[1:].strip()[1:-1]
    return first, second

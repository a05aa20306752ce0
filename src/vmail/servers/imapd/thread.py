"""THREAD=ORDEREDSUBJECT, THREAD=REFERENCES (RFC 5256 section 3), THREAD=REFS (the
"inthread" draft, as Dovecot) and their wire form.

Threads are trees of :class:`Node`; a node without a UID is a dummy (a message that was
referenced but is not in the searched set). Every walk is iterative, so a hostile chain of
References thousands deep cannot exhaust the interpreter's stack. Dates are the sent date
with INTERNALDATE as fallback (as SORT DATE), ties broken by mailbox order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from vmail.core.errors import VmailError
from vmail.mailstore.records import MessageRecord
from vmail.servers.imapd.inputs import FolderLike, SummaryLike
from vmail.servers.imapd.sort import casemap, sent_or_internal

ALGORITHMS = ("ORDEREDSUBJECT", "REFERENCES", "REFS")
_WS = re.compile(r"\s+")
_REFWD = re.compile(r"(?:\[[^\[\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^\[\]]*\]\s*)?:\s*")
_BLOB = re.compile(r"\[[^\[\]]*\]\s*")


class ThreadAlgorithmError(VmailError):
    """An unknown threading algorithm: the command gets ``BAD``."""


class Node:
    """One message (or dummy) of a thread tree."""

    __slots__ = ("children", "key", "parent", "summary", "uid")

    def __init__(self, uid: int | None = None) -> None:
        self.uid = uid
        self.parent: Node | None = None
        self.children: list[Node] = []
        self.key: tuple[float, int] = (0.0, 0)  # (date, uid) for sibling order
        self.summary: SummaryLike | None = None

    @property
    def subject(self) -> str:
        """The casemapped base subject ("" for a dummy or an unknown message)."""
        return casemap(self.summary.base_subject) if self.summary is not None else ""

    @property
    def reply(self) -> bool:
        """True when the subject says this is a reply or a forward."""
        return self.summary is not None and is_reply_or_forward(self.summary.subject)

    def __repr__(self) -> str:
        return f"Node({self.uid}, {self.children!r})"


def is_reply_or_forward(subject: str) -> bool:
    """True when base-subject extraction (RFC 5256 2.1) removes a reply/forward marker."""
    s = _WS.sub(" ", subject).strip().lower()
    found = False
    while True:
        while s.endswith("(fwd)"):
            s = s[:-5].rstrip()
            found = True
        changed = True
        while changed:
            changed = False
            m = _REFWD.match(s)
            if m:
                s, found, changed = s[m.end() :], True, True
                continue
            m = _BLOB.match(s)
            if m and s[m.end() :]:
                s, changed = s[m.end() :], True
        if s.startswith("[fwd:") and s.endswith("]"):
            s, found = s[5:-1].strip(), True
            continue
        return found


def _prepare(
    uids: Iterable[int], folder: FolderLike
) -> tuple[list[int], dict[int, SummaryLike], dict[int, MessageRecord | None]]:
    order = sorted(set(uids))
    summaries = dict(folder.summaries(order))
    records = {u: folder.by_uid(u) for u in order}
    return order, summaries, records


def _message_node(uid: int, summary: SummaryLike | None, record: MessageRecord | None) -> Node:
    node = Node(uid)
    _fill(node, uid, summary, record)
    return node


def _fill(node: Node, uid: int, summary: SummaryLike | None, record: MessageRecord | None) -> None:
    node.uid = uid
    node.key = (sent_or_internal(summary, record), uid)
    node.summary = summary


def ordered_subject(uids: Iterable[int], folder: FolderLike) -> list[Node]:
    """THREAD=ORDEREDSUBJECT: one thread per base subject, all replies children of the first."""
    order, summaries, records = _prepare(uids, folder)
    nodes = [_message_node(u, summaries.get(u), records[u]) for u in order]
    subjects = {n.uid: n.subject for n in nodes}
    nodes.sort(key=lambda n: (subjects[n.uid], n.key))
    threads: list[Node] = []
    for node in nodes:
        if threads and subjects[threads[-1].uid] == subjects[node.uid]:
            head = threads[-1]
            node.parent = head
            head.children.append(node)
        else:
            threads.append(node)
    threads.sort(key=lambda n: n.key)
    return threads


def _is_ancestor(a: Node, b: Node) -> bool:
    """True when ``a`` is ``b`` or one of its ancestors."""
    n: Node | None = b
    while n is not None:
        if n is a:
            return True
        n = n.parent
    return False


def _link(parent: Node, child: Node) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def _references_of(summary: SummaryLike | None) -> list[str]:
    if summary is None:
        return []
    if summary.references:
        return list(summary.references)
    return [summary.in_reply_to] if summary.in_reply_to else []


def _build(
    order: list[int],
    summaries: dict[int, SummaryLike],
    records: dict[int, MessageRecord | None],
) -> list[Node]:
    """Step 1 and 2: link messages by Message-ID and References; the root set."""
    ids: dict[str, Node] = {}
    everything: list[Node] = []
    for u in order:
        summary = summaries.get(u)
        mid = summary.message_id if summary else ""
        known = ids.get(mid) if mid else None
        if known is not None and known.uid is None:
            node = known
            _fill(node, u, summary, records[u])
        else:
            node = _message_node(u, summary, records[u])
            everything.append(node)
            if mid and known is None:
                ids[mid] = node
        prev: Node | None = None
        for ref in _references_of(summary):
            container = ids.get(ref)
            if container is None:
                container = ids[ref] = Node()
                everything.append(container)
            if prev is not None and container.parent is None and not _is_ancestor(container, prev):
                _link(prev, container)
            prev = container
        if prev is not None and not _is_ancestor(node, prev):
            _link(prev, node)
        elif prev is None and node.parent is not None:
            node.parent.children.remove(node)
            node.parent = None
    return [n for n in everything if n.parent is None]


def _post_order(roots: list[Node]) -> list[Node]:
    """Every node below ``roots`` (roots included), children before their parents."""
    pre: list[Node] = []
    stack = list(roots)
    while stack:
        n = stack.pop()
        pre.append(n)
        stack.extend(n.children)
    pre.reverse()
    return pre


def _prune(roots: list[Node]) -> list[Node]:
    """Step 4: drop childless dummies; splice a dummy's children into its place."""
    for n in _post_order(roots):
        if any(c.uid is None for c in n.children):
            kept: list[Node] = []
            for c in n.children:
                if c.uid is None:
                    for g in c.children:
                        g.parent = n
                    kept.extend(c.children)
                else:
                    kept.append(c)
            n.children = kept
    out: list[Node] = []
    for r in roots:
        if r.uid is None and len(r.children) < 2:
            for g in r.children:
                g.parent = None
            out.extend(r.children)
        else:
            out.append(r)
    return out


def _thread_subject(n: Node) -> str:
    if n.uid is None:
        return n.children[0].subject if n.children else ""
    return n.subject


def _merge_subjects(roots: list[Node]) -> list[Node]:
    """Step 5: gather root threads that share a base subject."""
    table: dict[str, Node] = {}
    subjects = [_thread_subject(n) for n in roots]
    for n, subject in zip(roots, subjects, strict=True):
        if not subject:
            continue
        old = table.get(subject)
        if old is None or (old.uid is not None and (n.uid is None or (old.reply and not n.reply))):
            table[subject] = n
    dummies: list[Node] = []
    for n, subject in zip(roots, subjects, strict=True):
        old = table.get(subject) if subject else None
        if old is None or old is n:
            continue
        if old.uid is None and n.uid is None:
            for c in n.children:
                c.parent = old
            old.children.extend(n.children)
            n.children = []
        elif old.uid is None or (n.reply and not old.reply):
            _link(old, n)
        else:
            dummy = Node()
            _link(dummy, old)
            _link(dummy, n)
            table[subject] = dummy
            dummies.append(dummy)
    # Sibling order is set by the sort that follows, so new dummies can go last.
    return [r for r in roots + dummies if r.parent is None and (r.uid is not None or r.children)]


def references(uids: Iterable[int], folder: FolderLike) -> list[Node]:
    """THREAD=REFERENCES (RFC 5256 section 3), threads in order."""
    order, summaries, records = _prepare(uids, folder)
    roots = _merge_subjects(_prune(_build(order, summaries, records)))
    _sort_siblings(roots)
    roots.sort(key=lambda c: c.key)
    return roots


def refs(uids: Iterable[int], folder: FolderLike) -> list[Node]:
    """THREAD=REFS: REFERENCES without gathering threads by subject, the threads in the
    order of their latest message (date, then mailbox order)."""
    order, summaries, records = _prepare(uids, folder)
    roots = _prune(_build(order, summaries, records))
    _sort_siblings(roots)
    latest: dict[int, tuple[float, int]] = {}
    for n in _post_order(roots):
        keys = [latest[id(c)] for c in n.children]
        if n.uid is not None:
            keys.append(n.key)
        latest[id(n)] = max(keys)
    roots.sort(key=lambda r: latest[id(r)])
    return roots


def _sort_siblings(roots: list[Node]) -> None:
    """Children by date (RFC 5256 REFERENCES step 6); a dummy takes its first child's."""
    for n in _post_order(roots):
        n.children.sort(key=lambda c: c.key)
        if n.uid is None and n.children:
            n.key = n.children[0].key


def thread(algorithm: str, uids: Iterable[int], folder: FolderLike) -> list[Node]:
    """Run ``algorithm`` (``ORDEREDSUBJECT``, ``REFERENCES`` or ``REFS``, any case)."""
    name = algorithm.upper()
    if name == "REFERENCES":
        return references(uids, folder)
    if name == "REFS":
        return refs(uids, folder)
    if name == "ORDEREDSUBJECT":
        return ordered_subject(uids, folder)
    raise ThreadAlgorithmError(f"Unknown thread algorithm: {algorithm[:40]!r}")


def format_threads(threads: Iterable[Node], number: Callable[[int], int] | None = None) -> bytes:
    """``(2)(3 6 (4 23)(44 7 96))``: the THREAD response data; ``number`` maps UID -> seq."""
    out: list[str] = []
    stack: list[Node | str] = []
    for root in reversed(list(threads)):
        stack.extend((")", root, "("))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        chain: list[str] = []
        n = item
        while True:
            if n.uid is not None:
                chain.append(str(number(n.uid) if number else n.uid))
            if len(n.children) != 1:
                break
            n = n.children[0]
        out.append(" ".join(chain))
        if n.children:
            if chain:
                out.append(" ")
            for c in reversed(n.children):
                stack.extend((")", c, "("))
    return "".join(out).encode("ascii")

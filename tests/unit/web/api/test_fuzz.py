"""Property-based fuzz of the REST API from its own OpenAPI document (schemathesis): no
request a client can make, valid or not, gets a 5xx answer.

Runs against the real server (uvicorn on 127.0.0.1) over a directory of its own, as a
superadmin token (so requests reach the handlers, not only the authentication; the
account endpoints as a mailbox user's session), with a
fixed number of examples per operation and derandomized generation, so CI runs are
short and repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema

from tests.unit.web.api.conftest import services
from tests.unit.web.api.test_authorization import CASES
from tests.unit.web.api.test_authorization import Case as MatrixCase
from tests.unit.web.conftest import USER, RunningWeb, make_web, open_directory
from vmail.admin import Actor

CLI = Actor.cli("tester")
EXAMPLES = 25  # per operation
DECOYS = 10  # tokens made first, so that revoking small ids rarely hits the fuzz's own


@dataclass
class Fuzzed:
    """The server, and the headers of a superadmin token and of a mailbox user's session."""

    web: RunningWeb
    admin_headers: dict[str, str]
    user_headers: dict[str, str]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    root = tmp_path_factory.mktemp("fuzz")
    admin = open_directory(root / "vmail.db")
    for n in range(DECOYS):
        admin.create_token(CLI, f"decoy {n}", "superadmin")
    secret = admin.create_token(CLI, "fuzz", "superadmin")[1]
    running = make_web(admin, **services(root / "spool"))
    user = running.login(USER)
    cookie = "; ".join(f"{name}={value}" for name, value in user.cookies.items())
    user_headers = {"Cookie": cookie, "X-CSRF-Token": running.token(user)}
    yield Fuzzed(running, {"Authorization": f"Bearer {secret}"}, user_headers)
    running.close()
    admin.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed.web.url}/api/v1/openapi.json")


# One test per operation of the matrix's table (which covers the whole document). Not
# schemathesis.pytest.from_fixture: with pytest 9 it fails on Function._nodeid.
@pytest.mark.parametrize("case", CASES, ids=lambda case: " ".join(case.key))
def test_no_server_errors(api_schema: BaseSchema, fuzzed: Fuzzed, case: MatrixCase) -> None:
    operation = api_schema[case.route][case.method]
    headers = fuzzed.user_headers if case.audience == "user" else fuzzed.admin_headers
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(generated=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(generated: Case[Any]) -> None:
        generated.call_and_validate(headers=headers, checks=[not_a_server_error])

    fuzz()

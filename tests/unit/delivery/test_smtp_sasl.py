"""SMTP AUTH by the client: smtp_sasl_auth_enable with smtp_sasl_password_maps."""

from __future__ import annotations

import base64

from tests.unit.delivery.smtp_sink import SmtpSink
from tests.unit.delivery.test_smtp import content, make_agent, requests
from vmail.delivery.request import Status


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sasl_agent(sink: SmtpSink, **params: str) -> dict[str, str]:
    return {
        "smtp_sasl_auth_enable": "yes",
        "smtp_sasl_password_maps": f"inline:{{ [127.0.0.1]:{sink.port}=bob:s3cret }}",
        "smtp_sasl_security_options": "noanonymous",
        **params,
    }


def auth_sink() -> SmtpSink:
    return SmtpSink(keywords=["PIPELINING", "AUTH PLAIN LOGIN"])


def test_auth_plain() -> None:
    with auth_sink() as sink:
        agent = make_agent(None, **sasl_agent(sink))
        [result] = agent.deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "a@remote.test"), content
        )
        agent.close()
    assert result.status == Status.SENT
    assert sink.commands[1] == "AUTH PLAIN " + b64("\0bob\0s3cret")
    assert sink.commands[2].startswith("MAIL FROM:")


def test_auth_login_with_mechanism_filter() -> None:
    with auth_sink() as sink:
        agent = make_agent(None, **sasl_agent(sink, smtp_sasl_mechanism_filter="login"))
        [result] = agent.deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "a@remote.test"), content
        )
        agent.close()
    assert result.status == Status.SENT
    assert sink.commands[1:4] == ["AUTH LOGIN", b64("bob"), b64("s3cret")]


def test_no_password_for_host_means_no_auth() -> None:
    with auth_sink() as sink:
        params = sasl_agent(sink, smtp_sasl_password_maps="inline:{ other.test=x:y }")
        [result] = make_agent(None, **params).deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "a@remote.test"), content
        )
    assert result.status == Status.SENT
    assert not any(c.startswith("AUTH") for c in sink.commands)


def test_plaintext_mechanisms_refused_by_default_options() -> None:
    with auth_sink() as sink:
        params = sasl_agent(sink)
        del params["smtp_sasl_security_options"]
        [result] = make_agent(None, **params).deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "a@remote.test"), content
        )
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.7.0")
    assert result.text == (
        "SASL authentication failed; cannot authenticate to server 127.0.0.1[127.0.0.1]: "
        "no mechanism available"
    )


def test_rejected_credentials_defer() -> None:
    sink = auth_sink()
    sink.replies["AUTH"] = "535 5.7.8 Error: authentication failed"
    with sink:
        [result] = make_agent(None, **sasl_agent(sink)).deliver_batch(
            requests(f"[127.0.0.1]:{sink.port}", "a@remote.test"), content
        )
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.7.8")
    assert result.text == (
        "SASL authentication failed; server 127.0.0.1[127.0.0.1] said: "
        "535 5.7.8 Error: authentication failed"
    )
    assert not any(c.startswith("MAIL") for c in sink.commands)

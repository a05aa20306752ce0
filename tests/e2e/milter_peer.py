#!/usr/bin/python3
"""A real libmilter application for the milter tests (pymilter, Debian's python3-milter).

Run by the tests with the system Python (``/usr/bin/python3 milter_peer.py PORT CONFIG
LOG``). CONFIG (JSON, read again for each connection) says what to answer:
``{"stages": {"envrcpt": {"action": "REJECT", "reply": ["550", "5.7.0", "text"],
"match": "<a@b>"}}, "mods": [["addheader", "X-Name", "value"], ...]}``; stages are
connect hello envfrom envrcpt data header eoh body eom, actions CONTINUE ACCEPT REJECT
TEMPFAIL DISCARD SKIP; mods (at the end of the message) addheader (with an index:
insheader), chgheader, addrcpt, delrcpt, chgfrom, replacebody, quarantine. Every callback
is written to LOG as one JSON line with the macros it could read.
"""

import json
import sys
import threading

import Milter

PORT, CONFIG, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
MACROS = (
    "j",
    "_",
    "i",
    "v",
    "{daemon_name}",
    "{daemon_addr}",
    "{client_addr}",
    "{client_port}",
    "{client_name}",
    "{client_ptr}",
    "{auth_type}",
    "{auth_authen}",
    "{mail_addr}",
    "{mail_host}",
    "{mail_mailer}",
    "{rcpt_addr}",
    "{rcpt_host}",
    "{rcpt_mailer}",
    "{tls_version}",
    "{cipher}",
)
LOCK = threading.Lock()


def text(value):
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


class Peer(Milter.Base):
    def __init__(self):
        self.cfg = {}

    def record(self, callback, **args):
        macros = {}
        for name in MACROS:
            value = self.getsymval(name)
            if value is not None:
                macros[name] = value
        with LOCK, open(LOG, "a") as log:
            log.write(json.dumps({"cb": callback, "args": args, "macros": macros}) + "\n")

    def answer(self, stage, subject=None):
        spec = self.cfg.get("stages", {}).get(stage)
        if not spec or ("match" in spec and spec["match"] != subject):
            return Milter.CONTINUE
        if spec.get("reply"):
            self.setreply(*spec["reply"])
        return getattr(Milter, spec.get("action", "CONTINUE"))

    def negotiate(self, opts):
        with open(CONFIG) as config:
            self.cfg = json.load(config)
        return Milter.Base.negotiate(self, opts)

    def connect(self, hostname, family, hostaddr):
        self.record("connect", hostname=hostname, hostaddr=list(hostaddr))
        return self.answer("connect")

    def hello(self, hostname):
        self.record("helo", hostname=hostname)
        return self.answer("hello")

    @Milter.decode("bytes")
    def envfrom(self, sender, *params):
        self.record("envfrom", addr=text(sender), params=[text(p) for p in params])
        return self.answer("envfrom", text(sender))

    @Milter.decode("bytes")
    def envrcpt(self, recipient, *params):
        self.record("envrcpt", addr=text(recipient), params=[text(p) for p in params])
        return self.answer("envrcpt", text(recipient))

    def data(self):
        self.record("data")
        return self.answer("data")

    @Milter.decode("bytes")
    def header(self, name, value):
        self.record("header", name=text(name), value=text(value))
        return self.answer("header", text(name))

    def eoh(self):
        self.record("eoh")
        return self.answer("eoh")

    def body(self, chunk):
        self.record("body", data=text(chunk))
        return self.answer("body")

    def eom(self):
        self.record("eom")
        for op, *args in self.cfg.get("mods", []):
            if op == "addheader":
                self.addheader(*args)
            elif op == "chgheader":
                self.chgheader(*args)
            elif op == "addrcpt":
                self.addrcpt(*args)
            elif op == "delrcpt":
                self.delrcpt(*args)
            elif op == "chgfrom":
                self.chgfrom(*args)
            elif op == "replacebody":
                self.replacebody(args[0].encode())
            elif op == "quarantine":
                self.quarantine(args[0])
        return self.answer("eom")

    @Milter.decode("bytes")
    def unknown(self, command):
        self.record("unknown", command=text(command))
        return self.answer("unknown")

    def abort(self):
        self.record("abort")
        return Milter.CONTINUE

    def close(self):
        self.record("close")
        return Milter.CONTINUE


Milter.factory = Peer
Milter.set_flags(
    Milter.ADDHDRS
    | Milter.CHGBODY
    | Milter.ADDRCPT
    | Milter.DELRCPT
    | Milter.CHGHDRS
    | Milter.QUARANTINE
    | Milter.CHGFROM
    | Milter.ADDRCPT_PAR
)
Milter.runmilter("vmail-test", f"inet:{PORT}@127.0.0.1", 60)

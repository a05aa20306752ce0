#!/usr/bin/env python3
"""CPU per MiB of the large-message byte work: DATA decoding and the Maildir conversion.

    .venv/bin/python bench/data_decode_bench.py [--size-mib 1] [--repeat 50]

Feeds a plain-text body of CRLF lines (the peer kit's ``make_body``, as smtp_bench sends)
in 64 KiB pieces through :class:`vmail.protocol.smtp.data.DataReader` in each
``smtpd_forbid_bare_newline`` mode, and through the delivery agents' ``LineConverter``
and ``CountingWriter`` (CRLF to LF and the line count for the Maildir file name). Prints
milliseconds per MiB, the mean of ``--repeat`` passes.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smtp_bench_measure import DEFAULT_KIT

from vmail.delivery.content import CountingWriter, LineConverter
from vmail.protocol.smtp.data import DataReader

PIECE = 1 << 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    sys.path.insert(0, str(DEFAULT_KIT))
    from smtp_load import make_body  # the peer kit's body generator

    size = args.size_mib << 20
    body = make_body(size, random.Random(1)).encode() + b"\r\n"
    pieces = [body[i : i + PIECE] for i in range(0, len(body), PIECE)]
    data = [*pieces, b".\r\n"]

    def decode(mode: str) -> Callable[[], None]:
        def run() -> None:
            reader = DataReader(mode)  # type: ignore[arg-type]
            for piece in data:
                reader.feed(piece)

        return run

    def maildir() -> None:
        converter, writer = LineConverter(), CountingWriter(io.BytesIO())
        for piece in pieces:
            writer.write(converter.feed(piece))
        writer.write(converter.finish())

    cases = {f"DATA, bare newline {m}": decode(m) for m in ("no", "normalize", "reject")}
    cases["CRLF -> LF and line count (Maildir)"] = maildir
    for name, run in cases.items():
        start = time.perf_counter()
        for _ in range(args.repeat):
            run()
        per_mib = (time.perf_counter() - start) / args.repeat / args.size_mib * 1e3
        print(f"{name:40s} {per_mib:6.3f} ms/MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

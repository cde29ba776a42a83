"""Command line: ``python -m engines.credentials verify FILE [--sidecar F] [--keys DIR] [--trust FPR] [--json]``.

Checks the signed sidecar (``FILE.c2pa.json`` or ``--sidecar``) when there is one, else the credentials embedded
in the file. ``--keys DIR`` trusts the instance whose identity lives in DIR (its CA certificate is read, nothing
is created); ``--trust FPR`` trusts a CA fingerprint (sidecars only). Exit status: 0 verified, 1 not verified,
2 unusable input.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import fail
from ..errors import ReelsmithError
from .embed import supported_formats, verify_embedded
from .keys import CA_CERT, cert_fingerprint
from .manifest import mime_type
from .sidecar import Verification, sidecar_path, verify


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engines.credentials", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="verify a file's content credentials")
    check.add_argument("file", type=Path)
    check.add_argument("--sidecar", type=Path, help="the signed manifest (default FILE.c2pa.json)")
    check.add_argument("--embedded", action="store_true", help="check the embedded manifest even if a sidecar exists")
    check.add_argument("--keys", type=Path, help="trust the instance whose credentials folder this is")
    check.add_argument("--trust", action="append", default=[], metavar="FPR", help="trust this CA fingerprint")
    check.add_argument("--json", action="store_true", help="print the verification as JSON")
    return parser


def _check(args: argparse.Namespace) -> Verification:
    roots: list[bytes] = []
    if args.keys:
        ca = args.keys / CA_CERT
        if not ca.is_file():
            raise ReelsmithError(f"{args.keys}: no instance CA certificate ({CA_CERT}) in that folder")
        roots.append(ca.read_bytes())
    trusted = None
    if roots or args.trust:
        from cryptography import x509

        trusted = list(args.trust) + [cert_fingerprint(x509.load_pem_x509_certificate(r)) for r in roots]
    use_sidecar = not args.embedded and (args.sidecar is not None or sidecar_path(args.file).is_file()
                                         or mime_type(args.file) not in supported_formats())
    if use_sidecar:
        return verify(args.file, args.sidecar, trusted_fingerprints=trusted)
    result = verify_embedded(args.file, trusted_roots=roots or None)
    if args.trust and not roots:
        result.notes.append("--trust fingerprints apply to sidecars; pass --keys DIR to trust an embedded signer")
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.file.is_file():
        return fail(f"{args.file}: file not found")
    try:
        result = _check(args)
    except ReelsmithError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps({"file": str(args.file), **result.as_dict()}, indent=2))
    else:
        print(f"{args.file.name}: {'verified' if result.ok else 'NOT verified'} ({result.source})")
        for line in result.problems:
            print(f"  problem: {line}")
        for line in result.notes:
            print(f"  note: {line}")
        if result.signer:
            print(f"  signer: {result.signer} {result.fingerprint or ''}".rstrip())
        for line in result.actions:
            print(f"  action: {line}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

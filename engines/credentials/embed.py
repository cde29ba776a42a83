"""Content credentials embedded in the file itself, with the maintained c2pa-python library (c2pa-rs).

    embed(Path("frame.png"), Path("frame.signed.png"), manifest, identity)
    read_embedded(Path("frame.signed.png"))["validation_state"]              # "Valid" / "Trusted" / "Invalid"
    verify_embedded(Path("frame.signed.png"), trusted_roots=[identity.root_pem]).ok

Formats are whatever c2pa-rs writes (JPEG, PNG, WebP, MP4/MOV, WAV, MP3, ... — see ``supported_formats()``);
other files keep the sidecar (``sidecar.py``). Signing uses the instance's ES256 key and certificate chain and no
timestamp authority (nothing is reachable offline), so a reader checks the certificate against the current time.
The instance CA is on no public trust list: without ``trusted_roots`` c2pa-rs reports ``signingCredential.
untrusted``, which is turned into a note; with the instance's CA as a trust anchor the state is ``Trusted``.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, InvalidInput, InvalidMedia, UnsupportedMedia
from .keys import Identity, cert_fingerprint
from .manifest import actions_of, is_ai_generated, mime_type, summarize_actions
from .sidecar import BAD_SIGNATURE, HASH_MISMATCH, MISSING, UNKNOWN_SIGNER, Verification

UNTRUSTED = "signingCredential.untrusted"
_BINDING_MISMATCH = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch",
                     "assertion.collectionHash.mismatch")


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:  # pragma: no cover - the extra is installed in the app
        raise BackendUnavailable("embedding content credentials needs the c2pa-python package") from exc
    return c2pa


def supported_formats() -> set[str]:
    """MIME types (and extensions) c2pa-rs can embed a manifest into."""
    return set(_c2pa().Builder.get_supported_mime_types())


def builder_definition(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as a c2pa-rs manifest definition: no sidecar hash binding and no sidecar signature."""
    out = {k: v for k, v in manifest.items() if k not in ("signature", "claim_generator")}
    out["assertions"] = [a for a in manifest.get("assertions", []) if a.get("label") != "c2pa.hash.data"]
    return out


def embed(src: Path, dst: Path, manifest: dict[str, Any], identity: Identity) -> Path:
    """Write ``src`` with ``manifest`` embedded and signed to ``dst`` (temp file, then rename); returns ``dst``."""
    c2pa = _c2pa()
    # 1. Check inputs
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InvalidMedia(f"{src.name}: file not found")
    if not dst.parent.is_dir():
        raise InvalidInput(f"{dst.parent}: folder not found")
    fmt = mime_type(src)
    if fmt not in supported_formats():
        raise UnsupportedMedia(f"{src.name}: c2pa cannot embed credentials in {fmt} files; use the sidecar")
    # 2. Sign into a temp file next to the destination
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w+b") as out, open(src, "rb") as source, \
                c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, identity.cert_chain_pem,
                                                          identity.private_key_pem, None)) as signer, \
                c2pa.Builder.from_json(builder_definition(manifest)) as builder:
            builder.sign(signer, fmt, source, out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except c2pa.C2paError as exc:
        raise InvalidMedia(f"{src.name}: c2pa could not sign the file: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return dst


def _reader(path: Path, trusted_roots: Sequence[bytes | str] | None) -> Any:
    c2pa = _c2pa()
    context = None
    if trusted_roots:
        anchors = "".join(r.decode("ascii") if isinstance(r, bytes) else r for r in trusted_roots)
        context = c2pa.Context.from_dict({"trust": {"user_anchors": anchors}})
    try:
        return c2pa.Reader.try_create(str(path), context=context) if context else c2pa.Reader.try_create(str(path))
    except c2pa.C2paError as exc:
        raise InvalidMedia(f"{path.name}: the embedded manifest cannot be read: {exc}") from exc


def read_embedded(path: Path, *, trusted_roots: Sequence[bytes | str] | None = None) -> dict[str, Any] | None:
    """``{"manifest", "validation_state", "validation_results", "store"}`` of the embedded credentials, or
    None when the file carries none."""
    path = Path(path)
    if not path.is_file():
        raise InvalidMedia(f"{path.name}: file not found")
    reader = _reader(path, trusted_roots)
    if reader is None:
        return None
    with reader:
        store = json.loads(reader.json())
        return {"manifest": reader.get_active_manifest(), "validation_state": reader.get_validation_state(),
                "validation_results": reader.get_validation_results() or {}, "store": store}


def verify_embedded(path: Path, *, trusted_roots: Sequence[bytes | str] | None = None) -> Verification:
    """Check the embedded credentials with c2pa-rs and say what is wrong in plain English.

    With ``trusted_roots`` (instance CA PEMs, e.g. ``[identity.root_pem]``) a signer outside them is a problem
    (``signed by an unknown instance``); without, an untrusted-but-valid signer is a note.
    """
    result = Verification(ok=False, source="embedded")
    try:
        data = read_embedded(path, trusted_roots=trusted_roots)
    except InvalidMedia as exc:
        result.problems.append(str(exc))
        return result
    if data is None or not data["manifest"]:
        result.problems.append(MISSING)
        return result
    manifest, state = data["manifest"], data["validation_state"]
    result.validation_state = state
    result.title = manifest.get("title")
    result.actions = summarize_actions(manifest)
    result.ai_generated = is_ai_generated(manifest)
    result.created = next((a.get("when") for a in actions_of(manifest) if a.get("when")), None)
    info = manifest.get("signature_info") or {}
    result.signer = info.get("common_name")
    result.created = result.created or info.get("time")
    failures = (data["validation_results"].get("activeManifest") or {}).get("failure", [])
    for item in failures:
        code, text = str(item.get("code", "")), str(item.get("explanation", ""))
        if code in _BINDING_MISMATCH:
            _add(result.problems, HASH_MISMATCH)
        elif code == UNTRUSTED and trusted_roots:
            _add(result.problems, UNKNOWN_SIGNER)
        elif code == UNTRUSTED:
            result.notes.append("the signature is valid, but the signer is on no public trust list "
                                "(a self-signed Reelsmith instance CA)")
        elif code.startswith(("claimSignature.", "assertion.hashedURI.")):
            _add(result.problems, f"{BAD_SIGNATURE} ({text or code})")
        else:
            _add(result.problems, f"{text or code} ({code})")
    if state == "Trusted" and trusted_roots:
        result.fingerprint = _matching_root(Path(path), trusted_roots)
        result.notes.append("signed by a trusted Reelsmith instance (a local trust anchor, not a public list)")
    elif state not in ("Valid", "Trusted") and not result.problems:
        result.problems.append(f"c2pa reports the credentials as {state}")
    result.ok = not result.problems
    return result


def _add(problems: list[str], message: str) -> None:
    if message not in problems:
        problems.append(message)


def _matching_root(path: Path, roots: Sequence[bytes | str]) -> str | None:
    """Fingerprint of the trusted root that vouches for the signer (re-reads once per root when several)."""
    from cryptography import x509

    def fingerprint(root: bytes | str) -> str:
        return cert_fingerprint(x509.load_pem_x509_certificate(root.encode() if isinstance(root, str) else root))

    if len(roots) == 1:
        return fingerprint(roots[0])
    for root in roots:
        reader = _reader(path, [root])
        if reader is not None:
            with reader:
                if reader.get_validation_state() == "Trusted":
                    return fingerprint(root)
    return None

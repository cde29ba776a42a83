"""Signed sidecar manifests (``<file>.c2pa.json``) and their verification — works for every file type.

    signed = sign_sidecar(build_manifest(asset_path=path, ...), load_identity(keys_dir))
    write_sidecar(path, signed)
    result = verify(path, trusted_fingerprints={identity.fingerprint})
    result.ok, result.problems   # False, ["the file's bytes changed since signing (hash mismatch)"]

The signature is ES256 (ECDSA P-256 + SHA-256, raw ``r || s``, base64) over the canonical JSON (sorted keys, no
spaces, UTF-8) of the manifest without its ``signature`` block; the block carries the certificate chain (leaf,
then the instance CA). An instance is identified by the SHA-256 fingerprint of its CA certificate.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .keys import Identity, atomic_write, cert_fingerprint
from .manifest import actions_of, is_ai_generated, summarize_actions

SIDECAR_SUFFIX = ".c2pa.json"
HASH_MISMATCH = "the file's bytes changed since signing (hash mismatch)"
BAD_SIGNATURE = "signature does not match"
UNKNOWN_SIGNER = "signed by an unknown instance"
MISSING = "manifest missing"


@dataclass
class Verification:
    """The verdict on one file. ``ok`` is True when ``problems`` is empty; ``notes`` never fail a check."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = "sidecar"  # "sidecar" | "embedded" | "none"
    signer: str | None = None
    fingerprint: str | None = None
    created: str | None = None
    ai_generated: bool | None = None
    actions: list[str] = field(default_factory=list)
    title: str | None = None
    validation_state: str | None = None  # c2pa-rs verdict for embedded manifests

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical_json(manifest: dict[str, Any]) -> bytes:
    """The bytes that are signed: the manifest without ``signature``, sorted keys, no spaces, UTF-8."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sidecar_path(asset_path: Path) -> Path:
    """Where the sidecar of ``asset_path`` lives: ``clip.mp4`` → ``clip.mp4.c2pa.json``."""
    asset_path = Path(asset_path)
    return asset_path.with_name(asset_path.name + SIDECAR_SUFFIX)


def sign_sidecar(manifest: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """The manifest plus a ``signature`` block (alg ES256, certificate chain PEM, base64 signature)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    der = identity.private_key().sign(canonical_json(manifest), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return body | {"signature": {"alg": "ES256", "cert_chain": identity.cert_chain_pem.decode("ascii"),
                                 "value": base64.b64encode(raw).decode("ascii")}}


def write_sidecar(asset_path: Path, signed: dict[str, Any]) -> Path:
    """Write ``signed`` next to the asset as ``<file>.c2pa.json`` (temp file, then rename)."""
    data = json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return atomic_write(sidecar_path(asset_path), data)


def normalize_fingerprint(value: str) -> str:
    """``AB:CD:..`` or ``abcd..`` → ``abcd..``."""
    return value.replace(":", "").replace(" ", "").strip().lower()


def verify(asset_path: Path, sidecar: Path | str | dict[str, Any] | None = None, *,
           trusted_fingerprints: Iterable[str] | None = None) -> Verification:
    """Check a file against its signed sidecar (default ``<file>.c2pa.json``).

    Problems, in plain English: ``manifest missing``, ``signature does not match``, ``signed by an unknown
    instance`` (only when ``trusted_fingerprints`` is given), ``the file's bytes changed since signing (hash
    mismatch)``, and a few about unreadable manifests or certificate chains.
    """
    asset_path = Path(asset_path)
    result = Verification(ok=False, source="sidecar")
    # 1. Load the manifest
    manifest = _load(sidecar if sidecar is not None else sidecar_path(asset_path), result)
    if manifest is None:
        return result
    result.title = manifest.get("title")
    result.actions = summarize_actions(manifest)
    result.ai_generated = is_ai_generated(manifest)
    result.created = next((a.get("when") for a in actions_of(manifest) if a.get("when")), None)
    # 2. Signature and certificate chain
    _check_signature(manifest, result, trusted_fingerprints)
    # 3. Hard binding: the file's bytes
    _check_hash(asset_path, manifest, result)
    result.ok = not result.problems
    return result


def _load(source: Path | str | dict[str, Any], result: Verification) -> dict[str, Any] | None:
    if isinstance(source, dict):
        return source
    path = Path(source)
    if not path.is_file():
        result.problems.append(MISSING)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.problems.append(f"the manifest cannot be read ({exc})")
        return None
    if not isinstance(data, dict):
        result.problems.append("the manifest is not a JSON object")
        return None
    return data


def _check_signature(manifest: dict[str, Any], result: Verification,
                     trusted_fingerprints: Iterable[str] | None) -> None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    block = manifest.get("signature")
    if not isinstance(block, dict) or not block.get("value") or not block.get("cert_chain"):
        result.problems.append("the manifest is not signed")
        return
    if block.get("alg") != "ES256":
        result.problems.append(f"unsupported signature algorithm {block.get('alg')!r}")
        return
    try:
        chain = x509.load_pem_x509_certificates(str(block["cert_chain"]).encode("ascii"))
        raw = base64.b64decode(str(block["value"]), validate=True)
    except (ValueError, UnicodeEncodeError):
        result.problems.append("the signature block is unreadable (bad certificate chain or signature encoding)")
        return
    leaf, root = chain[0], chain[-1]
    result.signer = _common_name(leaf)
    result.fingerprint = cert_fingerprint(root)
    key = leaf.public_key()
    try:
        if len(raw) != 64 or not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.verify(der, canonical_json(manifest), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        result.problems.append(BAD_SIGNATURE)
    try:
        for child, parent in zip(chain, chain[1:] + [root]):
            child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        result.problems.append("the certificate chain is broken (the signer was not issued by its instance CA)")
    if dt.datetime.now(dt.UTC) > leaf.not_valid_after_utc:
        result.notes.append("the signing certificate has expired since (no timestamp authority was used)")
    if trusted_fingerprints is None:
        result.notes.append("the signer was not checked against a list of trusted instances")
    elif result.fingerprint not in {normalize_fingerprint(f) for f in trusted_fingerprints}:
        result.problems.append(UNKNOWN_SIGNER)


def _check_hash(asset_path: Path, manifest: dict[str, Any], result: Verification) -> None:
    binding = next((a.get("data", {}) for a in manifest.get("assertions", [])
                    if a.get("label") == "c2pa.hash.data"), None)
    if not binding or binding.get("alg") != "sha256" or not binding.get("hash"):
        result.problems.append("the manifest has no SHA-256 hash of the file")
        return
    if not asset_path.is_file():
        result.problems.append("the file is missing")
        return
    digest = hashlib.sha256()
    with open(asset_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if base64.b64encode(digest.digest()).decode("ascii") != binding["hash"]:
        result.problems.append(HASH_MISMATCH)


def _common_name(cert: Any) -> str | None:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None

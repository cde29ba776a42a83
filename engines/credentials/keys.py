"""The per-instance signing identity: an EC P-256 root CA and a leaf signing certificate issued by it.

    identity = load_identity(data_dir / "secrets" / "credentials")   # generated on first use, loaded later
    identity.fingerprint   # SHA-256 of the instance CA certificate (hex): what "trusted instance" means

Files in the directory (keys written with mode 0600, everything written to a temp name and renamed):
``ca-key.pem``, ``ca-cert.pem`` (self-signed "Reelsmith instance CA <id>"), ``signing-key.pem`` and
``signing-cert.pem`` (digitalSignature, extendedKeyUsage emailProtection + documentSigning, not a CA, with
authority/subject key identifiers — the profile C2PA validators ask of a signing certificate). The CA key is
kept so that an expiring leaf can be re-issued under the same instance identity.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

CA_KEY, CA_CERT, LEAF_KEY, LEAF_CERT = "ca-key.pem", "ca-cert.pem", "signing-key.pem", "signing-cert.pem"
#: OID of extendedKeyUsage documentSigning (RFC 9336).
DOCUMENT_SIGNING_OID = "1.3.6.1.5.5.7.3.36"
CA_YEARS, LEAF_YEARS, RENEW_DAYS = 20, 5, 30


@dataclass(frozen=True)
class Identity:
    """One instance's signing identity. ``cert_chain_pem`` is leaf first, then the instance CA."""

    private_key_pem: bytes = field(repr=False)  # never in logs
    cert_chain_pem: bytes
    root_pem: bytes
    fingerprint: str
    instance_name: str

    def private_key(self) -> Any:
        """The signing key as a ``cryptography`` EC private key."""
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key(self.private_key_pem, password=None)

    def as_dict(self) -> dict[str, str]:
        """Public facts only (never the key)."""
        return {"fingerprint": self.fingerprint, "instance": self.instance_name}


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to a temp file next to ``path`` (created with ``mode``), then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def cert_fingerprint(cert: Any) -> str:
    """SHA-256 (lowercase hex) of a certificate's DER bytes."""
    from cryptography.hazmat.primitives.serialization import Encoding

    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def load_identity(directory: Path | str) -> Identity:
    """Load this instance's identity from ``directory``, creating it (and the folder, mode 0700) on first use.

    A leaf certificate that expires within 30 days is re-issued by the same CA, so the fingerprint is stable.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise InvalidInput(f"cannot create the credentials folder {folder}: {exc}") from exc
    with _locked(folder):
        if not (folder / CA_KEY).exists() or not (folder / CA_CERT).exists():
            _create_ca(folder)
        ca_key = load_pem_private_key((folder / CA_KEY).read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate((folder / CA_CERT).read_bytes())
        if _leaf_needs_issuing(folder, ca_cert):
            _issue_leaf(folder, ca_key, ca_cert)
    root_pem = (folder / CA_CERT).read_bytes()
    leaf_pem = (folder / LEAF_CERT).read_bytes()
    name = ca_cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    return Identity(private_key_pem=(folder / LEAF_KEY).read_bytes(), cert_chain_pem=leaf_pem + root_pem,
                    root_pem=root_pem, fingerprint=cert_fingerprint(ca_cert), instance_name=str(name))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise first-use generation between processes (advisory ``flock``; a no-op where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _create_ca(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Reelsmith"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"Reelsmith instance CA {secrets.token_hex(4)}")])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    atomic_write(folder / CA_KEY, _key_pem(key), 0o600)
    atomic_write(folder / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    for stale in (LEAF_KEY, LEAF_CERT):  # a leaf from an older CA must not survive
        with contextlib.suppress(FileNotFoundError):
            (folder / stale).unlink()


def _leaf_needs_issuing(folder: Path, ca_cert: Any) -> bool:
    from cryptography import x509

    if not (folder / LEAF_KEY).exists() or not (folder / LEAF_CERT).exists():
        return True
    leaf = x509.load_pem_x509_certificate((folder / LEAF_CERT).read_bytes())
    if leaf.issuer != ca_cert.subject:
        return True
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key((folder / LEAF_KEY).read_bytes(), password=None)
    if key.public_key().public_numbers() != leaf.public_key().public_numbers():  # interrupted re-issue
        return True
    return leaf.not_valid_after_utc - _now() < dt.timedelta(days=RENEW_DAYS)


def _issue_leaf(folder: Path, ca_key: Any, ca_cert: Any) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    ca_name = ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Reelsmith"),
                      x509.NameAttribute(NameOID.COMMON_NAME, str(ca_name).replace(" CA ", " signer "))])
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier(DOCUMENT_SIGNING_OID)]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(min(now + dt.timedelta(days=365 * LEAF_YEARS), ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    atomic_write(folder / LEAF_KEY, _key_pem(key), 0o600)
    atomic_write(folder / LEAF_CERT, cert.public_bytes(serialization.Encoding.PEM))

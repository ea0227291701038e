"""The embedded default's content-credentials certificate: made on first start, kept in the data folder.

C2PA wants an ES256 signing certificate that is not self-signed (an end-entity certificate with the
digitalSignature key usage and the emailProtection extended key usage), so this makes a small root of
its own and a signing certificate under it. Readers verify the signature and report the root as one they
do not trust: set STUDIO_C2PA_CERT and STUDIO_C2PA_KEY to sign under a root they do.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CHAIN, KEY = "chain.pem", "key.pem"
ROOT_YEARS, SIGNING_YEARS = 10, 5


def self_signed(folder: Path, *, now: datetime | None = None) -> tuple[bytes, bytes, bool]:
    """The chain (signing certificate, then its root) and key kept in ``folder``, made there the first time;
    whether they were made now."""
    chain_path, key_path = folder / CHAIN, folder / KEY
    if chain_path.is_file() and key_path.is_file():
        return chain_path.read_bytes(), key_path.read_bytes(), False
    now = now or datetime.now(UTC)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Studio Ledger content credentials root (self-signed)")
    root = (_builder(root_name, root_name, root_key.public_key(), now, ROOT_YEARS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(sign_certificates=True), critical=True)
            .sign(root_key, hashes.SHA256()))
    signing = (_builder(_name("Studio Ledger content credentials"), root_name, key.public_key(), now, SIGNING_YEARS)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_usage(sign_certificates=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                              critical=False)
               .sign(root_key, hashes.SHA256()))
    chain = signing.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    folder.mkdir(parents=True, exist_ok=True)
    _write(key_path, pem, mode=0o600)  # the key first: a chain without its key would be read as complete
    _write(chain_path, chain, mode=0o644)
    return chain, pem, True


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Studio Ledger")])


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime,
             years: int) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * years))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _usage(*, sign_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not sign_certificates, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=sign_certificates,
                         crl_sign=sign_certificates, encipher_only=False, decipher_only=False)


def _write(path: Path, data: bytes, *, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as out:
        out.write(data)
    os.replace(temporary, path)

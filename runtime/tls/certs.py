"""Certificates for a private PKI: a self-signed CA and the leaf certificates it signs (ECDSA P-256).

What lives here: `Issued` (a certificate and its private key, both PEM), `create_ca`, `create_leaf`,
`load_issued` (read a PEM pair back and check they belong together) and `CertInfo`/`describe` (what a
certificate says: subject, SANs, validity, whether it is a CA, its extended key usages). Every key is a
fresh ECDSA P-256 key from the operating system's generator; serial numbers are random 159-bit values.

Leaf certificates carry what TLS libraries check: basic constraints (not a CA), key usage (digital
signature, key encipherment), the extended key usages asked for (server and/or client authentication),
the subject alternative names (DNS names and IP addresses) and the key identifiers chaining them to the
CA. Validity starts one minute in the past, so a peer whose clock is slightly behind accepts a freshly
made certificate.

What must never live here: files, naming conventions of any product, or SSL contexts (``contexts``).
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any, NamedTuple, Sequence

import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLOCK_SKEW = datetime.timedelta(minutes=1)  # how far back a new certificate's validity starts


class Issued(NamedTuple):
    """A certificate and its private key, PEM encoded (the key unencrypted, SEC1 "EC PRIVATE KEY")."""

    cert_pem: bytes
    key_pem: bytes


class CertInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What one certificate says about itself."""

    subject_cn: str
    issuer_cn: str
    dns_names: list[str]
    ip_addresses: list[str]
    not_before: datetime.datetime
    not_after: datetime.datetime
    is_ca: bool
    server_auth: bool
    client_auth: bool
    serial: int


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now if now is not None else datetime.datetime.now(datetime.timezone.utc)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _name(common_name: str, extra: Sequence[tuple[x509.ObjectIdentifier, str]] = ()) -> x509.Name:
    return x509.Name([*(x509.NameAttribute(oid, value) for oid, value in extra),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def create_ca(common_name: str, *, days: int, organization: str = "", permitted_dns: Sequence[str] = (),
              serial: int | None = None, now: datetime.datetime | None = None) -> Issued:
    """A self-signed CA valid for ``days``. ``permitted_dns`` (if any) becomes a critical name constraint:
    the CA may then only sign certificates for those DNS names and their sub-domains (and no IP limits)."""
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    key = _new_key()
    start = _now(now) - CLOCK_SKEW
    extra = [(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    subject = _name(common_name, extra)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CLOCK_SKEW + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
    )
    if permitted_dns:
        constraint = x509.NameConstraints(permitted_subtrees=[x509.DNSName(d) for d in permitted_dns],
                                          excluded_subtrees=None)
        builder = builder.add_extension(constraint, critical=True)
    cert = builder.sign(key, hashes.SHA256())
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def create_leaf(ca: Issued, *, common_name: str, days: int, dns_names: Sequence[str] = (),
                ip_addresses: Sequence[str] = (), server_auth: bool = True, client_auth: bool = True,
                now: datetime.datetime | None = None) -> Issued:
    """A certificate for ``common_name`` signed by ``ca``, valid for ``days`` (never past the CA's end).

    Raises `ValueError` for a bad IP address, a non-positive ``days``, or a CA pair that does not belong
    together."""
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    ca_cert, ca_key = _load_pair(ca)
    ips = [ipaddress.ip_address(text.strip()) for text in ip_addresses]
    key = _new_key()
    start = _now(now) - CLOCK_SKEW
    end = min(start + CLOCK_SKEW + datetime.timedelta(days=days), ca_cert.not_valid_after_utc)
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server_auth else []) + \
        ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    names: list[x509.GeneralName] = [x509.DNSName(n.strip()) for n in dns_names if n.strip()]
    names += [x509.IPAddress(ip) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _load_pair(issued: Issued) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(issued.cert_pem)
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate: {exc}") from None
    try:
        key = serialization.load_pem_private_key(issued.key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
    if key.public_key() != cert.public_key():
        raise ValueError("the private key does not belong to the certificate")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("only ECDSA keys can sign here")
    return cert, key


def load_issued(cert_pem: bytes, key_pem: bytes) -> Issued:
    """Check that ``key_pem`` is the private key of ``cert_pem``; raises `ValueError` otherwise."""
    issued = Issued(cert_pem, key_pem)
    _load_pair(issued)
    return issued


def describe(cert_pem: bytes) -> CertInfo:
    """Read the first certificate of ``cert_pem``."""
    cert = x509.load_pem_x509_certificate(cert_pem)

    def cn(name: x509.Name) -> str:
        attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else ""

    def ext(kind: type[x509.ExtensionType]) -> Any:
        try:
            return cert.extensions.get_extension_for_class(kind).value
        except x509.ExtensionNotFound:
            return None

    san = ext(x509.SubjectAlternativeName)
    usages = list(ext(x509.ExtendedKeyUsage) or [])
    basic = ext(x509.BasicConstraints)
    dns = list(san.get_values_for_type(x509.DNSName)) if san is not None else []
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] if san is not None else []
    return CertInfo(
        subject_cn=cn(cert.subject),
        issuer_cn=cn(cert.issuer),
        dns_names=dns,
        ip_addresses=ips,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=bool(basic is not None and basic.ca),
        server_auth=ExtendedKeyUsageOID.SERVER_AUTH in usages,
        client_auth=ExtendedKeyUsageOID.CLIENT_AUTH in usages,
        serial=cert.serial_number,
    )


def signed_by(cert_pem: bytes, ca_pem: bytes) -> bool:
    """Whether ``ca_pem``'s key signed ``cert_pem`` (signature and issuer name; no validity or usage)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    ca = x509.load_pem_x509_certificate(ca_pem)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True

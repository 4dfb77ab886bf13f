"""Real TLS material for the program's `pulumi_tls` resources, made with the inputs the program registered.

Under mocks a key or certificate is a placeholder PEM (`synth.COMPUTED_OUTPUTS`). Here every
`tls:index/*` registration gets the real thing, generated the way terraform-provider-tls does
(algorithm and curve, subject, SANs copied from the request, key usages, validity, CA basic constraints),
and `substitutions()` maps each placeholder to its real PEM so replayed uploads carry working keys.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.offline.provider_state import _fake_pem as placeholder_pem
from components.offline.synth import Capture, Registration

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"

_CURVES: dict[str, type[ec.EllipticCurve]] = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
_SUBJECT = {
    "commonName": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "postalCode": NameOID.POSTAL_CODE,
    "serialNumber": NameOID.SERIAL_NUMBER,
}
# terraform-provider-tls's allowed_uses names -> x509 key usage flags / extended key usages
_KEY_USAGE = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
_EXT_KEY_USAGE = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}


# the PEM kind of each output the mock state fills with a placeholder (provider_state's tls rules)
_PLACEHOLDER_KINDS = {
    PRIVATE_KEY: {"privateKeyPem": "PRIVATE KEY", "privateKeyPemPkcs8": "PRIVATE KEY", "publicKeyPem": "PUBLIC KEY"},
    SELF_SIGNED: {"certPem": "CERTIFICATE"},
    LOCALLY_SIGNED: {"certPem": "CERTIFICATE"},
    CERT_REQUEST: {"certRequestPem": "CERTIFICATE REQUEST"},
}


def _placeholder(registration: Registration) -> dict[str, str]:
    return {key: placeholder_pem(kind, registration.name) for key, kind in _PLACEHOLDER_KINDS[registration.type].items()}


def _generate_key(inputs: dict[str, Any]) -> Any:
    algorithm = inputs.get("algorithm", "RSA")
    if algorithm == "ECDSA":
        curve: Any = _CURVES[inputs.get("ecdsaCurve", "P224")]
        return ec.generate_private_key(curve())
    if algorithm == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(inputs.get("rsaBits", 2048)))
    if algorithm == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"tls private key algorithm {algorithm!r} is not translated")


def _name(subject: dict[str, Any] | None) -> x509.Name:
    attributes: list[x509.NameAttribute[Any]] = []
    for key, value in (subject or {}).items():
        values = value if isinstance(value, list) else [value]
        if key not in _SUBJECT:
            raise ValueError(f"tls subject field {key!r} is not translated")
        attributes.extend(x509.NameAttribute(_SUBJECT[key], str(item)) for item in values)
    return x509.Name(attributes)


def _usages(builder: x509.CertificateBuilder, allowed: list[str]) -> x509.CertificateBuilder:
    flags = dict.fromkeys(_KEY_USAGE.values(), False)
    extended = []
    for use in allowed:
        if use in _KEY_USAGE:
            flags[_KEY_USAGE[use]] = True
        elif use in _EXT_KEY_USAGE:
            extended.append(_EXT_KEY_USAGE[use])
        else:
            raise ValueError(f"tls allowed use {use!r} is not translated")
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    return builder


def _pem_key(key: Any) -> str:
    return str(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())


def _sign_hash(key: Any) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


@dataclass
class TlsMaterial:
    """Real keys and certificates by registration name, and placeholder PEM -> real PEM."""

    keys: dict[str, Any] = field(default_factory=dict)
    certificates: dict[str, x509.Certificate] = field(default_factory=dict)
    requests: dict[str, x509.CertificateSigningRequest] = field(default_factory=dict)
    replacements: dict[str, str] = field(default_factory=dict)

    def key_pem(self, name: str) -> str:
        return _pem_key(self.keys[name])

    def cert_pem(self, name: str) -> str:
        return self.certificates[name].public_bytes(serialization.Encoding.PEM).decode()

    def substitute(self, text: str) -> str:
        for placeholder, real in self.replacements.items():
            text = text.replace(placeholder, real)
        return text


def generate(capture: Capture, *, now: datetime.datetime | None = None) -> TlsMaterial:
    """Real material for every `tls:index/*` registration, in dependency order (keys, CA, requests, signed)."""
    material = TlsMaterial()
    start = now or datetime.datetime.now(datetime.UTC)
    key_by_placeholder: dict[str, str] = {}
    for registration in capture.all(PRIVATE_KEY):
        key = _generate_key(registration.plain)
        material.keys[registration.name] = key
        for kind, placeholder in _placeholder(registration).items():
            key_by_placeholder[placeholder] = registration.name
            public = kind == "publicKeyPem"
            material.replacements[placeholder] = (
                key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
                if public
                else _pem_key(key)
            )

    cert_by_placeholder: dict[str, str] = {}
    for registration in capture.all(SELF_SIGNED):
        inputs = registration.plain
        key = material.keys[key_by_placeholder[inputs["privateKeyPem"]]]
        subject = _name(inputs.get("subject"))
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(hours=float(inputs["validityPeriodHours"])))
        )
        builder = _sans(builder, inputs)
        if inputs.get("isCaCertificate"):
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        builder = _usages(builder, list(inputs.get("allowedUses") or []))
        certificate = builder.sign(key, _sign_hash(key))
        material.certificates[registration.name] = certificate
        placeholder = _placeholder(registration)["certPem"]
        cert_by_placeholder[placeholder] = registration.name
        material.replacements[placeholder] = certificate.public_bytes(serialization.Encoding.PEM).decode()

    request_by_placeholder: dict[str, str] = {}
    for registration in capture.all(CERT_REQUEST):
        inputs = registration.plain
        key = material.keys[key_by_placeholder[inputs["privateKeyPem"]]]
        request_builder = x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
        alternative = _alternative_names(inputs)
        if alternative:
            request_builder = request_builder.add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        request = request_builder.sign(key, _sign_hash(key))
        material.requests[registration.name] = request
        placeholder = _placeholder(registration)["certRequestPem"]
        request_by_placeholder[placeholder] = registration.name
        material.replacements[placeholder] = request.public_bytes(serialization.Encoding.PEM).decode()

    for registration in capture.all(LOCALLY_SIGNED):
        inputs = registration.plain
        request = material.requests[request_by_placeholder[inputs["certRequestPem"]]]
        ca_certificate = material.certificates[cert_by_placeholder[inputs["caCertPem"]]]
        ca_key = material.keys[key_by_placeholder[inputs["caPrivateKeyPem"]]]
        builder = (
            x509.CertificateBuilder()
            .subject_name(request.subject)
            .issuer_name(ca_certificate.subject)
            .public_key(request.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(hours=float(inputs["validityPeriodHours"])))
        )
        # the provider copies the request's SANs into the certificate
        for extension in request.extensions:
            builder = builder.add_extension(extension.value, critical=extension.critical)
        if inputs.get("isCaCertificate"):
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        builder = _usages(builder, list(inputs.get("allowedUses") or []))
        certificate = builder.sign(ca_key, _sign_hash(ca_key))
        material.certificates[registration.name] = certificate
        material.replacements[_placeholder(registration)["certPem"]] = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return material


def _alternative_names(inputs: dict[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in inputs.get("dnsNames") or []]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in inputs.get("ipAddresses") or []]
    names += [x509.UniformResourceIdentifier(uri) for uri in inputs.get("uris") or []]
    return names


def _sans(builder: x509.CertificateBuilder, inputs: dict[str, Any]) -> x509.CertificateBuilder:
    alternative = _alternative_names(inputs)
    return builder.add_extension(x509.SubjectAlternativeName(alternative), critical=False) if alternative else builder

"""x509 key pairs (microversion 2.2's keypair type "x509", meant for WinRM
certificate logins): a PEM certificate stands where an ssh key pair has its
public key. Its fingerprint is the SHA-1 of the certificate, colon
separated (Nova's crypto.generate_x509_fingerprint); a new one is a
self-signed client certificate for CN=<user id>, valid ten years, like
the one Nova's generate_winrm_x509_cert makes with openssl."""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class InvalidCertificate(ValueError):
    pass


def fingerprint(pem: str) -> str:
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except (ValueError, TypeError) as exc:
        raise InvalidCertificate(f"Keypair data is invalid: failed to generate X509 fingerprint. "
                         f"Error message: {exc}") from None
    raw = certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - Nova's fingerprint
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def generate(user_id: str) -> tuple[str, str]:
    """(private key PEM, certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return private, certificate.public_bytes(serialization.Encoding.PEM).decode()


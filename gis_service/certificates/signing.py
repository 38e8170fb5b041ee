"""The PAdES signature of a certificate's PDF, made and checked with pyHanko.

A certificate is re-rendered byte for byte from its record, so everything the signature adds to the PDF is a function
of the record: the signing time and the ``/M`` and ``/ModDate`` dates are the stored issue time (pyHanko takes the
clock: :class:`_PinnedSigner` and :class:`_PinnedWriter` pin them), the second part of the document ID is derived from
the number and the unsigned PDF, and the signature itself is one whose value the key and the data alone decide
(RSA PKCS#1 v1.5, deterministic ECDSA of RFC 6979, EdDSA). Keys that sign with randomness (RSA-PSS, DSA) are refused.

:func:`validate_pdf` checks what anyone may check: the signature is intact, covers the whole file, and was made by
one of the certificates given; trust in a certification authority is left to the verifier's own tools.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from gis_service.errors import ConfigError
from gis_service.settings import CertificateSettings

with warnings.catch_warnings():  # pyHanko imports DSA, which cryptography marks deprecated: no use of ours
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    from asn1crypto import keys, x509
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata.model import DocumentMetadata
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

__all__ = [
    "DEMO_SUBJECT",
    "SignatureCheck",
    "SigningKey",
    "configured_key",
    "ensure_demo_key",
    "load_signing_key",
    "number_in_pdf",
    "sign_pdf",
    "validate_pdf",
]

log = logging.getLogger(__name__)

#: The demo certificate's common name: whoever reads it knows the signature proves nothing about an authority.
DEMO_SUBJECT = "Self-signed demo key: not for real certificates"
#: The signature field's name and reason carry the number, so a PDF names the record it claims to be.
FIELD_PREFIX = "Certificate-"
_NUMBER = re.compile(rb"[A-Z]{2,8}-\d{4}-\d{6}")
_ICT = timezone(timedelta(hours=7), "ICT")  # Việt Nam: UTC+7 all year, no DST


@dataclass(frozen=True)
class SigningKey:
    """A loaded key and certificate: what signs, and what a verifier compares the signer with."""

    signer: signers.SimpleSigner
    fingerprint: str  # SHA-256 of the certificate's DER, hex
    subject: str
    demo: bool


@dataclass(frozen=True)
class SignatureCheck:
    """What a PDF's signature shows: the answers :func:`validate_pdf` gives, in plain fields."""

    signed: bool  # a signature is there and could be read
    intact: bool  # the signed bytes are those the signature was made on
    whole_file: bool  # the signature covers the whole file (nothing appended)
    signer_known: bool  # the signer's certificate is one of those expected
    signer_fingerprint: str | None = None
    signer_subject: str | None = None
    signing_time: datetime | None = None
    number: str | None = None
    problem: str | None = None  # why the file could not be read or checked, in plain words

    @property
    def valid(self) -> bool:
        """Intact, covering the whole file, and made by an expected certificate."""
        return self.signed and self.intact and self.whole_file and self.signer_known


# ---- keys -------------------------------------------------------------------------------------------------
class _DeterministicSigner(signers.SimpleSigner):
    """pyHanko's signer signing with a key loaded once, deterministically: RSA PKCS#1 v1.5, ECDSA of RFC 6979
    (pyHanko's own draws a random nonce), EdDSA. pyHanko loads the key again for each signature, and OpenSSL's
    check of an RSA key on loading costs some 80 ms: twice a certificate, with the size estimate."""

    def __init__(self, *args: Any, private_key: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            signed: bytes = key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        elif mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            algorithm = ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm), deterministic_signing=True)
            signed = key.sign(data, algorithm)
        elif mechanism in ("ed25519", "ed448") and isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
            signed = key.sign(data)
        else:  # PSS, DSA: randomised, refused when the key is loaded
            raise ConfigError(f"the signing key cannot sign {mechanism} reproducibly")
        return signed


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the certificates' {what} {path}: {exc.strerror}") from None


def _load_cert(data: bytes, path: Path) -> cx509.Certificate:
    try:
        return cx509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else cx509.load_der_x509_certificate(data)
    except ValueError:
        raise ConfigError(f"{path} is not an X.509 certificate (PEM or DER)") from None


def _load_key(data: bytes, path: Path, passphrase: bytes | None) -> Any:
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password=passphrase)
        return serialization.load_der_private_key(data, password=passphrase)
    except TypeError:
        raise ConfigError(f"{path} is encrypted: set GIS_CERTIFICATES__KEY_PASSPHRASE") from None
    except ValueError:
        raise ConfigError(f"{path} is not a private key, or the passphrase is wrong") from None


def load_signing_key(
    *, key_file: Path, cert_file: Path, chain_files: list[Path] | None = None, passphrase: str | None = None
) -> SigningKey:
    """Load the operator's key and certificate, and check that they belong together and sign reproducibly.

    Parameters
    ----------
    key_file, cert_file
        The private key and its certificate, PEM or DER.
    chain_files
        Certificates of the issuing authorities, embedded in each signature.
    passphrase
        The passphrase of an encrypted key.
    """
    cert = _load_cert(_read(cert_file, "certificate"), cert_file)
    key = _load_key(_read(key_file, "key"), key_file, passphrase.encode() if passphrase else None)
    deterministic = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
    if not isinstance(key, deterministic):
        raise ConfigError(
            f"{key_file}: use an RSA, EC or Ed25519 key; other kinds sign with randomness, and a certificate "
            "must be re-rendered byte for byte"
        )
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise ConfigError(f"the key {key_file} does not belong to the certificate {cert_file}")
    others = [
        x509.Certificate.load(_load_cert(_read(p, "chain"), p).public_bytes(serialization.Encoding.DER))
        for p in chain_files or []
    ]
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    asn1_cert = x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signer = _DeterministicSigner(
        signing_cert=asn1_cert,
        signing_key=keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore.from_certs(others),
        prefer_pss=False,
        private_key=key,
    )
    subject = cert.subject.rfc4514_string()
    return SigningKey(
        signer=signer,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        subject=subject,
        demo=_common_name(cert) == DEMO_SUBJECT,
    )


def configured_key(settings: CertificateSettings) -> SigningKey:
    """The key the operator configured (``GIS_CERTIFICATES__*``), else the demo key ``planning demo load`` made.

    Raises :class:`~gis_service.errors.ConfigError` when there is neither: certificates cannot be issued then.
    """
    if settings.key_file is not None and settings.cert_file is not None:
        passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
        return load_signing_key(
            key_file=settings.key_file,
            cert_file=settings.cert_file,
            chain_files=settings.chain_files,
            passphrase=passphrase,
        )
    key_file, cert_file = _demo_files(settings.demo_dir)
    if not (key_file.is_file() and cert_file.is_file()):
        raise ConfigError(
            "no key to sign certificates: set GIS_CERTIFICATES__KEY_FILE and GIS_CERTIFICATES__CERT_FILE, or run "
            "'planning demo load' to make a self-signed demo key"
        )
    key = load_signing_key(key_file=key_file, cert_file=cert_file)
    log.warning("certificates are signed with the self-signed demo key of %s", settings.demo_dir)
    return key


def _demo_files(directory: Path) -> tuple[Path, Path]:
    return directory / "demo-signing-key.pem", directory / "demo-signing-cert.pem"


def _common_name(cert: cx509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def ensure_demo_key(directory: Path) -> tuple[Path, Path, bool]:
    """The self-signed demo key and certificate under ``directory``: made once, kept afterwards.

    Returns the key file, the certificate file and whether they were made now. The key is RSA 2048 (its PKCS#1 v1.5
    signatures are deterministic); the certificate says in its name that it is a self-signed demo key.
    """
    key_file, cert_file = _demo_files(directory)
    if key_file.is_file() and cert_file.is_file():
        return key_file, cert_file, False
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = cx509.Name(
        [
            cx509.NameAttribute(NameOID.COMMON_NAME, DEMO_SUBJECT),
            cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "Huế 3D planning service (demo)"),
            cx509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )
    now = datetime.now(UTC).replace(microsecond=0)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            cx509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file.touch(mode=0o600)
    key_file.write_bytes(key_pem)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file, True


# ---- signing ----------------------------------------------------------------------------------------------
class _PinnedMetadata(DocumentMetadata):
    """Document metadata whose modification date stays the issue time when pyHanko sets it to 'now'."""

    pinned: datetime | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "last_modified" and value == "now" and self.pinned is not None:
            value = self.pinned
        super().__setattr__(name, value)


class _PinnedWriter(IncrementalPdfFileWriter):
    """An incremental writer whose document ID and modification date are given, not drawn from chance and clock."""

    def __init__(self, stream: io.BytesIO, *, at: datetime, second_id: bytes) -> None:
        super().__init__(stream, strict=True)
        first, _random = self._document_id
        self._document_id = generic.ArrayObject([first, generic.ByteStringObject(second_id)])
        meta = _PinnedMetadata()
        meta.pinned = at
        self._meta = meta


class _PinnedSigner(signers.PdfSigner):
    """pyHanko's PDF signer with the signing time given (the CMS signingTime and the signature's ``/M``)."""

    def __init__(self, *args: Any, at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._at
        return session


def signing_time(at: datetime) -> datetime:
    """The time a signature states: whole seconds (what PDF dates and CMS hold), in Việt Nam's time zone.

    >>> signing_time(datetime(2026, 3, 1, 2, 30, 15, 999, tzinfo=UTC)).isoformat()
    '2026-03-01T09:30:15+07:00'
    """
    if at.tzinfo is None:
        raise ValueError("the signing time needs a time zone")
    return at.astimezone(_ICT).replace(microsecond=0)


def sign_pdf(pdf: bytes, key: SigningKey, *, number: str, at: datetime, reason: str | None = None) -> bytes:
    """The PDF with a PAdES signature (B-B level) of ``key`` appended: the same inputs give the same bytes.

    Parameters
    ----------
    pdf
        The unsigned certificate.
    key
        The signing key and certificate.
    number
        The certificate's number: in the signature field's name and its reason.
    at
        The issue time: the signature's signing time, ``/M`` and the document's ``/ModDate`` (whole seconds).
    reason
        The signature's reason; by default "Phiếu thông tin quy hoạch số NUMBER".
    """
    when = signing_time(at)
    second_id = hashlib.sha256(number.encode() + b"\0" + pdf).digest()[:16]
    writer = _PinnedWriter(io.BytesIO(pdf), at=when, second_id=second_id)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_PREFIX + number,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or f"Phiếu thông tin quy hoạch số {number} (planning information certificate)",
        location="Huế, Việt Nam",
        name=_name_of(key),
    )
    signer = _PinnedSigner(meta, key.signer, at=when)
    out = signer.sign_pdf(writer, bytes_reserved=_reserved(key))
    data: bytes = out.getvalue()
    return data


def _reserved(key: SigningKey) -> int:
    """Room for the signature in the file, hex digits: the certificates embedded, and 4 kB for the rest (attributes
    and a signature value of an RSA key up to 8192 bits). pyHanko would otherwise build the whole CMS once more to
    measure it, half the cost of signing; a function of the key alone, it keeps the bytes reproducible."""
    certs = [key.signer.signing_cert, *key.signer.cert_registry]
    return 2 * (sum(len(cert.dump()) for cert in certs) + 4096)


def _name_of(key: SigningKey) -> str:
    for part in key.subject.split(","):
        if part.startswith("CN="):
            return part[3:].replace("\\", "")
    return key.subject


# ---- checking ---------------------------------------------------------------------------------------------
def number_in_pdf(pdf: bytes) -> str | None:
    """The certificate number a PDF names: its signature field's, else the first serial-shaped text in it.

    Read from the bytes, not the parsed file: a damaged file still says which record it claims to be. Writers may
    escape the hyphens of a PDF string (``\\055``).

    >>> number_in_pdf(b"%PDF-1.7 ... /T (Certificate\\055HUE\\0552026\\055000123) ...")
    'HUE-2026-000123'
    """
    text = pdf.replace(b"\\055", b"-")
    field = re.search(rb"\(" + FIELD_PREFIX.encode() + rb"([A-Z]{2,8}-\d{4}-\d{6})\)", text)
    if field:
        return field.group(1).decode()
    found = _NUMBER.search(text)
    return found.group(0).decode() if found else None


def validate_pdf(pdf: bytes, *, fingerprints: set[str]) -> SignatureCheck:
    """Check a PDF's last signature: intact, covering the whole file, made by a certificate of ``fingerprints``.

    Never raises on a bad file: what could not be read is said in :attr:`SignatureCheck.problem`.

    Parameters
    ----------
    pdf
        The file as received.
    fingerprints
        SHA-256 fingerprints (hex) of the certificates that may have signed it.
    """
    number = number_in_pdf(pdf)
    unsigned = SignatureCheck(signed=False, intact=False, whole_file=False, signer_known=False, number=number)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception as exc:  # any parse failure of a damaged file is an answer, not an error
        return _with_problem(unsigned, f"the file cannot be read as a PDF ({type(exc).__name__})")
    if not embedded:
        return _with_problem(unsigned, "the file carries no digital signature")
    sig = embedded[-1]
    try:
        cert = sig.signer_cert
        fingerprint = hashlib.sha256(cert.dump()).hexdigest()
        subject = cert.subject.human_friendly
        context = ValidationContext(trust_roots=[cert], allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(sig, context, skip_diff=True)
    except Exception as exc:  # a mangled signature container is an answer too
        return _with_problem(unsigned, f"the signature cannot be read ({type(exc).__name__})")
    check = SignatureCheck(
        signed=True,
        intact=bool(status.intact and status.valid),
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE and _padding_clean(sig.pkcs7_content),
        signer_known=fingerprint in fingerprints,
        signer_fingerprint=fingerprint,
        signer_subject=subject,
        signing_time=status.signer_reported_dt,
        number=number,
    )
    if not check.intact:
        return _with_problem(check, "the signed bytes were changed after signing")
    if not check.whole_file:
        return _with_problem(check, "bytes were added or changed outside what the signature covers")
    if not check.signer_known:
        return _with_problem(check, "the signature was made by another certificate than the service's")
    return check


def _padding_clean(contents: bytes) -> bool:
    """Whether the space reserved for the signature holds the signature and zeros only: the one part of the file
    a signature cannot cover, so an edit there would otherwise pass unseen."""
    from asn1crypto import cms

    used = len(cms.ContentInfo.load(contents, strict=False).dump())
    return not contents[used:].strip(b"\0")


def _with_problem(check: SignatureCheck, problem: str) -> SignatureCheck:
    return replace(check, problem=problem)

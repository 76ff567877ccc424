"""Daraja's initiator APIs (docs/protocols.md, "Transaction Status", "Reversal",
"SecurityCredential"): requests made in the name of an M-Pesa API user, whose password
travels encrypted with Safaricom's public certificate.

Both APIs are asynchronous. The request gets an acknowledgement at once (`RequestAccepted`:
ConversationID and OriginatorConversationID); the result is POSTed later to the ResultURL
(read with `hotspotd.mpesa.results`), or a queue time-out to the QueueTimeOutURL.

The SecurityCredential is RSA PKCS#1 v1.5 (not OAEP) of the password's bytes with the
certificate's public key, in base64; a wrong certificate or algorithm shows only later, as
result 2001 "The initiator information is invalid". `cryptography` is imported when a
credential is made, so processes that never make one do not load it.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidInput, UpstreamError
from .client import DarajaClient

log = logging.getLogger(__name__)

TRANSACTION_STATUS_PATH = "/mpesa/transactionstatus/v1/query"
REVERSAL_PATH = "/mpesa/reversal/v1/request"
SHORTCODE_IDENTIFIER = "4"  # IdentifierType of an organisation short code (1 MSISDN, 2 till)
# RecieverIdentifierType (Safaricom's spelling) of a reversal: "11" in Daraja 3.0, "4" in
# older documents.
REVERSAL_RECEIVER_TYPE = "11"
MAX_REMARKS = 100


def load_certificate(data: bytes) -> Any:
    """An X.509 certificate from PEM or DER bytes (Daraja's .cer files come as either);
    ValueError when it is neither."""
    from cryptography import x509

    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def security_credential(password: str, certificate: bytes) -> str:
    """The SecurityCredential: base64 of RSA PKCS#1 v1.5 of `password` (UTF-8) with the
    public key of `certificate` (PEM or DER). A new value each call (the padding is random);
    every one of them decrypts to the password."""
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = load_certificate(certificate).public_key()
    except ValueError as exc:
        raise ConfigError(f"not an X.509 certificate (PEM or DER): {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError("the certificate's key is not an RSA key")
    return base64.b64encode(key.encrypt(password.encode("utf-8"), padding.PKCS1v15())).decode("ascii")


def certificate_problem(path: str | Path) -> str | None:
    """Why the certificate file at `path` cannot serve, or None when it can."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    try:
        security_credential("check", data)
    except ConfigError as exc:
        return f"{path}: {exc}"
    return None


@dataclass(frozen=True)
class RequestAccepted:
    """Daraja took the request; its result will come to the ResultURL carrying these ids."""

    conversation_id: str
    originator_conversation_id: str
    description: str


class InitiatorClient:
    """Transaction Status and Reversal for one short code, through a `DarajaClient` (its
    token, HTTP and error mapping), as the API user `initiator`."""

    def __init__(self, daraja: DarajaClient, initiator: str, credential: str, short_code: str | None = None) -> None:
        if not initiator or not credential:
            raise ConfigError("[mpesa] initiator and initiator_password are needed for Transaction Status "
                              "and refunds")
        self.daraja = daraja
        self.initiator = initiator
        self._credential = credential
        self.short_code = str(short_code or daraja.shortcode)

    @classmethod
    def from_files(cls, daraja: DarajaClient, initiator: str, password: str, certificate_path: str | Path,
                   short_code: str | None = None) -> "InitiatorClient":
        """With the SecurityCredential made from `password` and the certificate file."""
        problem = certificate_problem(certificate_path)
        if problem:
            raise ConfigError(f"[mpesa] certificate: {problem}")
        credential = security_credential(password, Path(certificate_path).read_bytes())
        return cls(daraja, initiator, credential, short_code)

    def transaction_status(self, receipt: str, *, result_url: str, timeout_url: str,
                           remarks: str = "Payment check", occasion: str = "") -> RequestAccepted:
        """Ask how the M-Pesa transaction `receipt` ended (a TransactionStatusQuery)."""
        body = {"Initiator": self.initiator, "SecurityCredential": self._credential,
                "CommandID": "TransactionStatusQuery", "TransactionID": _receipt(receipt),
                "PartyA": self.short_code, "IdentifierType": SHORTCODE_IDENTIFIER, "ResultURL": result_url,
                "QueueTimeOutURL": timeout_url, "Remarks": _remarks(remarks)}
        if occasion:
            body["Occasion"] = occasion[:MAX_REMARKS]
        return self._send("Transaction Status", TRANSACTION_STATUS_PATH, body, receipt)

    def reversal(self, receipt: str, amount: Decimal | int | str, *, result_url: str, timeout_url: str,
                 remarks: str, occasion: str = "") -> RequestAccepted:
        """Ask M-Pesa to give the customer back the C2B payment `receipt` of `amount`."""
        body = {"Initiator": self.initiator, "SecurityCredential": self._credential,
                "CommandID": "TransactionReversal", "TransactionID": _receipt(receipt),
                "Amount": _amount(amount), "ReceiverParty": self.short_code,
                "RecieverIdentifierType": REVERSAL_RECEIVER_TYPE,  # sic: Safaricom's spelling
                "ResultURL": result_url, "QueueTimeOutURL": timeout_url, "Remarks": _remarks(remarks)}
        if occasion:
            body["Occasion"] = occasion[:MAX_REMARKS]
        return self._send("Reversal", REVERSAL_PATH, body, receipt)

    def _send(self, what: str, path: str, body: dict[str, Any], receipt: str) -> RequestAccepted:
        status, data = self.daraja.call(path, body)
        if status == 200 and data is not None and str(data.get("ResponseCode")) == "0":
            conversation = data.get("ConversationID")
            originator = data.get("OriginatorConversationID")
            if not conversation and not originator:
                log.warning("Daraja %s answer without conversation ids: %s", what, sorted(data)[:10])
                raise UpstreamError("M-Pesa accepted the request without saying how to follow it",
                                    code=None, retryable=True)
            log.info("Daraja %s for %s accepted: conversation %s", what, body["TransactionID"], conversation)
            return RequestAccepted(str(conversation or ""), str(originator or ""),
                                   str(data.get("ResponseDescription") or ""))
        raise self.daraja.failure(what, status, data)


def _receipt(receipt: str) -> str:
    text = (receipt or "").strip().upper()
    if not (text.isascii() and text.isalnum() and 4 <= len(text) <= 40):
        raise InvalidInput("An M-Pesa code is letters and digits, like NLJ7RT61SV")
    return text


def _remarks(remarks: str) -> str:
    text = " ".join((remarks or "").split())[:MAX_REMARKS]
    if len(text) < 2:  # the Reversal page: 2 to 100 characters
        raise InvalidInput("Remarks need 2 to 100 characters")
    return text


def _amount(amount: Decimal | int | str) -> str:
    """"200" as the samples write it (whole shillings without decimals)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInput("The amount must be a number of shillings") from None
    if isinstance(amount, bool) or not value.is_finite() or value <= 0:
        raise InvalidInput("The amount must be more than 0")
    return str(int(value)) if value == value.to_integral_value() else str(value)

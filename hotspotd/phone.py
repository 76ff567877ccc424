"""Kenyan mobile numbers: what customers type, what Daraja wants, what logs may show."""

from __future__ import annotations

from .errors import InvalidInput


def normalise(text: str) -> str:
    """Return the number as Daraja wants it, 254 + 9 digits.

    Accepts 07.., 01.., 7.., 1.., 254.., +254.. with spaces or dashes; anything that is
    not a Kenyan mobile number raises InvalidInput with a message for the customer.
    """
    import phonenumbers  # here: every role masks numbers, only the portal reads them (1.5 MB)

    mobile = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    raw = (text or "").strip()
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 9 and digits[0] in "17":
        raw = "0" + digits  # typed without the leading 0
    try:
        number = phonenumbers.parse(raw, "KE")
    except phonenumbers.NumberParseException:
        raise InvalidInput("Enter a Safaricom number like 0712 345 678") from None
    if (
        number.country_code != 254
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in mobile
    ):
        raise InvalidInput("Enter a Kenyan mobile number like 0712 345 678")
    return f"254{number.national_number:09d}"


def mask(phone: str | None) -> str:
    """2547*****149: enough for an operator to recognise, not enough to call."""
    if not phone:
        return ""
    phone = str(phone)
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:4] + "*" * (len(phone) - 7) + phone[-3:]

"""Finance's settings: the currency margins are reported in, and what one US dollar buys in each currency
(provider prices are in US dollars). Checked when read, so a typo stops the command with one line."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pydantic import field_validator, model_validator

from service.settings.parts import StudioSettings

CODE = re.compile(r"[A-Z]{3}")
MAX_RATE = Decimal(1_000_000)  # above any currency's units per dollar: a rate past it is a typo
MAX_PAIRS = 200


class FinanceSettings(StudioSettings):
    """STUDIO_FINANCE_CURRENCY (default INR) and STUDIO_FINANCE_USD_RATES ("INR=84.25,EUR=0.92": units of
    each currency one US dollar buys, positive, at most six decimals; the reporting currency needs one)."""

    finance_currency: str = "INR"
    finance_usd_rates: str = "INR=85"

    @field_validator("finance_currency")
    @classmethod
    def _code(cls, value: str) -> str:
        if not CODE.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a three-letter ISO currency code such as INR")
        return value.strip()

    @field_validator("finance_usd_rates")
    @classmethod
    def _rates(cls, value: str) -> str:
        parse_rates(value)
        return value

    @model_validator(mode="after")
    def _reporting_currency_has_a_rate(self) -> FinanceSettings:
        if self.finance_currency != "USD" and self.finance_currency not in self.usd_rates():
            raise ValueError(f"STUDIO_FINANCE_USD_RATES has no rate for the reporting currency "
                             f"{self.finance_currency} (STUDIO_FINANCE_CURRENCY)")
        return self

    def usd_rates(self) -> dict[str, Decimal]:
        """The rates by currency code (USD is always 1)."""
        return parse_rates(self.finance_usd_rates)


def parse_rates(text: str) -> dict[str, Decimal]:
    """``CODE=rate`` pairs separated by commas or spaces; ``ValueError`` naming the first bad one."""
    pairs = text.replace(",", " ").split()
    if len(pairs) > MAX_PAIRS:
        raise ValueError(f"{len(pairs)} rates; at most {MAX_PAIRS}")
    rates: dict[str, Decimal] = {}
    for pair in pairs:
        code, sep, number = pair.partition("=")
        if not sep or not CODE.fullmatch(code):
            raise ValueError(f"{pair[:40]!r} is not CODE=rate with a three-letter ISO code, as in INR=84.25")
        if code in rates:
            raise ValueError(f"{code} has two rates")
        rates[code] = rate_of(code, number)
    if rates.get("USD", Decimal(1)) != 1:
        raise ValueError("USD=1 by definition: rates are units of each currency per US dollar")
    return rates


def rate_of(code: str, number: str) -> Decimal:
    """The rate written ``number`` for ``code``: a plain positive decimal, at most six decimals and 1000000."""
    if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,6})?", number):
        raise ValueError(f"{code}={number[:40]!r}: a rate is a plain positive number with at most six decimals")
    try:
        rate = Decimal(number)
    except InvalidOperation:  # pragma: no cover (the pattern above admits only what Decimal reads)
        raise ValueError(f"{code}={number[:40]!r} is not a number") from None
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"{code}={number}: a rate must be more than 0 and at most {MAX_RATE}")
    return rate

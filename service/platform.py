"""The platform's wallet, a port: we ask it for a learner's balance and to debit it, and it answers.

Two adapters here: ``DemoWallet`` (the embedded default: every learner starts with a clearly labelled
demo balance, so the whole loop shows on ``make run``) and ``HttpPlatformWallet`` (``STUDIO_PLATFORM_URL``,
requests signed as our webhook is, bounded by a timeout). ``docs/platform.md`` is the contract."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import quote

import httpx

from service.messages import REASON_CHARS
from service.signing import HEADER, sign

# pending: asked over a channel that answers later (Kafka); the answer arrives as a message, not here.
DebitStatus = Literal["confirmed", "declined", "unknown", "pending"]


@dataclass(frozen=True)
class Balance:
    """A learner's platform wallet balance; ``demo``: a demonstration balance, not money."""

    balance_minor: int
    currency: str
    demo: bool = False


@dataclass(frozen=True)
class Debit:
    """What we ask the platform to take, under an id that stays the same on every attempt."""

    debit_id: str
    user_id: str
    amount_minor: int
    currency: str
    purpose: str


@dataclass(frozen=True)
class DebitAnswer:
    """The platform's answer: ``unknown`` when none came (a timeout, an error, an answer we cannot read)."""

    status: DebitStatus
    reason: str = ""


class PlatformWallet(Protocol):
    """The platform's wallet: a learner's balance, a debit, and the fate of a debit asked before."""

    def balance(self, user_id: str) -> Balance | None:
        """The learner's balance, or None when it cannot be known now."""
        ...

    def debit(self, debit: Debit) -> DebitAnswer:
        """Ask for a debit; asking again with the same ``debit_id`` never takes the money twice."""
        ...

    def fate(self, debit_id: str) -> DebitAnswer:
        """What became of the debit ``debit_id`` (``unknown`` if the platform never saw it, or is down)."""
        ...


class DemoWallet:
    """A demonstration wallet in memory: each learner starts with ``start_minor``; debits are kept by id."""

    def __init__(self, *, start_minor: int, currency: str) -> None:
        self.start_minor = start_minor
        self.currency = currency
        self._spent: dict[str, int] = {}
        self._debits: dict[str, DebitAnswer] = {}
        self._lock = threading.Lock()

    def balance(self, user_id: str) -> Balance:
        """The learner's demo balance."""
        with self._lock:
            return Balance(self.start_minor - self._spent.get(user_id, 0), self.currency, demo=True)

    def debit(self, debit: Debit) -> DebitAnswer:
        """Take the amount once per debit id, or decline it for want of balance or for another currency."""
        with self._lock:
            if debit.debit_id in self._debits:
                return self._debits[debit.debit_id]
            left = self.start_minor - self._spent.get(debit.user_id, 0)
            if debit.currency != self.currency:
                answer = DebitAnswer("declined", f"the demo wallet holds {self.currency}, not {debit.currency}")
            elif debit.amount_minor > left:
                answer = DebitAnswer("declined", f"insufficient demo balance: {left} minor units left")
            else:
                self._spent[debit.user_id] = self._spent.get(debit.user_id, 0) + debit.amount_minor
                answer = DebitAnswer("confirmed")
            self._debits[debit.debit_id] = answer
            return answer

    def fate(self, debit_id: str) -> DebitAnswer:
        """The answer given to ``debit_id``, or unknown."""
        with self._lock:
            return self._debits.get(debit_id, DebitAnswer("unknown", "the demo wallet never saw this debit"))


class HttpPlatformWallet:
    """The platform's wallet over HTTP: ``GET /wallet/{user_id}``, ``POST /wallet/debits`` (signed),
    ``GET /wallet/debits/{debit_id}``. Anything but a clear answer is ``unknown``: the caller retries with
    the same debit id, then asks."""

    def __init__(self, *, base_url: str, secret: str, timeout_s: float, client: httpx.Client | None = None) -> None:
        self.secret = secret
        self.client = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def balance(self, user_id: str) -> Balance | None:
        """The learner's balance; None when the platform does not answer with one."""
        try:
            response = self.client.get(f"/wallet/{quote(user_id, safe='')}")
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        minor, currency = data.get("balance_minor"), data.get("currency")
        if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0 or not isinstance(currency, str):
            return None
        return Balance(minor, currency)

    def debit(self, debit: Debit) -> DebitAnswer:
        """Ask for the debit, signed; ``unknown`` unless the platform answers confirmed or declined."""
        body = json.dumps({"debit_id": debit.debit_id, "user_id": debit.user_id, "amount_minor": debit.amount_minor,
                           "currency": debit.currency, "purpose": debit.purpose}).encode()
        headers = {HEADER: sign(self.secret, body, int(time.time())), "Content-Type": "application/json",
                   "Idempotency-Key": debit.debit_id}
        return self._answer(lambda: self.client.post("/wallet/debits", content=body, headers=headers), debit.debit_id)

    def fate(self, debit_id: str) -> DebitAnswer:
        """What the platform says became of ``debit_id``."""
        return self._answer(lambda: self.client.get(f"/wallet/debits/{quote(debit_id, safe='')}"), debit_id)

    def _answer(self, call: Callable[[], httpx.Response], debit_id: str) -> DebitAnswer:
        try:
            response = call()
        except httpx.HTTPError as error:
            return DebitAnswer("unknown", f"no answer from the platform: {type(error).__name__}")
        if response.status_code == 404:
            return DebitAnswer("unknown", "the platform does not know this debit")
        if response.status_code >= 300:
            return DebitAnswer("unknown", f"the platform answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            return DebitAnswer("unknown", "the platform's answer is not JSON")
        return read_answer(data, debit_id)


class KafkaPlatformWallet:
    """The platform's wallet over Kafka: the relay publishes each recharge's ``WalletDebitRequested`` on
    ``payments.requests`` (from the log, never from a command) and the platform answers on ``payments.events``
    (``WalletBalanceRedeemed`` under the debit id, or ``WalletDebitDeclined``), applied by the inbound consumer.
    Nothing is answered here: every debit is ``pending`` until its answer arrives, or its deadline passes."""

    def balance(self, user_id: str) -> None:
        """Unknown: the platform publishes no balances on Kafka."""
        return None

    def debit(self, debit: Debit) -> DebitAnswer:
        """Pending: the request is on the requests topic already."""
        return DebitAnswer("pending", "asked on the platform's requests topic; its answer comes as a message")

    def fate(self, debit_id: str) -> DebitAnswer:
        """Pending: the answer arrives as a message."""
        return DebitAnswer("pending", "no answer yet to the request on the platform's requests topic")


def read_answer(data: object, debit_id: str) -> DebitAnswer:
    """A platform's JSON answer about ``debit_id``; ``unknown`` for anything else (another debit's answer,
    a status we do not know): a lying or confused peer never confirms nor declines by accident."""
    if not isinstance(data, dict) or data.get("debit_id") != debit_id:
        return DebitAnswer("unknown", "the platform answered about another debit")
    status, reason = data.get("status"), data.get("reason", "")
    if status not in ("confirmed", "declined") or not isinstance(reason, str):
        return DebitAnswer("unknown", f"the platform answered an unknown status {str(status)[:40]!r}")
    printable = "".join(c for c in reason if c.isprintable())[:REASON_CHARS].strip()
    return DebitAnswer(status, printable or ("declined by the platform" if status == "declined" else ""))

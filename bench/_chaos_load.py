"""The crash campaign's load: HTTP commands and Kafka messages, valid, repeated and malformed, all written down.

Every POST is retried with its Idempotency-Key and body until the API gives a final answer (a
client does that when the service died under it), and every answer is kept per key. Inbound
messages go straight to the topics the affiliate system and the payment flow write; each
malformed one has a key of its own and the dead-letter reason it must get.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from api.http.auth import issue_token
from api.http.signatures import sign
from service.policy import Policy

POSTER = {"template_id": "poster-course-launch", "variables": {"course": "Chaos Engineering", "date": "today"}}
ATTEMPTS_WITHIN_S = 120.0  # a client gives a POST this long to get a final answer through kills


@dataclass
class Tally:
    """What the load sent and what it was told."""

    answers: dict[str, list[int]] = field(default_factory=dict)  # generation key -> every status answered
    generations: dict[str, str] = field(default_factory=dict)  # generation key -> id answered with 202
    owners: dict[str, str] = field(default_factory=dict)  # generation id -> user
    server_errors: list[tuple[float, str, int, int]] = field(default_factory=list)  # (time, route, status, replica)
    unanswered: list[str] = field(default_factory=list)  # POSTs given up on
    statuses: Counter[str] = field(default_factory=Counter)  # "route status" -> count
    payments: dict[str, str] = field(default_factory=dict)  # valid purchase payment id -> user
    redemptions: dict[str, str] = field(default_factory=dict)
    refunds: set[str] = field(default_factory=set)
    referrals: dict[str, tuple[str, str]] = field(default_factory=dict)  # referral id -> (referrer, referee)
    reversals: set[str] = field(default_factory=set)
    malformed: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (topic, expected reason)
    messages: Counter[str] = field(default_factory=Counter)  # records produced per topic
    shares: Counter[str] = field(default_factory=Counter)  # "bonus" / "no bonus" / status
    recharges: dict[str, str] = field(default_factory=dict)  # recharge id answered -> user
    recharge_answers: dict[str, list[int]] = field(default_factory=dict)  # recharge key -> every status answered


class Load:
    """Offers a mix of commands and messages at a steady rate until stopped."""

    def __init__(self, bases: list[str], servers: str, topics: dict[str, str], policy: Policy, users: list[str], *,
                 jwt_secret: str, webhook_secret: str, seed: int) -> None:
        self.bases = bases  # API replicas: each request, and each retry of one, goes to the next (round-robin)
        self.servers = servers
        self.topics = topics
        self.policy = policy
        self.users = users
        self.webhook_secret = webhook_secret
        self.tokens = {u: issue_token(jwt_secret, u, issuer="studio-ledger", audience="studio-ledger") for u in users}
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.bodies: dict[str, tuple[str, dict[str, Any]]] = {}  # generation key -> (user, body)
        self._stopping = asyncio.Event()
        self._sessions: list[aiohttp.ClientSession] = []
        self._turn = 0
        self._producer: AIOKafkaProducer | None = None
        self._n = 0

    # Plumbing.

    async def __aenter__(self) -> Load:
        self._sessions = [aiohttp.ClientSession(base_url=base, timeout=aiohttp.ClientTimeout(total=30))
                          for base in self.bases]
        self._producer = AIOKafkaProducer(bootstrap_servers=self.servers, acks="all", enable_idempotence=False)
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._producer is not None:
            await self._producer.stop()
        for session in self._sessions:
            await session.close()

    def _replica(self) -> tuple[int, aiohttp.ClientSession]:
        """The next replica, as a round-robin load balancer picks it."""
        self._turn = (self._turn + 1) % len(self._sessions)
        return self._turn, self._sessions[self._turn]

    def _next(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._n}-{uuid.uuid4().hex[:6]}"

    async def send(self, topic_name: str, key: str, value: bytes) -> None:
        """Produce one record and wait for the broker's acknowledgement."""
        assert self._producer is not None
        topic = self.topics[topic_name]
        await (await self._producer.send(topic, value, key=key.encode()))
        self.tally.messages[topic] += 1

    async def post(self, route: str, path: str, body: bytes, headers: dict[str, str], *,
                   method: str = "POST") -> tuple[int, Any]:
        """POST until a final answer (< 500), retrying connection failures and 5xx with the same key and body
        (each attempt through the next replica, so a retry usually reaches another one)."""
        deadline = time.monotonic() + ATTEMPTS_WITHIN_S
        tries: list[str] = []
        while time.monotonic() < deadline:
            if route == "webhook":  # a fresh signature for each attempt, as the payment flow would
                headers = {**headers, "Studio-Signature": sign(self.webhook_secret, body, int(time.time()))}
            replica, session = self._replica()
            try:
                async with session.request(method, path, data=body, headers=headers) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                tries.append(f"{time.strftime('%H:%M:%S')} {type(error).__name__}")
                await asyncio.sleep(0.5)
                continue
            self.tally.statuses[f"{route} {status}"] += 1
            if status >= 500:
                tries.append(f"{time.strftime('%H:%M:%S')} {status}")
                self.tally.server_errors.append((time.time(), route, status, replica))
                await asyncio.sleep(0.5)
                continue
            return status, json.loads(payload) if payload else None
        self.tally.unanswered.append(f"{route} {path} {headers.get('Idempotency-Key')}: {len(tries)} tries "
                                     f"({', '.join(dict.fromkeys(tries[:3] + tries[-2:]))})")
        return 0, None

    async def get(self, route: str, path: str, user: str) -> tuple[int, Any]:
        """One GET as ``user`` through the next replica (no retry); 0 when the API did not answer."""
        replica, session = self._replica()
        try:
            async with session.get(path, headers={"Authorization": f"Bearer {self.tokens[user]}"}) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            return 0, None
        self.tally.statuses[f"{route} {status}"] += 1
        if status >= 500:
            self.tally.server_errors.append((time.time(), route, status, replica))
        return status, json.loads(payload) if status == 200 else None

    # Commands.

    async def generate(self, key: str | None = None) -> None:
        """POST /v1/generations; with ``key``, a repeat of an earlier request (same key, same body)."""
        if key is None:
            key = self._next("gen")
            user = self.rng.choice(self.users)
            self.bodies[key] = (user, POSTER)
        user, body = self.bodies[key]
        status, answer = await self.post("generate", "/v1/generations", json.dumps(body).encode(), {
            "Authorization": f"Bearer {self.tokens[user]}", "Idempotency-Key": key,
            "Content-Type": "application/json"})
        self.tally.answers.setdefault(key, []).append(status)
        if status == 202:
            self.tally.generations[key] = answer["generation_id"]
            self.tally.owners[answer["generation_id"]] = user

    async def generate_twice(self) -> None:
        """The same new request twice at once (a client's double click)."""
        key = self._next("gen")
        self.bodies[key] = (self.rng.choice(self.users), POSTER)
        await asyncio.gather(self.generate(key), self.generate(key))

    async def repeat(self) -> None:
        """An earlier request again, with its key and body."""
        if self.bodies:
            await self.generate(self.rng.choice(list(self.bodies)))

    async def share(self) -> None:
        """Share up to four of a user's finished images at once (the daily bonus cap is three)."""
        user = self.rng.choice(self.users)
        status, page = await self.get("gallery", "/v1/gallery?limit=50", user)
        if status != 200:
            return
        unshared = [item["generation_id"] for item in page["items"] if not item.get("share_url")]
        picked = self.rng.sample(unshared, min(4, len(unshared)))

        async def one(generation_id: str) -> None:
            status, answer = await self.post("share", f"/v1/generations/{generation_id}/share", b"", {
                "Authorization": f"Bearer {self.tokens[user]}", "Idempotency-Key": f"share-{generation_id}"})
            self.tally.shares[("bonus" if answer and answer.get("bonus_credits") else "no bonus")
                              if status == 200 else str(status)] += 1

        await asyncio.gather(*(one(g) for g in picked))

    async def wallet(self) -> None:
        """A wallet read."""
        await self.get("wallet", "/v1/wallet", self.rng.choice(self.users))

    async def webhook_purchase(self) -> None:
        """A pack bought through the signed HTTP webhook, sometimes delivered twice."""
        payment_id, user, message = self._purchase()
        body = json.dumps(message).encode()
        for _ in range(2 if self.rng.random() < 0.3 else 1):
            status, _ = await self.post("webhook", "/v1/webhooks/payments", body, {
                "Idempotency-Key": payment_id, "Content-Type": "application/json"})
            if status in (200, 201, 202):
                self.tally.payments[payment_id] = user

    async def recharge(self) -> None:
        """POST /v1/wallet/recharges from the platform wallet (10 credits); a third asked again with their key."""
        user, key = self.rng.choice(self.users), self._next("recharge")
        body = json.dumps({"amount_minor": self.policy.redemption.minor_per_major, "currency":
                           self.policy.redemption.currency}).encode()
        for _ in range(2 if self.rng.random() < 0.3 else 1):
            status, answer = await self.post("recharge", "/v1/wallet/recharges", body, {
                "Authorization": f"Bearer {self.tokens[user]}", "Idempotency-Key": key,
                "Content-Type": "application/json"})
            self.tally.recharge_answers.setdefault(key, []).append(status)
            if status in (200, 202):
                self.tally.recharges[answer["recharge_id"]] = user

    async def turn_on_top_up(self, user: str, pack_id: str, below: int) -> int:
        """PUT /v1/wallet/settings: auto top-up of ``pack_id`` below ``below`` credits; the status answered."""
        status, _ = await self.post("settings", "/v1/wallet/settings", json.dumps({
            "daily_spend_cap": None, "auto_top_up": {"pack_id": pack_id, "below": below,
                                                     "monthly_cap_minor": 10**7}}).encode(), {
            "Authorization": f"Bearer {self.tokens[user]}", "Idempotency-Key": self._next("settings"),
            "Content-Type": "application/json"}, method="PUT")
        return status

    # Messages.

    def _purchase(self) -> tuple[str, str, dict[str, Any]]:
        pack = self.rng.choice(self.policy.packs)
        payment_id, user = self._next("pay"), self.rng.choice(self.users)
        return payment_id, user, {"type": "CreditPackPurchased", "payment_id": payment_id, "user_id": user,
                                  "pack_id": pack.id, "amount_minor": pack.price_minor, "currency": pack.currency}

    async def purchase(self, user: str | None = None) -> None:
        """A pack bought, on payments.events; a third of them delivered twice."""
        payment_id, buyer, message = self._purchase()
        if user is not None:
            buyer = message["user_id"] = user
        for _ in range(2 if self.rng.random() < 0.3 else 1):
            await self.send("payments", payment_id, json.dumps(message).encode())
        self.tally.payments[payment_id] = buyer

    async def redeem(self) -> None:
        """Wallet balance redeemed for credits."""
        redemption_id, user = self._next("redeem"), self.rng.choice(self.users)
        rate = self.policy.redemption
        await self.send("payments", redemption_id, json.dumps({
            "type": "WalletBalanceRedeemed", "redemption_id": redemption_id, "user_id": user,
            "amount_minor": 5 * rate.minor_per_major, "currency": rate.currency}).encode())
        self.tally.redemptions[redemption_id] = user

    async def refund(self) -> None:
        """A refund of an earlier purchase (once per purchase; sometimes delivered twice)."""
        open_ = [p for p in self.tally.payments if p not in self.tally.refunds and p.startswith("pay-")]
        if not open_:
            return
        payment_id = self.rng.choice(open_)
        self.tally.refunds.add(payment_id)
        for _ in range(2 if self.rng.random() < 0.3 else 1):
            await self.send("payments", payment_id,
                            json.dumps({"type": "PaymentRefunded", "payment_id": payment_id}).encode())

    async def refer(self) -> None:
        """A referral converted, on affiliate.referrals; a fifth of them delivered twice."""
        referral_id = self._next("ref")
        referrer, referee = self.rng.sample(self.users, 2)
        message = json.dumps({"type": "ReferralConverted", "referral_id": referral_id, "referrer_user_id": referrer,
                              "referee_user_id": referee, "occurred_at": _now()}).encode()
        for _ in range(2 if self.rng.random() < 0.2 else 1):
            await self.send("referrals", referral_id, message)
        self.tally.referrals[referral_id] = (referrer, referee)

    async def reverse(self) -> None:
        """A referral reversed (once per referral)."""
        open_ = [r for r in self.tally.referrals if r not in self.tally.reversals]
        if open_:
            referral_id = self.rng.choice(open_)
            self.tally.reversals.add(referral_id)
            await self.send("referrals", referral_id,
                            json.dumps({"type": "ReferralReversed", "referral_id": referral_id}).encode())

    async def malformed(self) -> None:
        """A message that can never apply, with the dead-letter reason it must get."""
        kind = self.rng.choice(MALFORMED)
        key = self._next(f"bad-{kind}")
        user = self.rng.choice(self.users)
        topic, reason, value = _bad_message(kind, key, user, self.policy)
        await self.send(topic, key, value)
        self.tally.malformed[key] = (self.topics[topic], reason)

    # The schedule.

    async def run(self, rate: float) -> None:
        """Offer actions at ``rate`` per second (open loop) until ``stop()``."""
        actions = [(self.generate, 4), (self.generate_twice, 1), (self.repeat, 4), (self.share, 8),
                   (self.wallet, 10), (self.purchase, 8), (self.redeem, 4), (self.refund, 2),
                   (self.webhook_purchase, 4), (self.refer, 8), (self.reverse, 2), (self.malformed, 6),
                   (self.recharge, 3)]
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        n = 0
        while not self._stopping.is_set():
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            action = self.rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
            task = asyncio.create_task(action())
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)

    def stop(self) -> None:
        """Offer nothing more; ``run`` returns once the actions in flight have their answers."""
        self._stopping.set()


MALFORMED = ("invalid-json", "schema-violation", "unknown-pack", "price-mismatch", "unsupported-currency",
             "too-small", "self-referral", "unknown-reference", "bad-result")


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def _bad_message(kind: str, key: str, user: str, policy: Policy) -> tuple[str, str, bytes]:
    """(topic name, expected x-error, value) of a malformed message of ``kind``."""
    pack = policy.packs[0]
    purchase = {"type": "CreditPackPurchased", "payment_id": key, "user_id": user, "pack_id": pack.id,
                "amount_minor": pack.price_minor, "currency": pack.currency}
    rate = policy.redemption
    bad: dict[str, tuple[str, dict[str, Any] | bytes]] = {
        "invalid-json": ("payments", b'{"type": "CreditPackPurchased", "payment_id": '),
        "schema-violation": ("payments", {"type": "CreditPackPurchased", "payment_id": key, "user_id": user}),
        "unknown-pack": ("payments", {**purchase, "pack_id": "no-such-pack"}),
        "price-mismatch": ("payments", {**purchase, "amount_minor": pack.price_minor + 1}),
        "unsupported-currency": ("payments", {"type": "WalletBalanceRedeemed", "redemption_id": key, "user_id": user,
                                              "amount_minor": 1000, "currency": "XTS"}),
        "too-small": ("payments", {"type": "WalletBalanceRedeemed", "redemption_id": key, "user_id": user,
                                   "amount_minor": 1, "currency": rate.currency}),
        "self-referral": ("referrals", {"type": "ReferralConverted", "referral_id": key, "referrer_user_id": user,
                                        "referee_user_id": user, "occurred_at": _now()}),
        "unknown-reference": ("referrals", {"type": "ReferralReversed", "referral_id": key}),
        "bad-result": ("completed", {"type": "GenerationCompleted", "generation_id": "not-a-uuid"}),
    }
    topic, value = bad[kind]
    reason = "ValidationError" if kind == "bad-result" else kind
    return topic, reason, value if isinstance(value, bytes) else json.dumps(value).encode()

"""Statement lines in words: what a wallet event was, as a learner would say it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.postings import HOLD_ENDINGS
from ledger.values import Money
from ledger.wallet import Wallet
from media.text import clusters
from projections.template_words import Words

MAIN_TEXT_CHARS = 60


@dataclass(frozen=True)
class Subjects:
    """Names generations "<template title>: <main text>" from the words of the template version that made
    them (``Words``, from the template events). ``titles`` and ``main_variables``, by template id, name
    the generations of versions the ledger never published: those requested before templates were kept
    in the ledger."""

    titles: Mapping[str, str] = field(default_factory=dict)
    main_variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_templates(cls, templates: Iterable[Any]) -> Subjects:
        """Titles and main variables of these templates (``media.templates.Template``)."""
        listed = list(templates)
        return cls(titles={t.id: t.title for t in listed},
                   main_variables={t.id: next((v.name for v in t.variables if v.type == "text"), "")
                                   for t in listed})

    def of(self, template_id: str, variables: Mapping[str, Any], words: Words | None = None) -> str:
        """What a generation of ``template_id`` (in the version with ``words``) with ``variables`` is called
        on a statement."""
        title = (words.title if words else self.titles.get(template_id)) or \
            template_id.replace("-", " ").replace("_", " ").capitalize()
        text = self.text(template_id, variables, words)
        return f"{title}: {text}" if text else title

    def title_in(self, subject: str) -> str:
        """The template title a subject (``of``'s answer) begins with: the longest known one, else its first part."""
        known = [t for t in self.titles.values() if subject == t or subject.startswith(f"{t}: ")]
        return max(known, key=len) if known else subject.split(": ", 1)[0]

    def text(self, template_id: str, variables: Mapping[str, Any], words: Words | None = None) -> str:
        """The learner's own words in a generation: its main text variable, shortened for a statement line."""
        main = words.main_variable if words else self.main_variables.get(template_id)
        text = str(variables.get(main) or "") if main else ""
        if not text and words is None and template_id not in self.main_variables:  # words unknown
            text = next((str(v) for v in variables.values() if isinstance(v, str) and v and v[0] != "#"), "")
        text = " ".join(text.split())
        characters = clusters(text)  # as a learner counts: never half an emoji sequence or a conjunct
        if len(characters) > MAIN_TEXT_CHARS:
            text = "".join(characters[:MAIN_TEXT_CHARS - 1]).rstrip() + "…"
        return text


def named_generation(kind: str, reference: str, meta: Mapping[str, Any] | None = None) -> str | None:
    """The generation a wallet event, or its statement line, is about: a placed hold's (from its meta), an
    ended hold's (its id is "<generation id>", or "<generation id>:late" for a late charge), or the share a
    bonus was for ("share:<generation id>"); None for anything else."""
    if kind == "HoldPlaced":
        return str(meta["generation_id"]) if meta and meta.get("generation_id") else None
    if kind in HOLD_ENDINGS:
        return reference.split(":", 1)[0]
    if kind == "ShareBonusGranted" and reference.startswith("share:"):
        return reference.removeprefix("share:")
    return None


def generation_of(event: Any) -> str | None:
    """The generation a wallet event is about (its hold, or the share its bonus is for), if any."""
    if isinstance(event, Wallet.HoldPlaced):
        return named_generation("HoldPlaced", event.hold_id, event.meta)
    if isinstance(event, Wallet.HoldResolution):
        return named_generation(type(event).__name__, event.hold_id)
    if isinstance(event, Wallet.ShareBonusGranted):
        return named_generation("ShareBonusGranted", event.reference)
    return None


def money(value: Money | None) -> str:
    """``INR 9.00``."""
    return "" if value is None else f"{value.currency} {value.minor // 100}.{value.minor % 100:02d}"


def describe(event: Any, subjects: Mapping[str, str], referrals: Mapping[str, Mapping[str, str]]) -> str:
    """The line's description; ``subjects`` names generations by id, ``referrals`` the users of a referral."""
    if isinstance(event, Wallet.WalletOpened):
        return "Wallet opened"
    about = generation_of(event)
    subject = subjects.get(about, "") if about else ""
    if isinstance(event, Wallet.CreditsPurchased):
        return f"Bought the {event.pack_id} pack for {money(event.price)}"
    if isinstance(event, Wallet.CreditsRedeemed):
        return f"Redeemed {money(event.price)} of wallet balance"
    if isinstance(event, Wallet.ReferralBonusGranted):
        return _referral(event, referrals.get(event.reference, {}))
    if isinstance(event, Wallet.ShareBonusGranted):
        return f"Share bonus for {subject}" if subject else "Share bonus"
    if isinstance(event, Wallet.PromoCreditsGranted):
        return f"Promotional credits: {event.reason}"
    if isinstance(event, Wallet.CreditsAdjusted):
        return f"Adjustment: {event.reason}"
    if isinstance(event, Wallet.HoldPlaced | Wallet.HoldResolution):
        return _hold(event, subject or f"Hold {event.hold_id}")
    if isinstance(event, Wallet.CreditsExpired):
        return "Credits expired"
    if isinstance(event, Wallet.PurchaseRefunded):
        return f"Refund of payment {event.reference}"
    if isinstance(event, Wallet.ReferralReversed):
        return f"Referral {event.reference} reversed"
    if isinstance(event, Wallet.WalletFrozen):
        return f"Wallet frozen: {event.reason}"
    if isinstance(event, Wallet.WalletUnfrozen):
        return f"Wallet unfrozen: {event.reason}"
    if isinstance(event, Wallet.SettingsChanged):
        cap = event.daily_spend_cap
        return "Daily spend cap removed" if cap is None else f"Daily spend cap set to {cap} credits"
    return type(event).__name__


def _referral(event: Wallet.ReferralBonusGranted, users: Mapping[str, str]) -> str:
    if event.role == "referee":
        referrer = users.get("referrer")
        return (f"Referral bonus for joining on {referrer}'s invitation" if referrer
                else f"Referral bonus for joining (referral {event.reference})")
    referee = users.get("referee")
    return f"Referral bonus for inviting {referee}" if referee else f"Referral bonus (referral {event.reference})"


def _hold(event: Wallet.HoldPlaced | Wallet.HoldResolution, subject: str) -> str:
    late = event.hold_id.endswith(":late")
    if isinstance(event, Wallet.HoldPlaced):
        return f"{subject} (charged late)" if late else subject
    if isinstance(event, Wallet.HoldCaptured):
        return f"{subject} (charged)"
    if isinstance(event, Wallet.HoldReleased):
        return f"{subject} (credits returned)"
    return f"{subject} (hold expired)"

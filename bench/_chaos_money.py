"""The crash campaign's money loop: the fake platform's wallet, and the checks that no recharge or auto
top-up was granted twice, granted without the platform taking the money, or lost."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.support.platform_fake import FakePlatform

ENDINGS = ("RechargeConfirmed", "RechargeDeclined", "RechargeLapsed")
POOR_BALANCE = 300  # paise: three recharges, then the platform declines


def fake_platform(users: list[str]) -> FakePlatform:
    """The platform's wallet: most learners rich, every fourth one with a little, so some debits are declined."""
    return FakePlatform(balances={u: POOR_BALANCE if n % 4 == 0 else 10**9 for n, u in enumerate(users)})


@dataclass
class Recharges:
    """The recharges in the ledger's log: who asked, for what purpose, and how each ended."""

    asked: dict[str, tuple[str, str]] = field(default_factory=dict)  # recharge id -> (user, purpose)
    endings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def apply(self, kind: str, event: Any) -> None:
        """Fold one event (the others are ignored)."""
        if kind == "RechargeRequested":
            self.asked[str(event.originator_id)] = (event.user_id, getattr(event, "purpose", "recharge"))
        elif kind in ENDINGS:
            self.endings[str(event.originator_id)].append(kind)

    def open(self) -> list[str]:
        """The recharges with no ending yet."""
        return [r for r in self.asked if not self.endings.get(r)]

    def purposes(self) -> Counter[str]:
        """How many recharges of each purpose, and how they ended."""
        return Counter(f"{purpose} {(self.endings.get(r) or ['open'])[0].removeprefix('Recharge').lower()}"
                       for r, (_, purpose) in self.asked.items())


def check_recharges(recharges: Recharges, answered: dict[str, str], grants: Counter[tuple[str, str]],
                    platform: FakePlatform) -> list[str]:
    """Every broken promise of the money loop, one line each."""
    findings: list[str] = []
    lost = sorted(set(answered) - set(recharges.asked))
    if lost:
        findings.append(f"recharges answered but not in the ledger: {len(lost)}, e.g. {lost[:3]}")
    for recharge, (user, purpose) in recharges.asked.items():
        taken = platform.debits.get(recharge, {}).get("status")
        ended = recharges.endings.get(recharge, [])
        granted = grants[("CreditsRedeemed", recharge)]
        if taken == "confirmed" and (ended != ["RechargeConfirmed"] or granted != 1):
            findings.append(f"{purpose} {recharge} of {user}: the platform took the money, the ledger ended it "
                            f"{ended or 'not at all'} and granted it {granted} time(s)")
        elif taken != "confirmed" and granted:
            findings.append(f"{purpose} {recharge} of {user}: granted {granted} time(s), the platform says {taken}")
        elif taken == "declined" and ended != ["RechargeDeclined"]:
            findings.append(f"{purpose} {recharge} of {user}: declined by the platform, ended {ended or 'not at all'}")
        elif taken is None:
            findings.append(f"{purpose} {recharge} of {user}: never reached the platform ({ended or 'open'})")
    strays = sorted(set(platform.debits) - set(recharges.asked))
    if strays:
        findings.append(f"debits the platform took for no recharge in the ledger: {strays[:3]}")
    return findings

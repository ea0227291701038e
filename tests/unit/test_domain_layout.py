"""The shape of the ledger package: no import cycles, nothing but the standard library and
eventsourcing outside its store adapters, small modules, and event topics that never move."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

import ledger
from ledger.erasure import Erasure
from ledger.generation import Generation
from ledger.recharge import Recharge
from ledger.reference import Reference
from ledger.standing import Standing
from ledger.template import Template
from ledger.topup import TopUpPlan
from ledger.wallet import Wallet
from tests.support.imports import cycles, imported, module_name

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ledger"
ALLOWED_OUTSIDE_STORE = {"eventsourcing", "ledger"}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """Every module of the ledger package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def graph() -> dict[str, set[str]]:
    """Imports between the ledger's own modules."""
    found = modules()
    return {name: {m for m in imported(name, path, found) if m in found} for name, path in found.items()}


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_ledger_package_has_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_no_module_inside_the_ledger_imports_the_package_itself() -> None:
    importers = sorted(name for name, targets in graph().items() if "ledger" in targets and name != "ledger")
    assert importers == []


def test_outside_the_store_the_ledger_imports_only_the_standard_library_and_eventsourcing() -> None:
    found = modules()
    foreign = {
        name: sorted(m for m in imported(name, path, found)
                     if m.split(".")[0] not in sys.stdlib_module_names | ALLOWED_OUTSIDE_STORE)
        for name, path in found.items() if not name.startswith("ledger.event_store")
    }
    assert {name: mods for name, mods in foreign.items() if mods} == {}


def test_only_the_ledgers_storage_engine_reaches_the_store_adapters() -> None:
    reaching = sorted(name for name, targets in graph().items()
                      if not name.startswith("ledger.event_store")
                      and any(t.startswith("ledger.event_store") for t in targets))
    assert reaching == ["ledger.core"]


def test_importing_the_ledger_loads_no_database_driver_or_settings_library() -> None:
    probe = "import sys, ledger; print(sorted(m for m in ('psycopg', 'sqlalchemy', 'pydantic') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_ledger_module_is_over_400_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}



def test_the_packages_docstring_names_each_of_its_modules_and_no_other() -> None:
    assert ledger.__doc__ is not None
    named = set(re.findall(r"^    ``(\w+)/?``", ledger.__doc__, flags=re.MULTILINE))
    present = {n.split(".")[1] for n in modules() if n.count(".") == 1}
    assert named == present | {"event_store"}


STORED_TOPICS = {
    "ledger.wallet:Wallet.WalletOpened", "ledger.wallet:Wallet.CreditsPurchased",
    "ledger.wallet:Wallet.CreditsRedeemed", "ledger.wallet:Wallet.ReferralBonusGranted",
    "ledger.wallet:Wallet.ShareBonusGranted", "ledger.wallet:Wallet.PromoCreditsGranted",
    "ledger.wallet:Wallet.CreditsAdjusted", "ledger.wallet:Wallet.HoldPlaced",
    "ledger.wallet:Wallet.HoldCaptured", "ledger.wallet:Wallet.HoldReleased", "ledger.wallet:Wallet.HoldExpired",
    "ledger.wallet:Wallet.CreditsExpired", "ledger.wallet:Wallet.PurchaseRefunded",
    "ledger.wallet:Wallet.ReferralReversed", "ledger.wallet:Wallet.SettingsChanged",
    "ledger.wallet:Wallet.WalletFrozen", "ledger.wallet:Wallet.WalletUnfrozen",
    "ledger.generation:Generation.GenerationRequested", "ledger.generation:Generation.GenerationStarted",
    "ledger.generation:Generation.GenerationCompleted", "ledger.generation:Generation.GenerationFailed",
    "ledger.generation:Generation.GenerationShared", "ledger.generation:Generation.GenerationUnshared",
    "ledger.generation:Generation.GenerationImageDeleted", "ledger.generation:Generation.GenerationTakenDown",
    "ledger.generation:Generation.GenerationReported", "ledger.generation:Generation.GenerationReportsDismissed",
    "ledger.standing:Standing.StandingOpened", "ledger.standing:Standing.TakedownUpheld",
    "ledger.standing:Standing.SharingSuspended", "ledger.standing:Standing.SharingRestored",
    "ledger.erasure:Erasure.LearnerErased",
    "ledger.reference:Reference.ReferenceRecorded",
    "ledger.template:Template.TemplateDrafted", "ledger.template:Template.TemplateDraftEdited",
    "ledger.template:Template.TemplatePublished", "ledger.template:Template.TemplateRetired",
    "ledger.template:Template.TemplateRestored",
    "ledger.recharge:Recharge.RechargeRequested", "ledger.recharge:Recharge.RechargeAttempted",
    "ledger.recharge:Recharge.RechargeConfirmed", "ledger.recharge:Recharge.RechargeDeclined",
    "ledger.recharge:Recharge.RechargeLapsed",
    "ledger.topup:TopUpPlan.PlanOpened", "ledger.topup:TopUpPlan.TopUpSet", "ledger.topup:TopUpPlan.TopUpStarted",
    "ledger.topup:TopUpPlan.TopUpEnded",
}


@pytest.mark.parametrize("topic", sorted(STORED_TOPICS))
def test_every_stored_event_topic_still_resolves_to_its_class(topic: str) -> None:
    cls = resolve_topic(topic)
    assert isinstance(cls, type)
    assert issubclass(cls, Aggregate.Event)
    assert get_topic(cls) == topic


def test_every_event_the_aggregates_declare_is_one_of_the_stored_topics() -> None:
    bases = {"Event", "Created", "Snapshot", "GrantEvent", "HoldResolution", "GrantClosed", "Freezing"}  # never stored
    declared = {
        get_topic(member)
        for aggregate in (Wallet, Generation, Reference, Template, Recharge, TopUpPlan, Standing, Erasure)
        for name, member in vars(aggregate).items()
        if isinstance(member, type) and issubclass(member, Aggregate.Event) and name not in bases
    }
    assert declared == STORED_TOPICS


def test_a_generations_finished_states_are_spelled_once() -> None:
    # Generation.is_finished (and FINISHED beside it) is the one predicate; a copy drifts when a state is added.
    spelled = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in ("ledger", "service", "projections", "api", "media")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != PACKAGE / "generation.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Tuple | ast.Set | ast.List)
        and {e.value for e in node.elts if isinstance(e, ast.Constant)} == {"completed", "failed"}
    ]
    assert spelled == []


def test_a_holds_pending_state_and_a_late_results_payment_are_each_tested_in_one_place() -> None:
    # Hold.is_pending and ledger.generation.is_paid are the predicates; a status compared by hand drifts.
    # (service/ has statuses of its own: a webhook delivery's and a platform debit's can be pending too.)
    spelled = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in ("ledger", "projections", "api")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in (PACKAGE / "values.py", PACKAGE / "generation.py")
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute)
        and (node.left.attr, *(c.value for c in node.comparators if isinstance(c, ast.Constant)))
        in (("status", "pending"), ("late", "written_off"))
    ]
    assert spelled == []


def test_no_step_takes_two_arguments_of_one_type_side_by_side_by_position() -> None:
    # close_grants(u, "payment", payment_id, "refund", ..., "purchase", at) passed the type checker with any
    # two strings swapped: past the unit and the aggregate's id, a step's arguments are keyword-only.
    side_by_side = [
        f"{path.name}:{node.name}({first.arg}, {second.arg})"
        for path in [*sorted(PACKAGE.glob("*steps.py")), PACKAGE / "recharging.py", PACKAGE / "erasure.py"]
        for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)
        for first, second in itertools.pairwise(node.args.posonlyargs + node.args.args)
        if first.annotation is not None and second.annotation is not None
        and ast.unparse(first.annotation) == ast.unparse(second.annotation)
    ]
    assert side_by_side == []

"""The shape of the ledger package: no import cycles, nothing but the standard library and
eventsourcing outside its store adapters, small modules, and event topics that never move."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

from ledger.erasure import Erasure
from ledger.generation import Generation
from ledger.reference import Reference
from ledger.standing import Standing
from ledger.template import Template
from ledger.wallet import Wallet

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ledger"
ALLOWED_OUTSIDE_STORE = {"eventsourcing", "ledger"}
MAX_LINES = 400


def module_name(path: Path) -> str:
    """The dotted name of a module file under the repository root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the ledger package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The modules ``name`` imports, anywhere in it (under TYPE_CHECKING and in functions too);
    ``from package import submodule`` counts as importing the submodule."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return found


def graph() -> dict[str, set[str]]:
    """Imports between the ledger's own modules."""
    found = modules()
    return {name: {m for m in imported(name, path, found) if m in found} for name, path in found.items()}


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module, or of one importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, set()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, set()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


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
        for name, path in found.items() if not name.startswith("ledger.store")
    }
    assert {name: mods for name, mods in foreign.items() if mods} == {}


def test_only_the_ledgers_storage_engine_reaches_the_store_adapters() -> None:
    reaching = sorted(name for name, targets in graph().items()
                      if not name.startswith("ledger.store") and any(t.startswith("ledger.store") for t in targets))
    assert reaching == ["ledger.core"]


def test_importing_the_ledger_loads_no_database_driver_or_settings_library() -> None:
    probe = "import sys, ledger; print(sorted(m for m in ('psycopg', 'sqlalchemy', 'pydantic') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_ledger_module_is_over_400_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


STORED_TOPICS = {
    "ledger.wallet:Wallet.WalletOpened", "ledger.wallet:Wallet.CreditsPurchased",
    "ledger.wallet:Wallet.CreditsRedeemed", "ledger.wallet:Wallet.ReferralBonusGranted",
    "ledger.wallet:Wallet.ShareBonusGranted", "ledger.wallet:Wallet.PromoCreditsGranted",
    "ledger.wallet:Wallet.CreditsAdjusted", "ledger.wallet:Wallet.HoldPlaced",
    "ledger.wallet:Wallet.HoldCaptured", "ledger.wallet:Wallet.HoldReleased", "ledger.wallet:Wallet.HoldExpired",
    "ledger.wallet:Wallet.CreditsExpired", "ledger.wallet:Wallet.PurchaseRefunded",
    "ledger.wallet:Wallet.ReferralReversed",
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
}


@pytest.mark.parametrize("topic", sorted(STORED_TOPICS))
def test_every_stored_event_topic_still_resolves_to_its_class(topic: str) -> None:
    cls = resolve_topic(topic)
    assert isinstance(cls, type)
    assert issubclass(cls, Aggregate.Event)
    assert get_topic(cls) == topic


def test_every_event_the_aggregates_declare_is_one_of_the_stored_topics() -> None:
    bases = {"Event", "Created", "Snapshot", "GrantEvent", "HoldResolution", "GrantClosed"}  # never stored
    declared = {
        get_topic(member)
        for aggregate in (Wallet, Generation, Reference, Template, Standing, Erasure)
        for name, member in vars(aggregate).items()
        if isinstance(member, type) and issubclass(member, Aggregate.Event) and name not in bases
    }
    assert declared == STORED_TOPICS

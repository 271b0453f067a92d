"""The layers hold: the import contract is complete and bites, adapters are registered.

``lint-imports`` (README's test command) checks the real code against the
contracts in pyproject.toml. These tests check the contracts themselves: they
cover every package the project installs, and each one reports an import
against the grain (on a small graph of the project's package names, so they do
not depend on the code of the day). Adapters are found through entry points,
and no module grows into a grab bag.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import api
from importlinter.contracts.layers import LayersContract

from adapters.startup.runners import (
    ENTRY_POINT_GROUP,
    UnknownAdapterError,
    build_runners,
    load_adapter,
    registered_adapters,
)
from bot.core.ports import RosterRegistry

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("adapters", "bot", "conversations", "storage")
MAX_MODULE_LINES = 400
# Modules standing for each part of the code in the small graph.
MODULES = (
    "adapters.startup.cli",
    "adapters.slack.runner",
    "adapters.telegram.runner",
    "adapters.console",
    "adapters.files",
    "bot.core.engine",
    "bot.delivery.dispatcher",
    "conversations.core.messages",
    "conversations.quickscan.walkthrough",
    "storage.db",
    "storage.delivery.outbox",
)
ALLOWED = (
    ("adapters.startup.cli", "adapters.console"),
    ("adapters.startup.cli", "adapters.slack.runner"),
    ("adapters.startup.cli", "adapters.telegram.runner"),
    ("adapters.slack.runner", "adapters.files"),
    ("adapters.telegram.runner", "bot.core.engine"),
    ("adapters.console", "conversations.core.messages"),
    ("bot.core.engine", "conversations.quickscan.walkthrough"),
    ("bot.delivery.dispatcher", "storage.delivery.outbox"),
    ("conversations.quickscan.walkthrough", "storage.db"),
)
AGAINST_THE_GRAIN = (
    ("storage.db", "conversations.core.messages"),
    ("storage.delivery.outbox", "bot.delivery.dispatcher"),
    ("conversations.quickscan.walkthrough", "bot.core.engine"),
    ("bot.core.engine", "adapters.console"),
    ("bot.delivery.dispatcher", "adapters.startup.cli"),
    ("adapters.slack.runner", "adapters.telegram.runner"),
    ("adapters.telegram.runner", "adapters.console"),
    ("adapters.console", "adapters.slack.runner"),
    ("adapters.telegram.runner", "adapters.startup.cli"),
    ("adapters.files", "adapters.slack.runner"),
)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The import contracts as import-linter reads them from pyproject.toml."""
    return api.read_configuration(str(ROOT / "pyproject.toml"))


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for module in MODULES:
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            graph.add_module(".".join(parts[:depth]))
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    return graph


def _broken(config: dict[str, Any], graph: grimp.ImportGraph) -> list[str]:
    """The names of the contracts ``graph`` breaks."""
    broken = []
    for options in config["contracts_options"]:
        assert options["type"] == "layers", "only layer contracts are checked here"
        contract = LayersContract(
            name=options["name"],
            session_options=config["session_options"],
            contract_options=options,
        )
        if not contract.check(graph, verbose=False).kept:
            broken.append(options["name"])
    return broken


def test_the_contract_covers_every_installed_package(config: dict[str, Any]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(name.rstrip("*") for name in installed) == sorted(PACKAGES)
    assert sorted(config["session_options"]["root_packages"]) == sorted(PACKAGES)
    layers = config["contracts_options"][0]
    assert layers["layers"] == ["adapters", "bot", "conversations", "storage"]


def test_imports_with_the_grain_keep_the_contracts(config: dict[str, Any]) -> None:
    assert _broken(config, _graph(*ALLOWED)) == []


@pytest.mark.parametrize(("importer", "imported"), AGAINST_THE_GRAIN)
def test_an_import_against_the_grain_breaks_a_contract(
    config: dict[str, Any], importer: str, imported: str
) -> None:
    assert _broken(config, _graph(*ALLOWED, (importer, imported)))


def test_the_test_command_checks_the_contracts() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    command = readme[4]  # the second line of the first code block
    assert command.startswith("python3 -m venv .venv && ")
    assert "&& .venv/bin/lint-imports " in command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in ci, ".ci/run runs the README's test command verbatim"


def test_the_platform_adapters_are_registered_entry_points() -> None:
    registered = registered_adapters()
    assert {"slack", "telegram"} <= set(registered)
    for platform in ("slack", "telegram"):
        factory = load_adapter(platform)
        parameters = inspect.signature(factory).parameters
        for name in ("engine", "rosters", "environ"):
            assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, (platform, name)
        assert callable(getattr(factory, "run_forever", None)), platform
        assert callable(getattr(factory, "stop", None)), platform
        assert registered[platform].group == ENTRY_POINT_GROUP


def test_an_unregistered_platform_is_named_with_the_installed_ones() -> None:
    with pytest.raises(UnknownAdapterError, match=r"'matrix' \(installed: .*slack"):
        load_adapter("matrix")
    with pytest.raises(ValueError, match="no adapter is installed"):
        build_runners(
            platforms=["matrix"],
            engine=None,  # type: ignore[arg-type]  # never reached: the lookup fails first
            rosters=RosterRegistry(),
            environ={},
        )


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_module_is_a_grab_bag() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these by responsibility (over {MAX_MODULE_LINES} lines): {long}"

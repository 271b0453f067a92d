"""What ``quickscan serve`` needs from a platform adapter, and where it finds them.

``quickscan run`` gives every adapter a thread and a loop of its own
(:mod:`adapters.startup.runners`). ``quickscan serve`` instead hosts them all in
one ASGI application on one event loop, so an adapter offers its routes and
three steps the server takes at start and stop (:class:`WebAdapter`).

Adapters are found through entry points, as for ``quickscan run``, in the group
``quickscan.web``: an installed package adds a platform by naming a factory
there, and the start-up code never imports an adapter module by name
(pyproject.toml registers Slack and Telegram).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol

from starlette.routing import BaseRoute

from adapters.startup.runners import UnknownAdapterError
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry

WEB_ENTRY_POINT_GROUP = "quickscan.web"


class WebAdapter(Protocol):
    """A platform as the ASGI server hosts it.

    The server calls, in this order: :meth:`start` once before the first
    request; at the stop :meth:`close_intake`, then (after the scheduler
    stopped) :meth:`stop`. All three run on the server's event loop.
    """

    @property
    def routes(self) -> Sequence[BaseRoute]:
        """The platform's endpoints (Slack's request URL, Telegram's webhook path)."""
        ...

    async def start(self) -> None:
        """Connect (check tokens, register a webhook) and start the delivery dispatcher."""
        ...

    async def close_intake(self) -> None:
        """Take no new event (the platform delivers it again); finish those in hand."""
        ...

    async def stop(self) -> None:
        """Let the dispatcher finish the sends in flight and release everything."""
        ...


class WebAdapterFactory(Protocol):
    """What an entry point of the ``quickscan.web`` group names (an adapter class)."""

    def __call__(
        self, *, engine: Engine, rosters: RosterRegistry, environ: Mapping[str, str]
    ) -> WebAdapter:
        """Read the platform's configuration and build the adapter (nothing runs yet)."""
        ...


def registered_web_adapters() -> dict[str, EntryPoint]:
    """The adapters ``quickscan serve`` can host, by platform name (not imported yet)."""
    return {point.name: point for point in entry_points(group=WEB_ENTRY_POINT_GROUP)}


def build_web_adapters(
    *,
    platforms: Sequence[str],
    engine: Engine,
    rosters: RosterRegistry,
    environ: Mapping[str, str] | None = None,
) -> list[WebAdapter]:
    """One adapter per configured platform, in the order given.

    Raises:
        ValueError: a platform has no web adapter, or its configuration is
            incomplete (the message says which variable).
    """
    known = registered_web_adapters()
    factories: list[WebAdapterFactory] = []
    for platform in platforms:
        point = known.get(platform)
        if point is None:
            names = ", ".join(sorted(known))
            msg = f"quickscan serve cannot host platform {platform!r} (it hosts: {names})"
            raise UnknownAdapterError(msg)
        factories.append(point.load())
    env = os.environ if environ is None else environ
    return [factory(engine=engine, rosters=rosters, environ=env) for factory in factories]

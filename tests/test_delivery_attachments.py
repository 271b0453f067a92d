"""The renderer registry: each attachment kind made into an image or a file at delivery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.delivery.attachments import AttachmentRenderers, NoRendererError, Slot
from conversations.core.messages import Attachment, AttachmentKind, Destination, Outbound

CHANNEL = Destination.team_channel(team="C-1")


def _chart(folder: Path) -> tuple[list[dict[str, str]], Callable[..., Path]]:
    calls: list[dict[str, str]] = []

    def render(**args: str) -> Path:
        calls.append(args)
        path = folder / f"chart-{args['round_id']}.png"
        path.write_bytes(b"png")
        return path

    return calls, render


def test_a_chart_becomes_the_image_and_an_export_the_file(tmp_path: Path) -> None:
    renderers = AttachmentRenderers()
    calls, chart = _chart(tmp_path)
    renderers.register(kind=AttachmentKind.QUICKSCAN_CHART, render=chart)
    renderers.register(
        kind=AttachmentKind.QUICKSCAN_EXPORT, render=lambda **_: tmp_path / "export.xlsx"
    )
    attachment = Attachment(kind=AttachmentKind.QUICKSCAN_CHART, args=(("round_id", "7"),))

    with_chart = renderers.render(Outbound(destination=CHANNEL, text="t", attachment=attachment))
    with_export = renderers.render(
        Outbound(
            destination=CHANNEL,
            text="t",
            attachment=Attachment(kind=AttachmentKind.QUICKSCAN_EXPORT),
        )
    )

    assert calls == [{"round_id": "7"}]
    assert with_chart.image == tmp_path / "chart-7.png"
    assert with_chart.file is None
    assert with_chart.attachment == attachment
    assert with_export.file == tmp_path / "export.xlsx"
    assert with_export.image is None


def test_the_slot_can_be_chosen(tmp_path: Path) -> None:
    renderers = AttachmentRenderers()
    renderers.register(
        kind=AttachmentKind.QUICKSCAN_CHART, render=lambda **_: tmp_path / "c.png", slot=Slot.FILE
    )
    message = Outbound(
        destination=CHANNEL, text="t", attachment=Attachment(kind=AttachmentKind.QUICKSCAN_CHART)
    )

    assert renderers.render(message).file == tmp_path / "c.png"


def test_a_message_without_attachment_is_untouched() -> None:
    message = Outbound(destination=CHANNEL, text="t")
    assert AttachmentRenderers().render(message) is message


def test_a_kind_without_renderer_is_an_error() -> None:
    message = Outbound(
        destination=CHANNEL, text="t", attachment=Attachment(kind=AttachmentKind.MEMBER_DATA)
    )
    with pytest.raises(NoRendererError):
        AttachmentRenderers().render(message)


def test_a_kind_is_registered_once(tmp_path: Path) -> None:
    renderers = AttachmentRenderers()
    renderers.register(kind=AttachmentKind.CHECKLIST_EXPORT, render=lambda **_: tmp_path)
    with pytest.raises(ValueError, match="already registered"):
        renderers.register(kind=AttachmentKind.CHECKLIST_EXPORT, render=lambda **_: tmp_path)

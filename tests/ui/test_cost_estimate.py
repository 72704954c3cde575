"""The window's cost line is the render layer's estimate: each scene's request as the provider
prepares it (the model, the reference images it sends at the scene's strength, what each one
adds), times the takes; and it is the same figure the queue then asks to confirm."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.request import Stage
from studio.core.sheet import Scene


def _reference(path: Path, colour: str, role: ReferenceRole) -> ReferenceImage:
    Image.new("RGB", (256, 256), colour).save(path)
    return ReferenceImage(hashlib.sha256(path.read_bytes()).hexdigest(), role, str(path))


def test_the_cost_line_is_the_queues_estimate_with_references_and_takes(  # type: ignore[no-untyped-def]
        make_window, services, dialogs, qtbot, tmp_path: Path) -> None:
    # Black Forest Labs bills each input image; nothing is sent (the batch is declined).
    services.environ = {**services.environ, "STUDIO_BFL_API_KEY": "k" * 32,
                        "STUDIO_BFL_BASE_URL": "http://127.0.0.1:9"}
    window = make_window()
    refs = (_reference(tmp_path / "face.png", "#c08060", ReferenceRole.FACE),
            _reference(tmp_path / "body.png", "#406080", ReferenceRole.FULL_BODY))
    doc = window.document
    sheet = doc.sheet
    character = replace(sheet.character, references=refs)
    scenes = (Scene(name="Strong", setting="a street"),
              Scene(name="Light", setting="a cafe", reference=ReferenceStrength.LIGHT),
              Scene(name="Off", setting="a park", reference=ReferenceStrength.OFF))
    sheet = replace(sheet, character=character, scenes=scenes,
                    preview=replace(sheet.preview, provider="bfl", model="flux-2-klein-4b"))
    doc.apply(sheet, "Price the batch")
    renderer = window.renderer
    # FLUX.2 klein: 0.014 an image and 0.001 an input image; strong sends both references,
    # light one, off none.
    one_take = (0.014 + 2 * 0.001) + (0.014 + 0.001) + 0.014
    batch = renderer.estimate(Stage.PREVIEW)
    assert (batch.requests, batch.cost) == (3, pytest.approx(one_take))
    window.takes_box.setValue(2)
    batch = renderer.estimate(Stage.PREVIEW, renderer.takes)
    assert (batch.requests, batch.cost) == (6, pytest.approx(2 * one_take))
    assert f"Previews: ≈ {2 * one_take:.2f}" in window.cost_label.text()
    assert batch.sentence() in window.actions_by_name["preview_all"].toolTip()

    # The queue plans the same batch and asks about the same figure (declined: nothing sent).
    asked: list[str] = []

    def confirm(parent, title: str, text: str) -> bool:  # type: ignore[no-untyped-def]
        asked.append(text)
        return False

    dialogs.confirm = confirm
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: bool(asked), timeout=20000)
    assert batch.sentence() in asked[0]
    assert all(window.model.cell(n).preview.state is None for n in window.model.names())

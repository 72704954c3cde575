"""The reference strip of the character panel and the per-scene strength of the Scene panel, driven
through the real widgets: files dropped as a file manager drops them (QMimeData with file URLs),
Add… with a chooser, the role combo, the arrows, remove; each change one undo step, saved in
the sheet file with paths relative to it, and a bad file one sentence."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.core.anchor import ReferenceRole, ReferenceStrength
from studio.core.sheet import load_sheet
from studio.ui.reference_strip import TILE_MIME, ReferenceStrip
from tests.ui.test_screenshots import palette  # noqa: F401  (the light and dark palettes)


def image(path: Path, colour: str, size: tuple[int, int] = (96, 128)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def drop(widget, mime: QMimeData, at: QPoint | None = None) -> bool:  # type: ignore[no-untyped-def]
    """Drag ``mime`` over ``widget`` and drop it there, as Qt delivers a drag from a file
    manager; whether the drop was taken."""
    point = at if at is not None else widget.rect().center()
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(point), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def file_drop(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


@pytest.fixture
def window(make_window, services, qtbot):  # type: ignore[no-untyped-def]
    services.render = False  # editing only
    return make_window()


def strip_of(window) -> ReferenceStrip:  # type: ignore[no-untyped-def]
    strip = window.character_panel.reference_strip
    assert strip is not None
    return strip


def wait_checked(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not window.references.busy)


def test_drop_images_then_role_order_remove_each_one_undo_step(  # type: ignore[no-untyped-def]
        window, qtbot, tmp_path: Path) -> None:
    face = image(tmp_path / "refs" / "face.png", "#c08060")
    body = image(tmp_path / "refs" / "body.jpg", "#406080")
    strip = strip_of(window)
    doc = window.document
    steps = doc.undo_stack.count()

    assert drop(strip, file_drop(face, body))
    wait_checked(qtbot, window)
    refs = doc.sheet.character.references
    assert [Path(r.path).name for r in refs] == ["face.png", "body.jpg"]
    assert [r.role for r in refs] == [ReferenceRole.FACE, ReferenceRole.FACE]
    assert all(len(r.sha256) == 64 for r in refs)
    assert doc.undo_stack.count() == steps + 1  # both files: one step
    assert len(strip.tiles) == 2 and strip.drop_zone.isVisible()

    # the role combo of the second tile
    combo = strip.tiles[1].role
    combo.setCurrentIndex(combo.findData(ReferenceRole.FULL_BODY.value))
    combo.activated.emit(combo.currentIndex())
    assert doc.sheet.character.references[1].role is ReferenceRole.FULL_BODY
    # the arrow moves it first
    qtbot.mouseClick(strip.tiles[1].left, Qt.MouseButton.LeftButton)
    assert [Path(r.path).name for r in doc.sheet.character.references] == ["body.jpg",
                                                                             "face.png"]
    assert not strip.tiles[0].left.isEnabled() and not strip.tiles[1].right.isEnabled()
    # remove
    qtbot.mouseClick(strip.tiles[0].remove, Qt.MouseButton.LeftButton)
    assert [Path(r.path).name for r in doc.sheet.character.references] == ["face.png"]
    assert doc.undo_stack.count() == steps + 4
    # undo walks back one change at a time
    doc.undo_stack.undo()
    assert len(doc.sheet.character.references) == 2 and len(strip.tiles) == 2
    doc.undo_stack.undo()
    assert [Path(r.path).name for r in doc.sheet.character.references] == ["face.png",
                                                                             "body.jpg"]


def test_a_thumbnail_dropped_on_another_takes_its_place(  # type: ignore[no-untyped-def]
        window, qtbot, tmp_path: Path) -> None:
    files = [image(tmp_path / f"{c}.png", c) for c in ("red", "green", "blue")]
    strip = strip_of(window)
    drop(strip, file_drop(*files))
    wait_checked(qtbot, window)
    strip.grab()  # lay the tiles out
    mime = QMimeData()
    mime.setData(TILE_MIME, b"2")
    drop(strip, mime, strip.tiles[0].geometry().translated(strip.flow_box.pos()).center())
    names = [Path(r.path).stem for r in window.document.sheet.character.references]
    assert names == ["blue", "red", "green"]


def test_add_button_and_the_limit_of_four(window, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = [image(tmp_path / f"r{i}.png", c) for i, c in
             enumerate(("red", "green", "blue", "white", "black"))]
    strip = strip_of(window)
    strip.choose_files = lambda parent: files[:3]
    qtbot.mouseClick(strip.add_button, Qt.MouseButton.LeftButton)
    wait_checked(qtbot, window)
    assert len(window.document.sheet.character.references) == 3
    drop(strip, file_drop(*files[3:]))  # two more where one fits
    assert "Only 1 more" in strip.error.text() and strip.error.isVisible()
    assert len(window.document.sheet.character.references) == 3
    drop(strip, file_drop(files[3]))
    wait_checked(qtbot, window)
    assert len(window.document.sheet.character.references) == 4
    assert not strip.drop_zone.isVisible()
    assert not strip.error.isVisible()


@pytest.mark.parametrize("content, words", [
    (b"hello, not an image", "not an image the studio reads"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image the studio can read"),
])
def test_a_bad_file_is_one_sentence_and_changes_nothing(  # type: ignore[no-untyped-def]
        window, qtbot, tmp_path: Path, content: bytes, words: str) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(content)
    strip = strip_of(window)
    steps = window.document.undo_stack.count()
    drop(strip, file_drop(bad))
    wait_checked(qtbot, window)
    text = strip.error.text()
    assert strip.error.isVisible() and "broken.png" in text and words in text
    assert text.count(". ") == 0 and text.endswith(".")  # one sentence
    assert "Traceback" not in text
    assert window.document.sheet.character.references == ()
    assert window.document.undo_stack.count() == steps


def test_saved_paths_are_relative_to_the_sheet_and_load_again(  # type: ignore[no-untyped-def]
        window, qtbot, tmp_path: Path, dialogs) -> None:
    folder = tmp_path / "work"
    face = image(folder / "refs" / "face.png", "#c08060")
    strip = strip_of(window)
    drop(strip, file_drop(face))
    wait_checked(qtbot, window)
    assert Path(window.document.sheet.character.references[0].path).is_absolute()  # unsaved
    sheet_path = folder / "emma.sheet.toml"
    dialogs.save_paths.append(sheet_path)
    assert window.session.save_as()
    data = tomllib.loads(sheet_path.read_text(encoding="utf-8"))
    assert data["character"]["references"] == [{"image": "refs/face.png", "role": "face"}]
    assert window.document.sheet.character.references[0].path == "refs/face.png"
    loaded = load_sheet(sheet_path, window.document.catalog)
    assert loaded.character.references == window.document.sheet.character.references
    # the strip still finds the file (now relative to the sheet)
    assert strip.tiles and window.references.file_of(
        window.document.sheet.character.references[0]) == folder / "refs" / "face.png"


def test_the_scene_strength_combo(window, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    editor = window.scene_editor
    name = window.document.scene_names()[0]
    window.grid.select_name(name)
    combo = editor.strength_combo
    assert not combo.isEnabled() and "Add reference images" in combo.toolTip()
    assert combo.currentData() == "off"  # nothing to send
    drop(strip_of(window), file_drop(image(tmp_path / "face.png", "#c08060")))
    wait_checked(qtbot, window)
    assert combo.isEnabled()
    assert combo.currentData() == "strong" and "the default" in combo.toolTip()
    steps = window.document.undo_stack.count()
    combo.setCurrentIndex(combo.findData("light"))
    combo.activated.emit(combo.currentIndex())
    scene = window.document.sheet.scene(name)
    assert scene is not None and scene.reference is ReferenceStrength.LIGHT
    assert window.document.undo_stack.count() == steps + 1
    combo.setCurrentIndex(combo.findData("off"))
    combo.activated.emit(combo.currentIndex())
    assert "sends 0 of 1" in combo.toolTip()
    window.document.undo_stack.undo()
    assert combo.currentData() == "light"



def test_the_scene_panel_shortens_the_reference_clause(  # type: ignore[no-untyped-def]
        window, qtbot, tmp_path: Path, shot, palette: str) -> None:  # noqa: F811
    """"Prompt sent" opens with the clause shortened as the inspector and viewer show it; the
    whole clause is in its tooltip."""
    name = window.document.scene_names()[0]
    window.grid.select_name(name)
    drop(strip_of(window), file_drop(image(tmp_path / "a.png", "#c08060"),
                                     image(tmp_path / "b.png", "#6080c0")))
    wait_checked(qtbot, window)
    shown = window.scene_editor.prompt_view.toPlainText()
    assert shown.startswith("[the woman from 2 reference images], Emma"), shown
    assert "from images 1 and 2" not in shown and "with the face" not in shown
    tip = window.scene_editor.prompt_view.toolTip()
    assert "Sent as: the woman with the face from images 1 and 2" in tip
    shot(window.scene_editor, f"scene-panel-references-{palette}.png")

class _PricedProvider:
    """A provider whose model bills each reference image (as BFL's do)."""

    id = "bfl"
    configured = True

    def capabilities(self, model: str):  # type: ignore[no-untyped-def]
        from studio.core.capabilities import ModelCapabilities, reference_support

        return ModelCapabilities(provider="bfl", model=model,
                                 references=reference_support("bfl", model))

    def default_model(self, stage):  # type: ignore[no-untyped-def]
        return "flux-2-pro"

    def prepare(self, request):  # type: ignore[no-untyped-def]
        from studio.core.references import fit_references  # as every provider's adapt step

        fit = fit_references(request, self.capabilities(request.model))
        return fit.request, fit.notes


def test_what_references_add_to_a_batch(window, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from studio.core.request import Stage
    from studio.core.settings import Settings
    from studio.ui.viewmodels.references import reference_cost

    drop(strip_of(window), file_drop(image(tmp_path / "a.png", "red"),
                                     image(tmp_path / "b.png", "blue")))
    wait_checked(qtbot, window)
    sheet = window.document.sheet
    light = sheet.scenes[0].name
    sheet = sheet.with_scenes(tuple(
        replace(s, reference=ReferenceStrength.LIGHT) if s.name == light else
        replace(s, reference=ReferenceStrength.OFF) if i == 1 else s
        for i, s in enumerate(sheet.scenes)))
    sheet = replace(sheet, final=replace(sheet.final, provider="bfl", model="flux-2-pro"))
    providers = {"bfl": _PricedProvider(), "offline": _PricedProvider()}
    cost = reference_cost(sheet, Stage.FINAL, window.document.catalog, providers, Settings())
    # light sends one (face first), off none, strong both: 1 + 0 + 2 + 2
    assert (cost.images, cost.scenes) == (5, 3)
    assert cost.cost == pytest.approx(5 * 0.015)
    assert cost.sentence() == "References: 5 reference images over 3 scenes add about 0.07."


def test_what_references_add_on_black_forest_labs(tmp_path: Path) -> None:
    """The real bfl provider prepares each request: light sends one picture, strong both, at
    the price BFL bills per input image (no network: nothing is sent to estimate)."""
    import asyncio
    from dataclasses import replace

    from studio.core.anchor import ReferenceImage
    from studio.core.presets import load_catalog
    from studio.core.request import Stage
    from studio.core.settings import ProviderEnv, Settings
    from studio.core.sheet import Character, Scene, Sheet
    from studio.providers.registry import build_providers
    from studio.ui.viewmodels.references import reference_cost

    settings = Settings()
    providers = build_providers({"bfl": ProviderEnv(api_key="k" * 32)}, settings, tmp_path,
                                keychain=None)
    try:
        refs = (ReferenceImage("a" * 64, ReferenceRole.FACE),
                ReferenceImage("b" * 64, ReferenceRole.FULL_BODY))
        sheet = Sheet(character=Character(name="Emma", anchor="Emma, 30-year-old woman",
                                          seed=1, references=refs),
                      scenes=(Scene(name="One", setting="a street"),
                              Scene(name="Two", setting="a cafe",
                                    reference=ReferenceStrength.LIGHT),
                              Scene(name="Three", setting="a park",
                                    reference=ReferenceStrength.OFF)))
        sheet = replace(sheet, final=replace(sheet.final, provider="bfl", model="flux-2-pro"))
        cost = reference_cost(sheet, Stage.FINAL, load_catalog(), providers, settings)
        assert (cost.images, cost.scenes, cost.model) == (3, 2, "flux-2-pro")
        assert cost.cost == pytest.approx(3 * 0.015)
    finally:
        async def close() -> None:
            for provider in providers.values():
                await provider.aclose()

        asyncio.run(close())

"""The compare window's captions (which image is A, which is B, and the zoom) sit in a line above
the images in both modes, never over them: the pixels of the image area are the same whatever
the captions say, and the caption widgets do not overlap the image widgets. Screenshots of both
modes in a light and a dark palette."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from studio.ui.compare import CompareSide, CompareView
from tests.ui.test_background import background  # noqa: F401  (the helper, closed after)
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)


@pytest.fixture
def compare(background, qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]  # noqa: F811
    # Pale images: a white caption drawn on them would change their pixels.
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (640, 480), "#f0e6d2").save(a)
    Image.new("RGB", (640, 480), "#d2e6f0").save(b)
    view = CompareView(background)
    view.resize(1000, 640)
    view.show()
    qtbot.waitExposed(view)
    view.show_images("Market vs Harbour", CompareSide("A · Market · preview", a),
                     CompareSide("B · Harbour · final", b))
    qtbot.waitUntil(lambda: not view.busy and view.left.has_image() and view.right.has_image())
    yield view
    view.close()
    view.deleteLater()


def _area(widget: QWidget, top: QWidget) -> QRect:
    return QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())


def test_side_by_side_captions_sit_above_the_images(compare, qtbot, shot, palette) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    left, right = compare.captions
    assert left.text().startswith("A · Market · preview") and left.text().endswith("%")
    assert right.text().startswith("B · Harbour · final")
    for caption, view in ((left, compare.left), (right, compare.right)):
        assert caption.isVisible()
        caption_area, image_area = _area(caption, compare), _area(view, compare)
        assert not caption_area.intersects(image_area)
        assert caption_area.bottom() < image_area.top()
    # The image area shows the image only: what the captions say changes none of its pixels.
    before = compare.left.viewport().grab().toImage()
    compare.left.caption = "X" * 60
    compare.left.viewport().repaint()
    assert compare.left.viewport().grab().toImage() == before
    compare.left.caption = "A · Market · preview"
    # The zoom follows in the caption; the other side follows the zoom too.
    compare.left.set_zoom(2.0)
    assert left.text().endswith("200%") and right.text().endswith("200%")
    compare.fit()
    compare.press("swap")
    assert compare.captions[0].text().startswith("B · Harbour · final")
    shot(compare, f"compare-captions-side-by-side-{palette}.png")


def test_slider_captions_sit_above_the_images(compare, qtbot, shot, palette) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    compare.press("mode")
    assert compare.stack.currentIndex() == 1
    slider = compare.slider
    a, b = compare.slider_captions
    qtbot.waitUntil(lambda: a.isVisible() and b.isVisible())
    assert a.text() == "◀ A · Market · preview"
    assert b.text() == "B · Harbour · final ▶"
    image_area = _area(slider, compare)
    for caption in (a, b, compare.slider_zoom):
        assert _area(caption, compare).bottom() < image_area.top()
    # Nothing but the images and the divider is painted: long captions change no pixel.
    before = slider.grab().toImage()
    slider.labels = ("A · " + "very long caption " * 6, "B · " + "very long caption " * 6)
    slider.repaint()
    assert slider.grab().toImage() == before
    slider.labels = ("A · Market · preview", "B · Harbour · final")
    # The wheel zooms, and the zoom between the captions follows.
    zoom = slider.zoom
    centre = QPointF(slider.rect().center())
    QApplication.sendEvent(slider, QWheelEvent(
        centre, slider.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False))
    assert slider.zoom > zoom
    assert compare.slider_zoom.text() == f"{slider.zoom * 100:.0f}%"
    compare.fit()
    slider.split = 0.4
    slider.update()
    shot(compare, f"compare-captions-slider-{palette}.png")

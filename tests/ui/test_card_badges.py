"""The marks over the cards' images, in the real window: each render's identity badge (distance,
colour by verdict, "?" when not scorable, the reasoning in its tooltip), scored off the GUI
thread and refreshed when an approval changes the character's identity; the references badge;
identity scoring unavailable said once; an uncertain job's "Send again…" (after a confirmation)
and "Forget" clicked on the card; a rate-limit wait on the card and the status line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.identity import IdentityRules, Verdict, face_distance
from studio.ui import card_badges
from studio.ui.scene_delegate import card_layout
from tests.ui.conftest import hashed_face, settle_images


def previews_done(window) -> bool:  # type: ignore[no-untyped-def]
    model = window.model
    return all(model.cell(n).preview.done for n in model.names())


def scored(window) -> bool:  # type: ignore[no-untyped-def]
    facts = window.render_facts
    return not facts.busy and all(
        facts.score_of(n, Stage.PREVIEW) is not None for n in window.model.names())


def scored_but(window, skipped: str) -> bool:  # type: ignore[no-untyped-def]
    facts = window.render_facts
    return not facts.busy and all(facts.score_of(n, Stage.PREVIEW) is not None
                                  for n in window.model.names() if n != skipped)


def settle_cards(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Images decoded and every card drawn anew (a frame over its drawing budget shows some
    cards as they were a moment ago and draws them in the next)."""
    settle_images(qtbot, window)
    frames = [window.grid.viewport().grab().toImage()]

    def still() -> bool:
        frames.append(window.grid.viewport().grab().toImage())
        return frames[-1] == frames[-2]

    qtbot.waitUntil(still)


def slot_rect(window, name: str, stage: Stage):  # type: ignore[no-untyped-def]
    grid = window.grid
    rect = grid.visualRect(window.model.index(window.model.row_of(name)))
    return card_layout(rect).slots[stage]


def test_identity_badges_follow_the_identity_source(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot) -> None:
    window = make_window()  # first start: the example's previews render offline
    model = window.model
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    qtbot.waitUntil(lambda: scored(window), timeout=20000)
    # No reference images and nothing approved: no identity, so nothing is called drifted.
    for name in model.names():
        score = window.render_facts.score_of(name, Stage.PREVIEW)
        assert score is not None and score.verdict is Verdict.NOT_SCORABLE
        assert score.distance is None and "no identity yet" in score.explanation
    assert card_badges.identity_text(window.render_facts.fact(
        model.cell(model.names()[0]).preview.render_id)) == "?"

    # Approving a preview makes it the identity: every card is scored against it.
    first = model.names()[0]
    window.grid.select_name(first)
    revision = window.render_facts.revision
    window.actions_by_name["approve"].trigger()
    qtbot.waitUntil(lambda: window.render_facts.revision > revision
                    and window.render_facts.score_of(first, Stage.PREVIEW) is not None
                    and window.render_facts.score_of(first, Stage.PREVIEW).distance is not None,
                    timeout=20000)
    qtbot.waitUntil(lambda: scored(window), timeout=20000)
    approved = model.cell(first).preview.image
    identity = hashed_face(Path(approved).read_bytes()).descriptor
    rules = IdentityRules()
    for name in model.names():
        score = window.render_facts.score_of(name, Stage.PREVIEW)
        image = hashed_face(Path(model.cell(name).preview.image).read_bytes())
        expected = face_distance(image.descriptor, identity)
        assert score is not None and score.distance is not None
        assert math.isclose(score.distance, expected, abs_tol=1e-9)
        assert score.verdict is rules.judge(expected)
    assert window.render_facts.score_of(first, Stage.PREVIEW).distance == pytest.approx(0)
    assert window.render_facts.source is not None
    assert window.render_facts.source.kind.value == "approved"

    # The badge's tooltip gives the reasoning; its colour is the verdict's.
    settle_cards(qtbot, window)
    other = model.names()[1]
    fact = window.render_facts.fact(model.cell(other).preview.render_id)
    text = card_badges.identity_text(fact)
    assert text == f"{fact.score.distance:.2f}"
    rect = card_badges.identity_rect(slot_rect(window, other, Stage.PREVIEW), text)
    tip = card_badges.tooltip_at(other, {Stage.PREVIEW: slot_rect(window, other, Stage.PREVIEW)},
                                 model.cell(other), window.delegate.badges, rect.center())
    assert tip is not None and fact.score.verdict.value in tip and "distance" in tip
    picture = window.grid.viewport().grab().toImage()
    ratio = picture.devicePixelRatio()
    inside = QPoint(rect.left() + 3, rect.center().y())
    colour = picture.pixelColor(round(inside.x() * ratio), round(inside.y() * ratio))
    wanted = card_badges.VERDICT_COLOURS[fact.score.verdict.value]
    assert colour.name() == wanted
    # The inspector shows the figures.
    window.grid.select_name(other)
    window.inspector_dock.raise_()
    qtbot.waitUntil(lambda: window.inspector.record is not None
                    and window.inspector.record.id == fact.render_id)
    figures = window.inspector.values["Identity"].text()
    assert figures == (f"{fact.score.verdict.value}: distance {fact.score.distance:.3f} from "
                       "the approved renders (1 face); same person under 0.60")
    assert window.inspector.values["References"].text() == "none"
    shot(window, "identity-badges.png")


def test_unavailable_identity_is_said_once_and_the_rest_works(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, monkeypatch) -> None:
    import studio.identity

    sentence = ("identity scoring is not available on this system (dlib cannot be loaded); "
                "everything else works as usual")
    monkeypatch.setattr(studio.identity, "identity_unavailable_reason", lambda: sentence)
    services.identity_analyser = None
    window = make_window()
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    qtbot.waitUntil(lambda: not window.render_facts.busy
                    and bool(window.render_facts.unavailable_reason), timeout=20000)
    assert window.render_facts.unavailable_reason.startswith("Identity scoring is not "
                                                             "available")
    assert "Identity scoring is not available" in window.messages.text
    said: list[str] = []
    window.render_facts.unavailable.connect(said.append)
    window.grid.select_name(window.model.names()[0])
    window.actions_by_name["approve"].trigger()  # more library changes: not said again
    qtbot.waitUntil(lambda: window.render_facts.revision > 0 and not window.render_facts.busy)
    assert said == []
    for name in window.model.names():
        assert window.render_facts.score_of(name, Stage.PREVIEW) is None
        assert window.render_facts.fact(window.model.cell(name).preview.render_id) is not None


def test_references_badge_on_cards_rendered_with_references(  # type: ignore[no-untyped-def]
        make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    face = tmp_path / "face.png"
    Image.new("RGB", (128, 128), "#c08060").save(face)
    window.references.add_files([face])
    qtbot.waitUntil(lambda: bool(window.document.sheet.character.references))
    # The cost line says what the references add to each stage's batch.
    count = len(window.model.names())
    assert (f"References: {count} reference images over {count} scenes; placeholder lists no "
            "extra price for them.") in window.status.cost_label.toolTip()
    name = window.model.names()[0]
    before = window.model.cell(name).preview
    assert not card_badges.has_references(before, window.render_facts.fact(before.render_id))
    window.renderer.preview([name])
    qtbot.waitUntil(lambda: window.model.cell(name).preview.done
                    and window.model.cell(name).preview.render_id != before.render_id,
                    timeout=30000)
    qtbot.waitUntil(lambda: window.render_facts.fact(
        window.model.cell(name).preview.render_id) is not None, timeout=20000)
    slot = window.model.cell(name).preview
    fact = window.render_facts.fact(slot.render_id)
    assert fact is not None and len(fact.references) == 1
    assert card_badges.has_references(slot, fact)
    rect = slot_rect(window, name, Stage.PREVIEW)
    tip = card_badges.tooltip_at(name, {Stage.PREVIEW: rect}, window.model.cell(name),
                                 window.delegate.badges,
                                 card_badges.references_rect(rect).center())
    assert tip == "Rendered with 1 reference image (face), strength strong."
    # The reference image has a face: it becomes the identity.
    qtbot.waitUntil(lambda: window.render_facts.source is not None
                    and window.render_facts.source.kind.value == "references", timeout=20000)


def make_uncertain(window, qtbot, name: str) -> int:  # type: ignore[no-untyped-def]
    """A job of ``name``'s preview left *sending* (a crash while its request was on the way),
    then picked up: it becomes uncertain, as after a restart."""
    library = window.library
    done = window.model.cell(name).preview.render_id
    job = next(j for j in library.jobs.many(range(1, 200)) if j.render_id == done)
    rec = library.jobs.create(job.draft)
    library.jobs.set_state(rec.id, JobState.SENDING)
    window.background.start(window.renderer.queue.resume(), "resume")
    qtbot.waitUntil(lambda: window.model.cell(name).preview.state is JobState.UNCERTAIN
                    and (name, Stage.PREVIEW) in window.attention.uncertain, timeout=20000)
    return rec.id


def click_card_button(window, qtbot, name: str, key: str) -> None:  # type: ignore[no-untyped-def]
    rect = card_badges.uncertain_rects(slot_rect(window, name, Stage.PREVIEW))[key]
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_an_uncertain_job_on_its_card_forget_and_send_again(  # type: ignore[no-untyped-def]
        make_window, dialogs, qtbot, shot) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    name = window.model.names()[0]
    window.grid.select_name(name)
    job_id = make_uncertain(window, qtbot, name)
    qtbot.waitUntil(lambda: scored_but(window, name), timeout=20000)
    settle_cards(qtbot, window)
    assert "may have" in window.model.cell(name).preview.message
    shot(window.grid, "uncertain-card.png")

    click_card_button(window, qtbot, name, "forget")
    qtbot.waitUntil(lambda: window.model.cell(name).preview.state is JobState.CANCELLED)
    assert (name, Stage.PREVIEW) not in window.attention.uncertain
    assert window.library.jobs.get(job_id).state is JobState.CANCELLED
    assert "Forgotten" in window.model.cell(name).preview.message

    job_id = make_uncertain(window, qtbot, name)
    dialogs.confirms[:] = [False]
    click_card_button(window, qtbot, name, "resend")
    assert dialogs.asked[-1] == "confirm:Send again?"
    assert window.library.jobs.get(job_id).state is JobState.UNCERTAIN  # not sent
    dialogs.confirms[:] = [True]
    click_card_button(window, qtbot, name, "resend")
    qtbot.waitUntil(lambda: window.model.cell(name).preview.done, timeout=30000)
    assert window.library.jobs.get(job_id).state is JobState.DONE
    assert (name, Stage.PREVIEW) not in window.attention.uncertain


def test_a_rate_limit_wait_shows_on_queued_cards_and_the_status_line(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot) -> None:
    from studio.render import RateLimitWait
    from studio.render.events import JobRef

    window = make_window()
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    name = window.model.names()[0]
    window.model.update_slot(name, Stage.PREVIEW, state=JobState.QUEUED, provider="replicate")
    ref = JobRef(job_id=999, scene=name, stage=Stage.PREVIEW, provider="replicate",
                 model="flux-schnell", seed=1)
    # As the queue announces a throttled submit to its listeners, on the render thread.
    renderer = window.renderer
    renderer.engine.post(renderer.queue._queue._emit,
                         RateLimitWait(ref, 30.0, "waiting for Replicate's rate limit"))
    qtbot.waitUntil(lambda: "rate limit of Replicate" in window.statusBar().currentMessage())
    assert window.statusBar().currentMessage().startswith("Waiting 30 s: rate limit of "
                                                          "Replicate")
    assert window.attention.wait_line("replicate").startswith("waiting ")
    qtbot.waitUntil(lambda: scored_but(window, name), timeout=20000)
    settle_cards(qtbot, window)
    shot(window.grid, "rate-limit-card.png")
    window.model.update_slot(name, Stage.PREVIEW, state=JobState.DONE)


def test_the_consistency_view_puts_the_identity_first_sorts_and_filters(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot) -> None:
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    first = model.names()[0]
    window.grid.select_name(first)
    window.actions_by_name["approve"].trigger()
    qtbot.waitUntil(lambda: window.render_facts.source is not None
                    and window.render_facts.source.kind.value == "approved"
                    and scored(window), timeout=20000)
    view = window.tools.open_consistency()
    tiles = view._tiles
    assert view.identity_paths() == [str(model.cell(first).preview.image)]
    assert view.identity_label.text().startswith("Identity: the approved renders (1 face)")
    assert view.labels()[0] == f"✓ {first} (preview)"  # scene order
    distances = {t.scene: t.distance for t in tiles.tiles}

    view.sort_box.click()
    ordered = [t.scene for t in tiles.tiles]
    assert ordered == sorted(distances, key=lambda n: -(distances[n] or 0.0))
    assert [p for p in view.paths()] == [str(model.cell(n).preview.image) for n in ordered]

    view.drift_box.click()
    drifted = [n for n in ordered if window.render_facts.score_of(n, Stage.PREVIEW).verdict
               in (Verdict.DRIFTING, Verdict.DIFFERENT_PERSON)]
    assert [t.scene for t in tiles.tiles] == drifted
    assert first not in [t.scene for t in tiles.tiles]  # distance 0: the same person
    assert f"Showing the {len(drifted)} that drift." in view.summary.text()
    view.drift_box.click()
    assert len(view.paths()) == len(model.names())
    settle_images(qtbot, window)
    shot(view, "consistency-identity.png")

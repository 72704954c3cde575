"""The offline provider: a placeholder card drawn locally with Pillow, instantly, no network.

For planning a sheet with no key and for tests. The card names the scene, lighting, lens and
seed; its palette follows the lighting and its composition the seed, so a grid of placeholders
still shows which cells differ; and it says OFFLINE PLACEHOLDER in large letters, so it can never
be taken for a real render. A request sent with reference images shows them as thumbnails under
the banner, each with its role, and names the strength, so the whole reference flow can be
tried without a key.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io
import random
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from studio.core import limits
from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.capabilities import ModelCapabilities, reference_support
from studio.core.lifecycle import Timings
from studio.core.references import ReferenceReader, ReferenceUnavailableError
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.providers.base import (
    Done,
    Downloading,
    EventCallback,
    Failed,
    GenerationResult,
    ModelChoice,
    Processing,
    Provider,
    Submission,
)
from studio.providers.errors import BadResponseError

PLACEHOLDER = "placeholder"
LABEL = "OFFLINE PLACEHOLDER"

CAPABILITIES = ModelCapabilities(
    provider="offline", model=PLACEHOLDER, label="Offline placeholder card", steps_min=1,
    steps_max=100, steps_default=4, uses_guidance=True, guidance_min=0.0, guidance_max=30.0,
    supports_negative=True, min_side=64, max_side=2048, size_multiple=8, max_images=1,
    supports_lora=True, can_cancel=True, price_per_image=0.0,
    references=reference_support("offline", PLACEHOLDER),
)

#: Base hues (0-360) and lightness for lighting words; the first word found wins.
_LIGHT_PALETTES: tuple[tuple[str, float, float], ...] = (
    ("golden", 38, 0.55), ("sunset", 22, 0.5), ("warm", 30, 0.55), ("candle", 28, 0.35),
    ("neon", 300, 0.35), ("cyber", 280, 0.3), ("night", 230, 0.22), ("moon", 215, 0.3),
    ("overcast", 205, 0.6), ("window", 200, 0.62), ("rembrandt", 25, 0.3),
    ("dramatic", 10, 0.28), ("studio", 0, 0.7), ("soft", 190, 0.7), ("blue", 220, 0.45),
)


def _palette(seed: int, lighting: str) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    text = lighting.lower()
    hue, light = next(((h, lt) for word, h, lt in _LIGHT_PALETTES if word in text),
                      (int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 360, 0.5))
    colours = []
    for i in range(5):
        h = ((hue + rng.uniform(-25, 25) + i * 18) % 360) / 360
        lt = min(0.92, max(0.08, light + rng.uniform(-0.18, 0.18)))
        s = 0.25 + rng.random() * 0.5 if hue else 0.05 + rng.random() * 0.15
        r, g, b = colorsys.hls_to_rgb(h, lt, s)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


#: A reference image as the card shows it: the reference, and its bytes when they could be read.
Thumbnail = tuple[ReferenceImage, bytes | None]


def _thumbnail(data: bytes | None, side: int) -> Any:
    """The reference picture fitted into ``side`` x ``side`` (None when it cannot be drawn)."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("PNG", "JPEG", "WEBP")) as opened:
                if opened.width * opened.height > limits.IMAGE_PIXELS_MAX:
                    return None
                opened.draft("RGB", (side, side))  # JPEG: decode at a reduced scale
                picture = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    picture.thumbnail((side, side))
    return picture


def _draw_references(img: Any, draw: Any, thumbnails: Sequence[Thumbnail], top: int,
                     font: Any) -> None:
    """The reference thumbnails in a row under the banner, right-aligned, each framed and
    captioned with its role (a picture that cannot be read is a grey tile with a "?")."""
    width, height = img.size
    side = max(24, min(width, height) // 6)
    gap = max(4, side // 10)
    caption = max(10, side // 5)
    x = width - gap - len(thumbnails) * (side + gap) + gap
    for ref, data in thumbnails:
        draw.rectangle([x - 2, top - 2, x + side + 1, top + side + caption + 1], fill=(0, 0, 0))
        picture = _thumbnail(data, side)
        if picture is None:
            draw.rectangle([x, top, x + side - 1, top + side - 1], fill=(90, 90, 90))
            draw.text((x + side / 2, top + side / 2), "?", font=font, fill=(255, 255, 255),
                      anchor="mm")
        else:
            img.paste(picture, (x + (side - picture.width) // 2,
                                top + (side - picture.height) // 2))
        draw.text((x + side / 2, top + side + caption / 2), ref.role.value, font=font,
                  fill=(255, 210, 0), anchor="mm")
        x += side + gap


def draw_card(request: GenerationRequest, seed: int,
              references: Sequence[Thumbnail] = ()) -> bytes:
    """The placeholder PNG for ``request`` (blocking; run in a worker thread); ``references``
    are the request's reference images with their bytes, drawn as thumbnails."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = request.width, request.height
    ctx = request.context
    colours = _palette(seed, ctx.lighting)
    rng = random.Random(seed * 7919 + len(ctx.lighting))
    img = Image.new("RGB", (width, height), colours[0])
    draw = ImageDraw.Draw(img)
    # Background: vertical gradient between two palette colours.
    top, bottom = colours[0], colours[1]
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in
                                                   zip(top, bottom, strict=True)))
    # Composition: a few seed-placed shapes, then a head-and-shoulders silhouette.
    for _ in range(4 + rng.randrange(4)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.3) * min(width, height)
        fill = colours[rng.randrange(2, 5)]
        if rng.random() < 0.5:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        else:
            draw.rectangle([cx - r, cy - r * 0.6, cx + r, cy + r * 0.6], fill=fill)
    side = min(width, height)
    cx = width * rng.uniform(0.35, 0.65)
    head = side * 0.13
    head_y = height * 0.42
    shadow = tuple(max(0, c - 70) for c in colours[4])
    draw.ellipse([cx - head, head_y - head * 1.2, cx + head, head_y + head * 1.2], fill=shadow)
    draw.ellipse([cx - head * 2.6, head_y + head * 1.3, cx + head * 2.6, head_y + head * 5],
                 fill=shadow)
    # Text: the label banner, then what the cell stands for.
    big = ImageFont.load_default(size=max(12, width // 14))
    small = ImageFont.load_default(size=max(10, width // 32))
    banner_h = max(24, width // 9)
    draw.rectangle([0, 0, width, banner_h], fill=(20, 20, 20))
    draw.text((width / 2, banner_h / 2), LABEL, font=big, fill=(255, 210, 0), anchor="mm")
    if references:
        _draw_references(img, draw, references, banner_h + max(4, width // 80), small)
    roles = ", ".join(ref.role.value for ref, _data in references)
    lines = [
        ctx.scene or "Untitled scene",
        f"Character: {ctx.character}" if ctx.character else "",
        f"Lighting: {ctx.lighting or 'not set'}",
        f"Lens: {ctx.lens or 'not set'}",
        f"References: {request.reference_strength.value} ({roles})" if references else "",
        f"Seed: {seed}   {request.size}   {request.stage.value}",
    ]
    text = "\n".join(line for line in lines if line)
    box = draw.multiline_textbbox((0, 0), text, font=small, spacing=4)
    pad = 8
    y0 = height - (box[3] - box[1]) - 3 * pad
    draw.rectangle([0, y0, width, height], fill=(0, 0, 0))
    draw.multiline_text((pad, y0 + pad), text, font=small, fill=(255, 255, 255), spacing=4)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def placeholder_seed(request: GenerationRequest) -> int:
    """The request's seed, or one derived from the prompt so a card is reproducible."""
    if request.seed is not None:
        return request.seed
    return int(hashlib.sha256(request.prompt.encode()).hexdigest()[:8], 16)


class OfflineProvider(Provider):
    """Draws placeholder cards. Needs no key; never touches the network."""

    id = "offline"

    def __init__(self, references: ReferenceReader | None = None) -> None:
        #: Where the card reads the reference images it shows (none: grey tiles).
        self.references = references

    def models(self) -> ModelChoice:
        return ModelChoice(preview=PLACEHOLDER, final=PLACEHOLDER)

    def model_ids(self) -> tuple[str, ...]:
        return (PLACEHOLDER,)

    def capabilities(self, model: str) -> ModelCapabilities:
        return CAPABILITIES

    @property
    def concurrency(self) -> int:
        return 4

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, tuple[str, ...]]:
        # Any model id is drawn as the placeholder; the card says which scene it stands for.
        return super().prepare(request.with_changes(model=PLACEHOLDER))

    async def _submit(self, request: GenerationRequest) -> Submission:
        adapted, notes = self.prepare(request)
        seed = placeholder_seed(adapted)
        body: dict[str, Any] = {
            "prompt": adapted.prompt, "negative": adapted.negative, "width": adapted.width,
            "height": adapted.height, "seed": seed, "scene": adapted.context.scene,
            "lighting": adapted.context.lighting, "lens": adapted.context.lens,
            "character": adapted.context.character, "stage": adapted.stage.value,
            "references": [{"sha256": r.sha256, "role": r.role.value}
                           for r in adapted.references],
            "reference_strength": adapted.reference_strength.value,
        }
        return Submission(
            provider=self.id, model=PLACEHOLDER, request_id=f"offline-{uuid.uuid4().hex[:12]}",
            submitted_at=time.time(), submit_seconds=0.0, request_body=body, notes=notes,
            seed=seed, width=adapted.width, height=adapted.height,
        )

    async def _follow(
        self, submission: Submission, on_event: EventCallback | None
    ) -> GenerationResult:
        emit = on_event or (lambda _e: None)
        started = time.monotonic()
        emit(Processing(0.0))
        try:
            request = _request_from_body(submission.request_body)
            png = await asyncio.to_thread(self._draw, request, submission.seed or 0)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            error = BadResponseError(self.id, f"the stored job cannot be drawn ({exc!r})")
            emit(Failed(error))
            raise error from None
        drawn = time.monotonic()
        emit(Downloading("inline"))
        result = GenerationResult(
            provider=self.id, model=PLACEHOLDER, request_id=submission.request_id, image=png,
            format="png", width=submission.width, height=submission.height,
            # The card is drawn here with this seed: the one place a seed is known for sure.
            seed_returned=submission.seed, timings=Timings(processing=drawn - started),
            request_body=submission.request_body, notes=submission.notes, cost=0.0,
            info={"placeholder": True},
        )
        emit(Done(result))
        return result

    async def cancel(self, submission: Submission) -> bool:
        return True

    def _draw(self, request: GenerationRequest, seed: int) -> bytes:
        """Read the reference images (a worker thread: the reads block), then draw."""
        thumbnails: list[Thumbnail] = []
        for ref in request.references:
            data = None
            if self.references is not None:
                try:
                    data = self.references.reference_bytes(ref.sha256)
                except ReferenceUnavailableError:
                    data = None  # shown as a tile with a "?": the card still says it was asked
            thumbnails.append((ref, data))
        return draw_card(request, seed, thumbnails)


def _request_from_body(body: Mapping[str, Any]) -> GenerationRequest:
    refs = tuple(ReferenceImage(str(item["sha256"]), ReferenceRole(item["role"]))
                 for item in body.get("references", ()))
    return GenerationRequest(
        prompt=str(body["prompt"]), width=int(body["width"]), height=int(body["height"]),
        steps=1, guidance=0.0, model=PLACEHOLDER, negative=str(body.get("negative", "")),
        seed=int(body["seed"]), stage=Stage(body.get("stage", "preview")),
        references=refs,
        reference_strength=ReferenceStrength(body.get("reference_strength", "off")),
        context=SceneContext(
            character=str(body.get("character", "")), scene=str(body.get("scene", "")),
            lighting=str(body.get("lighting", "")), lens=str(body.get("lens", "")),
        ),
    )

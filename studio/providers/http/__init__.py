"""The one HTTP engine every hosted image API runs on.

Modules: :mod:`.exchange` (the client, per-phase deadlines for a whole exchange, where the key
may go), :mod:`.retry` (what may be sent again), :mod:`.gate` (a refused key, shared rate
limits), :mod:`.follow` (statuses of an accepted job: polling, or pushed events),
:mod:`.status` (an API's status words, as data),
:mod:`.download` (links and data to verified images), :mod:`.classify` (statuses and messages
to typed errors), :mod:`.api` (one request under the retry policy and its answer read: what an
adapter calls), :mod:`.following` (an accepted job followed to its image), :mod:`.provider`
(:class:`HttpProvider`, the Provider built from them).

How an adapter plugs in
-----------------------
Subclass :class:`~studio.providers.http.provider.HttpProvider` and give:

* ``id``, ``default_base_url``, ``auth`` (:class:`Auth.in_header` or :class:`Auth.in_body`),
  ``default_concurrency``, ``default_deadlines`` and ``pacing`` where the defaults do not fit,
  and ``creates_blocking = True`` when the API answers a submit only once the image exists;
* the model table as data: ``default_models``, ``model_ids``, ``model_capabilities``;
* ``send_job(request)``: build the body, ``await self.call(Phase.SUBMIT, "POST", url,
  json_body=...)``, read the answer into :class:`Accepted` (id, first :class:`JobStatus`,
  links), or raise the error it means (``self.error_of(answer)``, ``self.classify(...)``);
* ``check_job(submission)``: one status check into a :class:`JobStatus` (``seed`` only when
  the API confirmed one): ``data = await self.poll_json(submission, fallback_url)`` asks (the
  API's poll URL or the adapter's, error statuses raised as typed errors), and the adapter's
  :class:`StatusWords` table says what the status word means;
* optionally ``stop_job(submission)`` (cancel) and ``follow_with(submission)``.

``follow_with`` returns a :class:`~studio.providers.http.follow.Follow`: by default
:class:`~studio.providers.http.follow.Polling` over ``check_job``. An API that pushes events
(a WebSocket) returns an object whose ``statuses(submission, first, until)`` is an async
generator yielding a :class:`JobStatus` per event (at least every few seconds, so the job's
deadline is checked) and ending after a terminal one; the engine downloads the image the last
status names, exactly as after polling.

The adapter never sees the key: ``call(..., authed=True)`` (the default) attaches it, and only
on the API's own origin. It never retries, sleeps or times out by itself: the engine does, by
one policy, under one deadline per phase, on the provider's clock.
"""

from typing import TYPE_CHECKING, Any

from studio.providers.http.exchange import Answer, Auth, Deadlines, Phase
from studio.providers.http.follow import Follow, JobStatus, Pacing, Polling
from studio.providers.http.provider import Accepted, HttpProvider
from studio.providers.http.retry import RetryPolicy

if TYPE_CHECKING:
    from studio.providers.http.status import StatusWords, aspect_ratio_name

__all__ = ["Accepted", "Answer", "Auth", "Deadlines", "Follow", "HttpProvider", "JobStatus",
           "Pacing", "Phase", "Polling", "RetryPolicy", "StatusWords", "aspect_ratio_name"]


def __getattr__(name: str) -> Any:
    # The status-word table is imported by the adapters that read status words (and by whoever
    # asks for it here), not by every render: a ModelsLab render never builds its classes.
    if name in ("StatusWords", "aspect_ratio_name"):
        from studio.providers.http import status

        return getattr(status, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

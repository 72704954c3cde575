"""The render engine's own thread: the window's render queue and its providers' HTTP exchanges run
on an asyncio loop of their own, so the GUI thread only hears what happened.

Rendering a batch is thousands of small steps (sockets read, responses parsed, journal entries,
images stored); on the window's event loop they added up to the longest holds of the GUI thread.
:class:`RenderThread` is that loop on a thread of its own; :class:`ThreadedQueue` is the window's
face of a :class:`~studio.render.RenderQueue` running there: the same calls, awaited from the
window's loop, and the queue's events handed to the GUI thread's listeners in order, as many as
arrived meanwhile in one turn of the window's loop.

Nothing of Qt is made or freed on the engine thread: this module imports no Qt, the coroutines
sent there are the queue's own (they hold the library and the providers only), and the engine
side keeps no reference to a listener: it holds an inbox whose way back to the window is a weak
one, emptied on the GUI thread. The command line runs the same queue on its own loop, unthreaded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from studio.core.priority import background_threads, lower_this_thread
from studio.providers.loops import asyncio_thread

if TYPE_CHECKING:
    from studio.providers.base import Provider
    from studio.render import BatchEstimate, JobRef, JobView, Progress, RenderEvent, RenderQueue
    from studio.render.budget import Priced
    from studio.render.plan import JobSpec

log = logging.getLogger("studio.ui.render")

T = TypeVar("T")
#: ``post(fn, *args)``: call ``fn(*args)`` soon on the window's loop, from any thread.
Post = Callable[..., Any]
Listener = Callable[["RenderEvent"], None]


class RenderThread:
    """An asyncio event loop running on a thread of its own until :meth:`aclose`."""

    def __init__(self, name: str = "studio-render") -> None:
        self._loop = asyncio.new_event_loop()
        self._ended: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def ident(self) -> int | None:
        """The engine thread's ``threading.get_ident()``."""
        return self._thread.ident

    @property
    def closed(self) -> bool:
        return self._closing

    def _serve(self) -> None:
        # Below the window, with every thread it starts (its loop's pool, the image writers).
        lower_this_thread()
        loop = self._loop
        asyncio.set_event_loop(loop)
        # Its blocking steps (journal entries, checking and storing images) on as few threads
        # as keep the cores busy: each further one only queues for the interpreter lock beside
        # the window.
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(
            max_workers=background_threads(), thread_name_prefix=f"{self._thread.name}-pool"))
        try:
            with asyncio_thread():
                loop.run_forever()
                loop.run_until_complete(_wind_down(loop))
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            self._ended.set_result(None)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the engine loop. It must hold nothing of Qt: it is let go of there."""
        if self._closing:
            coro.close()
            raise RuntimeError("the render thread has closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` run on the engine loop (from the window's loop). Cancelling the caller
        cancels it there."""
        return await asyncio.wrap_future(self.submit(coro))

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the engine loop soon (its errors go to the engine loop's
        exception handler, which logs them)."""
        if not self._closing:
            self._loop.call_soon_threadsafe(fn, *args)

    async def aclose(self) -> None:
        """Cancel what still runs there, stop the loop and wait until the thread has ended
        (without holding the window's loop)."""
        if not self._closing:
            self._closing = True
            self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.wrap_future(self._ended)
        self._thread.join()

    def close(self) -> None:
        """:meth:`aclose` for a caller with no running loop: blocks until the thread ends."""
        if not self._closing:
            self._closing = True
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()


async def _wind_down(loop: asyncio.AbstractEventLoop) -> None:
    """On the engine loop once stopped: end what is left (nothing, after a queue's aclose), and
    the loop's worker threads."""
    tasks = [t for t in asyncio.all_tasks(loop) if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()


class _Inbox:
    """The queue's events on their way to the GUI thread: the engine thread puts them in, and
    wakes the window's loop once for all that arrive before it runs :meth:`empty`."""

    def __init__(self, post: Post, deliver: weakref.WeakMethod[Callable[[list[Any]], None]],
                 ) -> None:
        self._post = post
        self._deliver = deliver
        self._lock = threading.Lock()
        self._events: list[Any] = []
        self._woken = False

    def put(self, event: RenderEvent) -> None:
        """On the engine thread (the queue's listener)."""
        with self._lock:
            self._events.append(event)
            if self._woken:
                return
            self._woken = True
        with contextlib.suppress(RuntimeError):  # the window's loop has closed: nobody listens
            self._post(self.empty)

    def empty(self) -> None:
        """On the GUI thread."""
        with self._lock:
            events, self._events = self._events, []
            self._woken = False
        deliver = self._deliver()
        if deliver is not None and events:
            deliver(events)


class ThreadedQueue:
    """A :class:`~studio.render.RenderQueue` running on ``engine``, used from the GUI thread:
    its coroutines are awaited from the window's loop, :meth:`cancel` is passed on, and
    :meth:`subscribe`'s listeners hear every event on the GUI thread, in the queue's order.
    It closes the ``providers`` the queue runs on with it."""

    def __init__(self, queue: RenderQueue, providers: Mapping[str, Provider],
                 engine: RenderThread, loop: asyncio.AbstractEventLoop) -> None:
        self._queue = queue
        self._providers = providers  # the queue's: closed with it
        self._engine = engine
        self._loop = loop  # the window's
        self._listeners: list[Listener] = []
        self._inbox = _Inbox(loop.call_soon_threadsafe, weakref.WeakMethod(self._deliver))
        # Before the queue ever runs: the engine thread has not seen it yet.
        queue.subscribe(self._inbox.put)
        #: The last counts the queue sent (what the window knows of its jobs).
        self.last_progress: Progress | None = None
        self._adding = 0

    @property
    def engine(self) -> RenderThread:
        return self._engine

    # ------------------------------------------------------------------ reading
    @property
    def budget_cap(self) -> float | None:
        return self._queue.budget_cap

    def estimate(self, jobs: Sequence[Priced]) -> BatchEstimate:
        return self._queue.estimate(jobs)  # prices only: nothing the engine changes

    @property
    def busy(self) -> bool:
        """Jobs are being added (their events may not have arrived yet), or a job the queue
        holds has not finished as the window last heard."""
        progress = self.last_progress
        return self._adding > 0 or (progress is not None and not progress.idle)

    # ------------------------------------------------------------------ listening
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event, on the GUI thread; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _deliver(self, events: list[RenderEvent]) -> None:
        from studio.render import Progress

        for event in events:
            if isinstance(event, Progress):
                self.last_progress = event
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception as exc:  # a broken listener must not stop the others
                    self._loop.call_exception_handler({
                        "message": f"render listener {listener!r} failed on "
                                   f"{type(event).__name__}",
                        "exception": exc,
                    })

    # ------------------------------------------------------------------ the queue's calls
    async def _adds(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro``, which puts jobs in the queue, counting it as work in progress until
        it returns (by then the window has heard of its jobs: their events come back first)."""
        self._adding += 1
        try:
            return await self._engine.run(coro)
        finally:
            self._adding -= 1

    async def add(self, jobs: Sequence[JobSpec], *,
                  budget_cap: float | None = None) -> tuple[JobRef, ...]:
        return await self._adds(self._queue.add(jobs, budget_cap=budget_cap))

    async def retry(self, job_id: int) -> JobRef:
        return await self._adds(self._queue.retry(job_id))

    async def retry_many(self, job_ids: Sequence[int]) -> list[JobRef | Exception]:
        return await self._adds(self._queue.retry_many(job_ids))

    async def resend(self, job_id: int) -> JobRef:
        return await self._adds(self._queue.resend(job_id))

    async def resume(self, *, resend_uncertain: bool = False) -> tuple[JobRef, ...]:
        return await self._engine.run(self._queue.resume(resend_uncertain=resend_uncertain))

    async def uncertain(self) -> tuple[JobView, ...]:
        return await self._engine.run(self._queue.uncertain())

    async def forget(self, job_id: int) -> JobRef:
        return await self._engine.run(self._queue.forget(job_id))

    def cancel(self, job_id: int) -> None:
        """Ask the queue to cancel one job; the outcome arrives as an event."""
        self._engine.post(_cancel, self._queue, job_id)

    def cancel_all(self) -> None:
        self._engine.post(self._queue.cancel_all)

    async def aclose(self) -> None:
        """Park the queue's jobs (they stay in the library for resume) and close its providers,
        on the engine."""
        await self._engine.run(self._park())

    def close(self) -> None:
        """:meth:`aclose` for a caller whose event loop has ended: blocks until it is done."""
        self._engine.submit(self._park()).result()

    async def _park(self) -> None:
        try:
            await self._queue.aclose()
        finally:
            # Their HTTP clients belong to the engine's loop: closed there, before it ends.
            await close_providers(self._providers)


async def close_providers(providers: Mapping[str, Provider]) -> None:
    """Close each provider's clients; one that fails to close does not keep the others open."""
    for provider in providers.values():
        try:
            await provider.aclose()
        except Exception:
            log.exception("closing %s failed", provider.id)


def _cancel(queue: RenderQueue, job_id: int) -> None:
    with contextlib.suppress(KeyError):  # not a job of this queue (any more): nothing to stop
        queue.cancel(job_id)

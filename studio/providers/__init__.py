"""The async provider layer: one interface over ModelsLab, Replicate, fal, imageapi.org, 1min.ai
and the offline placeholder; capabilities and typed errors.

Import what you need from the submodules: ``base`` (interface, events, values), ``errors``,
``adapt``, ``http`` (the one HTTP engine the hosted APIs' adapters build on), ``registry``
(building providers from env + settings, ``studio providers`` rows).
"""

import sys

# httpx imports its command-line tool (rich, click, pygments: a fifth of a second of start-up)
# whenever those happen to be installed; the studio never runs it, so it is never loaded.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

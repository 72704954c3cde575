"""The async provider layer: one interface over ModelsLab, Replicate, fal, imageapi.org, 1min.ai
and the offline placeholder; capabilities, typed errors, retries, polling and safe downloads.

Import what you need from the submodules: ``base`` (interface, events, values), ``errors``,
``adapt``, ``registry`` (building providers from env + settings, ``studio providers`` rows).
"""

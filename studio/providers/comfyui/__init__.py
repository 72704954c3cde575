"""The ``comfyui`` provider: the studio's jobs on the user's own ComfyUI servers.

ComfyUI knowledge lives apart from the transport so it can move onto a shared HTTP engine:
``wire`` (bodies, messages, answers), ``discovery`` (what a server has installed),
``workflows`` and ``references`` (graphs with named slots), ``jobs`` (a request as a graph),
``farm`` (dispatch and the rule for moving jobs). ``client`` is the HTTP/WebSocket glue;
``dispatch``, ``follow`` and ``provider`` put them together behind the Provider interface.
"""

from studio.providers.comfyui.provider import ComfyUIProvider

__all__ = ["ComfyUIProvider"]

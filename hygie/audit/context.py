"""Who is asking, from where, under which request id: set once per request by middleware,
read by the journal so that actions need not pass it around."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str | None
    channel: str  # "web", "cli" or "worker"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("hygie_request", default=None)


def set_context(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset_context(token: contextvars.Token) -> None:
    _current.reset(token)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        # Commands, the worker and tests: one id per process run, no IP.
        ctx = RequestContext(request_id=uuid.uuid4().hex, ip=None, channel="cli")
        _current.set(ctx)
    return ctx

"""One policy for every OpenAI-compatible endpoint MedTEB calls: what is retried, how long to
wait, and how an API key is kept out of messages.

Used by the build pipeline's judges (:mod:`medteb.build.llm`, the ``openai`` SDK) and by served
embedding models (:mod:`medteb.models.served.client`, httpx), so both behave the same way:

- **retried** (with :meth:`RetryPolicy.delay`): a timeout, a dropped connection, HTTP 408, 409,
  429 and every 5xx (:func:`is_retryable_status`; the same statuses the ``openai`` SDK retries),
  and an answer that cannot be read;
- **fatal at once**: a refused connection or an unknown host, and every other 4xx (a wrong
  model name, a bad key, a wrong URL): retrying cannot fix them;
- **the wait** before retry ``n`` (0-based) is ``backoff_s * 2**n`` with jitter (a factor
  drawn from [0.5, 1)), or the server's ``Retry-After`` when it sends one (seconds or an HTTP
  date, :func:`retry_after_seconds`); either way at most ``backoff_max_s``;
- **the key** is read from an environment variable (never from a file or a flag) and masked
  out of every message (:func:`mask_secret`; some servers echo it back).

Light: no httpx, no openai (callers import their client).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from medteb.errors import MedtebError

#: HTTP statuses worth another attempt, besides every 5xx
RETRY_STATUSES = frozenset({408, 409, 429})


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is retried: 408, 409, 429 and every 5xx."""
    return status in RETRY_STATUSES or status >= 500


def retry_after_seconds(header: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (never negative): a number, or an HTTP date.

    Args:
        now: the current time (seconds since the epoch); None reads the clock.

    Returns:
        None when the header is absent or neither form.

    >>> retry_after_seconds("2.5"), retry_after_seconds("soon")
    (2.5, None)
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    10.0
    """
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # nan is no wait
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def mask_secret(text: str, secret: str | None) -> str:
    """``text`` on one line with every occurrence of ``secret`` replaced by ``***``.

    Whitespace is collapsed first, so a key split over lines by a server is masked too.

    >>> mask_secret("bad key sk-123\\n(sk-123)", "sk-123")
    'bad key *** (***)'
    """
    text = " ".join(str(text).split())
    return text.replace(secret, "***") if secret else text


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a failed request (see the module docstring).

    Attributes:
        max_retries: retries after the first attempt (0: one attempt only).
        backoff_s: the first retry's delay before jitter; doubled with each retry.
        backoff_max_s: the longest wait, a ``Retry-After`` included.
    """

    max_retries: int
    backoff_s: float
    backoff_max_s: float

    def check(self, what: str) -> None:
        """Raise :class:`MedtebError` for settings that can never work (nan included)."""
        if not self.max_retries >= 0:
            raise MedtebError(f"{what}: retries must be at least 0, got {self.max_retries}")
        if not (self.backoff_s >= 0 and self.backoff_max_s >= 0):
            raise MedtebError(f"{what}: backoffs must not be negative, got {self.backoff_s} "
                              f"and {self.backoff_max_s}")

    def delay(self, attempt: int, retry_after: float | None = None,
              jitter: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``attempt + 1`` (``attempt`` counts from 0).

        Args:
            retry_after: the server's ``Retry-After`` in seconds; replaces the backoff.
            jitter: a draw from [0, 1) (tests pass a constant).
        """
        if retry_after is None:
            retry_after = self.backoff_s * 2 ** attempt * (0.5 + jitter() / 2)
        return min(retry_after, self.backoff_max_s)

"""Login throttling rules, without Django: slow an attacker down without locking the user out.

A global lock after N failures (the former rule: 5 failures lock the account 15 minutes, from
anywhere) lets anyone keep a practitioner out during consultations. Instead:

- per (login, address) pair: the first `pair_free` failures are free; after that each attempt
  waits `pair_base_seconds`, doubled at each further failure, up to `pair_max_seconds`. The
  attacker's address is slowed down; the user at another address is not.
- per address, all logins (password spraying): `address_failures` failures within
  `address_window_seconds` and that address waits until the oldest one leaves the window.
- per login, all addresses: beyond `account_ceiling` failures within `account_window_seconds`,
  the login no longer answers a password alone: it asks for the password and a second-factor
  code together, and says nothing about which was wrong. Guessing the password from many
  addresses then also means guessing a TOTP code (one in a million, used once) at each try,
  while the real user, who has both, gets in.

Failures are kept as lists of timestamps (seconds), newest last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Policy:
    pair_free: int = 5
    pair_base_seconds: int = 30
    pair_max_seconds: int = 15 * 60
    pair_window_seconds: int = 24 * 3600
    address_failures: int = 30
    address_window_seconds: int = 10 * 60
    account_ceiling: int = 20
    account_window_seconds: int = 24 * 3600

    def keep(self) -> int:
        """How many timestamps a list needs to keep to apply every rule."""
        return max(self.pair_free + 20, self.address_failures, self.account_ceiling) + 1


class Wait(NamedTuple):
    seconds: int
    scope: str  # "pair" or "address"; "" when the attempt may go on


def recent(failures: list[float], now: float, window: int) -> list[float]:
    # No upper bound: with several app servers, a failure stamped by a server whose clock is a
    # little ahead (or that took the lock just before this one) still counts.
    return [t for t in failures if now - window < t]


def pair_delay(failures: int, policy: Policy) -> int:
    """Seconds to wait after the `failures`-th failure of a pair: 0 while free, then doubling."""
    if failures < policy.pair_free:
        return 0
    exponent = min(failures - policy.pair_free, 30)
    return int(min(policy.pair_base_seconds * 2**exponent, policy.pair_max_seconds))


def wait(pair: list[float], address: list[float], now: float, policy: Policy) -> Wait:
    """How long this pair (or this address) must wait before its next attempt is answered."""
    mine = recent(pair, now, policy.pair_window_seconds)
    if mine:
        left = mine[-1] + pair_delay(len(mine), policy) - now
        if left > 0:
            return Wait(_ceil(left), "pair")
    theirs = recent(address, now, policy.address_window_seconds)
    if len(theirs) >= policy.address_failures:
        oldest = theirs[-policy.address_failures]
        return Wait(_ceil(oldest + policy.address_window_seconds - now), "address")
    return Wait(0, "")


def second_factor_required(account: list[float], now: float, policy: Policy) -> bool:
    """Beyond the account-wide ceiling, a password alone is no longer answered."""
    return len(recent(account, now, policy.account_window_seconds)) >= policy.account_ceiling


def add(failures: list[float], now: float, window: int, keep: int) -> list[float]:
    """The list with one more failure at `now`, old ones dropped."""
    return sorted([*recent(failures, now, window), now])[-keep:]


def _ceil(seconds: float) -> int:
    whole = int(seconds)
    return whole + (whole < seconds)

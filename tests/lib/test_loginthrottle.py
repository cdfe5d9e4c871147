"""The login throttle's rules, without Django (hygie.lib.loginthrottle)."""

from hygie.lib import loginthrottle as lt

P = lt.Policy(pair_free=5, pair_base_seconds=30, pair_max_seconds=900, address_failures=30, account_ceiling=20)
NOW = 1_000_000.0


def test_it_lets_the_first_failures_through_then_doubles_the_wait():
    assert [lt.pair_delay(n, P) for n in range(4, 12)] == [0, 30, 60, 120, 240, 480, 900, 900]


def test_the_pair_waits_from_its_last_failure():
    pair = [NOW - 100 + i for i in range(5)]  # last failure 96 s ago: 30 s wait is over
    assert lt.wait(pair, pair, NOW, P) == lt.Wait(0, "")
    pair = [NOW - 10 - i for i in range(5)][::-1]  # last failure 10 s ago
    assert lt.wait(pair, pair, NOW, P) == lt.Wait(20, "pair")


def test_old_failures_are_forgotten():
    old = [NOW - P.pair_window_seconds - 1] * 10
    assert lt.wait(old, [], NOW, P) == lt.Wait(0, "")
    assert not lt.second_factor_required(old * 3, NOW, P)


def test_an_address_spraying_many_logins_waits():
    address = [NOW - 300 + i for i in range(30)]
    assert lt.wait([], address, NOW, P) == lt.Wait(300, "address")
    assert lt.wait([], address[1:], NOW, P) == lt.Wait(0, "")


def test_the_account_ceiling_asks_for_the_second_factor():
    assert not lt.second_factor_required([NOW - 1] * 19, NOW, P)
    assert lt.second_factor_required([NOW - 1] * 20, NOW, P)


def test_add_keeps_a_bounded_recent_list():
    failures: list[float] = []
    for i in range(500):
        failures = lt.add(failures, NOW + i, 3600, P.keep())
    assert len(failures) == P.keep() and failures[-1] == NOW + 499

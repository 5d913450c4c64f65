"""The login throttle's rules, on its own clock: per-address backoff after wrong passwords, one
check per address at a time, a bound on checks at once, IPv6 counted by /64, bounded memory.
(Over real HTTP and under a flood of real connections: tests/test_login.py.)"""

from __future__ import annotations

import pytest

from viewer import throttle as throttle_module
from viewer.throttle import FREE_FAILURES, MAX_WAIT, Refused, Throttle, client_key, wait_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attempt(throttle: Throttle, address: str, right: bool = False) -> None:
    throttle.admit(address)
    throttle.settle(address, right)


def test_the_wait_doubles_after_a_few_typos_up_to_a_limit():
    assert [wait_after(n) for n in range(1, FREE_FAILURES + 1)] == [0.0] * FREE_FAILURES
    assert [wait_after(FREE_FAILURES + n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert wait_after(100) == MAX_WAIT == 900.0


def test_an_address_that_guesses_waits_and_a_right_password_clears_it():
    clock = Clock()
    throttle = Throttle(clock=clock)
    for _ in range(FREE_FAILURES + 2):  # typos, then a 1 s wait, then a 2 s wait
        attempt(throttle, "192.0.2.1")
        clock.now += 1.0
    with pytest.raises(Refused) as refused:
        throttle.admit("192.0.2.1")  # 1 s into its 2 s wait
    assert refused.value.status == 429 and refused.value.retry_after == 1
    attempt(throttle, "198.51.100.7")  # another address is not held back
    clock.now += 1.0
    attempt(throttle, "192.0.2.1", right=True)
    for _ in range(FREE_FAILURES):  # cleared: typos are free again
        attempt(throttle, "192.0.2.1")


def test_150_guesses_in_15_seconds_become_a_handful():
    clock = Clock()
    throttle = Throttle(clock=clock)
    checked = 0
    for _ in range(150):
        try:
            attempt(throttle, "203.0.113.9")
            checked += 1
        except Refused:
            pass
        clock.now += 0.1
    assert checked == FREE_FAILURES + 4  # 3 typos and a 4th, then one after each wait of 1, 2 and 4 s (the 8 s one ends at 15.3 s)


def test_one_check_per_address_and_at_most_checks_at_once():
    throttle = Throttle(checks=2, clock=Clock())
    throttle.admit("192.0.2.1")
    with pytest.raises(Refused) as same:
        throttle.admit("192.0.2.1")  # its first attempt is still being checked
    assert same.value.status == 429
    throttle.admit("192.0.2.2")
    with pytest.raises(Refused) as busy:
        throttle.admit("192.0.2.3")  # both slots taken: answered at once, never queued
    assert busy.value.status == 503 and busy.value.retry_after == 1
    throttle.settle("192.0.2.1", False)
    throttle.admit("192.0.2.3")


def test_ipv6_counts_by_64_and_mapped_ipv4_as_ipv4():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == client_key("192.0.2.1") == "192.0.2.1"
    clock = Clock()
    throttle = Throttle(clock=clock)
    for n in range(FREE_FAILURES + 1):
        attempt(throttle, f"2001:db8:1:2::{n + 1}")  # a new address of the same /64 each time
    with pytest.raises(Refused):
        throttle.admit("2001:db8:1:2::99")


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(throttle_module, "MAX_CLIENTS", 50)
    clock = Clock()
    throttle = Throttle(clock=clock)
    for n in range(FREE_FAILURES + 1):
        attempt(throttle, "192.0.2.1")
    with pytest.raises(Refused):
        throttle.admit("192.0.2.1")
    for n in range(49):
        attempt(throttle, f"10.0.{n // 256}.{n % 256}")
    with pytest.raises(Refused):
        throttle.admit("192.0.2.1")  # 50 remembered: still held back
    attempt(throttle, "10.1.0.0")
    throttle.admit("192.0.2.1")  # the least recently seen was forgotten

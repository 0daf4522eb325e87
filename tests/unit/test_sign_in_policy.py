"""The lockout schedule of failed sign-ins: free ones, then doubling, then the cap."""

from __future__ import annotations

from okr_gateway.sign_in import SignInPolicy, throttled_address


def test_lockouts_double_after_the_free_failures_up_to_the_cap() -> None:
    policy = SignInPolicy(free_per_account=5, free_per_address=20, max_lockout_s=60)
    schedule = [policy.lockout_s(n, 5) for n in range(1, 15)]
    assert schedule == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.lockout_s(10**9, 5) == 60  # the cap holds however long a flood goes on
    assert policy.lockout_s(21, 20) == 1


def test_an_ipv6_client_is_counted_by_its_64_and_others_by_their_address() -> None:
    assert throttled_address("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert throttled_address("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    assert throttled_address("203.0.113.7") == "203.0.113.7"
    assert throttled_address("::ffff:203.0.113.7") == "203.0.113.7"
    assert throttled_address("unknown") == "unknown"

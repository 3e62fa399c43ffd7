"""The waves' gate as Prometheus sees the fleet: the judgement, and the queries it sends."""

from __future__ import annotations

from daemon.rollout.fleet_view import ask, judge, queries

EARLIER = ("web01", "web02", "web03", "web04", "web05")
SHA = "a1b2c3d4" * 5


def test_ready_when_every_earlier_host_deployed_and_none_failed() -> None:
    answer = judge(set(EARLIER) | {"web09"}, set(), EARLIER, SHA)
    assert answer.ready and answer.why == ""


def test_a_failure_holds_for_good() -> None:
    answer = judge(set(EARLIER), {"web02"}, EARLIER, SHA)
    assert not answer.ready and answer.final
    assert answer.why == "web02 failed or rolled back a1b2c3d"


def test_missing_hosts_are_waited_for_and_named() -> None:
    answer = judge({"web01"}, set(), EARLIER, SHA)
    assert not answer.ready and not answer.final
    assert answer.why == "waiting for web02, web03, web04 and 1 more to deploy a1b2c3d"


def test_queries_join_the_host_label_and_quote_values() -> None:
    deployed, failed = queries('prod"x', SHA)
    assert f'deployd_deployed_commit_info{{commit="{SHA}"}}' in deployed
    assert 'deployd_host_info{environment="prod\\"x"}' in deployed
    assert "group_left (host)" in deployed and "rolled-back" in failed
    assert "deployd_rolled_back_commit_info" in failed


def test_no_prometheus_holds() -> None:
    answer = ask("http://127.0.0.1:9", "prod", SHA, EARLIER, timeout=1.0)
    assert not answer.ready and "gave no answer" in answer.why

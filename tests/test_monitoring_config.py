"""`mesh:monitoring`: defaults, and one-line errors that name the key and never echo a secret."""

from __future__ import annotations

import pytest

from components.model.base import ConfigError
from components.model.mesh import parse_mesh_config


def test_defaults_keep_15_days_and_configure_no_receiver():
    monitoring = parse_mesh_config({}).monitoring
    assert monitoring.retention == "15d"
    assert not monitoring.alerting.has_receiver


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ({"retention": "fortnight"}, "mesh:monitoring.retention", "is not a Prometheus duration"),
        ({"retention": "0d"}, "mesh:monitoring.retention", "is not a Prometheus duration"),
        ({"retentionSize": "10 gigs"}, "mesh:monitoring.retentionSize", "is not a size"),
        ({"alerting": {"webhookUrl": "ftp://x"}}, "mesh:monitoring.alerting.webhookUrl", "must be an http(s) URL"),
        ({"alerting": {"slack": {"channel": "#x"}}}, "mesh:monitoring.alerting.slack.webhookUrl", "Field required"),
        ({"alerting": {"email": {"to": "ops", "from": "a@b", "smarthost": "h:25"}}}, "mesh:monitoring.alerting.email.to", "not an email"),
        ({"alerting": {"email": {"to": "o@b", "from": "a@b", "smarthost": "h"}}}, "mesh:monitoring.alerting.email.smarthost", "host:port"),
        ({"thresholds": {"errorRatio": 2}}, "mesh:monitoring.thresholds.errorRatio", "out of range"),
        ({"alerting": {"pagerduty": {}}}, "mesh:monitoring.alerting.pagerduty", "unknown key"),
    ],
)
def test_mistakes_name_the_full_key(raw, key, message):
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({"monitoring": raw})
    assert error.value.key == key
    assert message in error.value.message
    assert "\n" not in str(error.value)


def test_a_bad_webhook_url_is_not_repeated_in_the_error():
    secret = "hooks.example.com/T0KEN-should-not-leak"
    with pytest.raises(ConfigError) as error:
        parse_mesh_config({"monitoring": {"alerting": {"webhookUrl": secret}}})
    assert "T0KEN" not in str(error.value)


def test_a_bad_monitoring_value_stops_the_program(synth):
    with pytest.raises(ConfigError):
        synth({"monitoring": {"retention": "forever"}})


def test_a_receiver_url_must_be_http_or_https_with_a_host_and_is_never_echoed():
    from components.model.monitoring import _check_url

    assert _check_url("https://hooks.example.com/x", "webhookUrl") == "https://hooks.example.com/x"
    assert _check_url("http://alerts:9000", "webhookUrl") == "http://alerts:9000"
    for value in ["ftp://hooks.example.com/x", "https://", "hooks.example.com/x"]:
        with pytest.raises(ValueError) as caught:
            _check_url(value, "slack.webhookUrl")
        assert str(caught.value) == "slack.webhookUrl must be an http(s) URL (value not shown: set it with `pulumi config set --secret`)"


def test_a_retention_must_be_a_prometheus_duration_above_zero():
    from components.model.monitoring import check_prometheus_duration

    assert check_prometheus_duration("15d") == "15d"
    for value in ["0s", "00d", "", "15 days", "d"]:
        with pytest.raises(ValueError) as caught:
            check_prometheus_duration(value)
        assert str(caught.value) == f"{value!r} is not a Prometheus duration (e.g. 15d, 12h, 4w)"

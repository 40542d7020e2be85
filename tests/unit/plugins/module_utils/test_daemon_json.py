import json

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.daemon_json import (
    DaemonJsonError,
    merge,
    parse,
    remove_matching,
    render,
)

NVIDIA = {"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}}


def test_nested_keys_merge_without_losing_the_users():
    user = {"runtimes": {"crun": {"path": "/usr/bin/crun"}}, "log-opts": {"labels": "owner"}}
    merged = merge(user, {**NVIDIA, "log-opts": {"max-size": "100m"}})
    assert merged["runtimes"]["crun"] == {"path": "/usr/bin/crun"}
    assert merged["runtimes"]["nvidia"] == {"path": "nvidia-container-runtime", "args": []}
    assert merged["log-opts"] == {"labels": "owner", "max-size": "100m"}


def test_scalars_from_settings_win():
    assert merge({"log-driver": "journald", "debug": True}, {"log-driver": "json-file"}) == {
        "log-driver": "json-file",
        "debug": True,
    }


def test_lists_are_unioned_user_items_first():
    merged = merge({"registry-mirrors": ["https://a", "https://b"]}, {"registry-mirrors": ["https://b", "https://c"]})
    assert merged["registry-mirrors"] == ["https://a", "https://b", "https://c"]


def test_type_change_replaces():
    assert merge({"dns": "8.8.8.8"}, {"dns": ["1.1.1.1"]}) == {"dns": ["1.1.1.1"]}


def test_merge_does_not_mutate_its_inputs():
    user = {"runtimes": {"crun": {"path": "/usr/bin/crun"}}}
    settings = {"runtimes": {"nvidia": {"path": "x", "args": []}}}
    merge(user, settings)
    assert user == {"runtimes": {"crun": {"path": "/usr/bin/crun"}}}
    assert settings == {"runtimes": {"nvidia": {"path": "x", "args": []}}}


def test_merge_is_idempotent():
    once = merge({"a": {"b": [1]}}, {**NVIDIA, "a": {"b": [2], "c": 3}})
    assert merge(once, {**NVIDIA, "a": {"b": [2], "c": 3}}) == once


@pytest.mark.parametrize("text", ["", "   \n", "\n\t"])
def test_empty_file_is_an_empty_config(text):
    assert parse(text) == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"log-driver": "json-file",}', "not valid JSON"),
        ("{", "not valid JSON"),
        ('["a"]', "JSON object"),
        ("42", "JSON object"),
    ],
)
def test_invalid_content_names_the_file(text, reason):
    with pytest.raises(DaemonJsonError) as err:
        parse(text, "/etc/docker/daemon.json")
    assert "/etc/docker/daemon.json" in str(err.value)
    assert reason in str(err.value)
    assert "left unchanged" in str(err.value)


def test_remove_matching_only_removes_our_value():
    assert remove_matching({"default-runtime": "nvidia", "x": 1}, {"default-runtime": "nvidia"}) == {"x": 1}
    assert remove_matching({"default-runtime": "crun"}, {"default-runtime": "nvidia"}) == {"default-runtime": "crun"}


def test_render_round_trips_and_keeps_key_order():
    config = {"z": 1, "a": {"y": [1, 2]}}
    text = render(config)
    assert list(json.loads(text)) == ["z", "a"]
    assert parse(text) == config
    assert text.endswith("\n")

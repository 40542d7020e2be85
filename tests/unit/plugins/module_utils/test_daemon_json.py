import json

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.daemon_json import (
    DaemonJsonError,
    fill_defaults,
    merge,
    merge_replacing,
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


ROTATION = {"log-driver": "json-file", "log-opts": {"max-size": "100m", "max-file": "3"}}


def test_a_users_own_log_opts_win_over_the_defaults_key_by_key():
    # The README's promise: keys set by hand survive. A hand-set max-size stays; the missing max-file is added.
    user = {"log-opts": {"max-size": "10m", "labels": "owner"}}
    assert fill_defaults(user, ROTATION) == {
        "log-opts": {"max-size": "10m", "labels": "owner", "max-file": "3"},
        "log-driver": "json-file",
    }


def test_defaults_fill_an_empty_file_and_never_touch_lists_or_scalars_present():
    assert fill_defaults({}, ROTATION) == ROTATION
    user = {"registry-mirrors": ["https://a"], "debug": False}
    assert fill_defaults(user, {"registry-mirrors": ["https://b"], "debug": True}) == user


def test_another_log_driver_gets_none_of_json_files_options():
    # dockerd refuses to start on "unknown log opt 'max-size' for journald log driver".
    assert fill_defaults({"log-driver": "journald"}, ROTATION) == {"log-driver": "journald"}
    assert fill_defaults({"log-driver": "json-file"}, ROTATION) == ROTATION


def test_a_listed_key_is_replaced_whole_so_a_list_can_shrink():
    current = {"registry-mirrors": ["https://old", "https://kept"], "dns": ["1.1.1.1"]}
    settings = {"registry-mirrors": ["https://kept", "https://new"], "dns": ["9.9.9.9"]}
    merged = merge_replacing(current, settings, ["registry-mirrors"])
    assert merged["registry-mirrors"] == ["https://kept", "https://new"]
    # Not listed: the merge rule, lists only grow.
    assert merged["dns"] == ["1.1.1.1", "9.9.9.9"]
    assert merge_replacing(current, settings, ["not-in-settings"]) == merge(current, settings)

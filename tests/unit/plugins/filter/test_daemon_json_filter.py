"""daemon_json_would_change: the module's own merge, read from the probe's base64 line."""

import json
import subprocess

from ansible_collections.gpuhost.provision.plugins.filter.daemon_json import daemon_json_would_change

RUNTIME = {"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}}}
DEFAULTS = {"log-driver": "json-file", "log-opts": {"max-size": "100m", "max-file": "3"}}


def probe_line(tmp_path, text=None):
    """The line the roles' probes print, made by the same shell words (base64 -w0, '-' for no file)."""
    path = tmp_path / "daemon.json"
    if text is not None:
        path.write_text(text)
    script = f"printf 'daemon.json %s\\n' \"$(base64 -w0 {path} 2>/dev/null || echo -)\""
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def test_a_file_holding_every_key_is_left_alone(tmp_path):
    text = json.dumps({"debug": True, **DEFAULTS, **RUNTIME}, indent=2)
    assert not daemon_json_would_change(probe_line(tmp_path, text), settings=RUNTIME)
    assert not daemon_json_would_change(probe_line(tmp_path, text), defaults=DEFAULTS)


def test_a_missing_key_or_a_different_value_is_a_change(tmp_path):
    assert daemon_json_would_change(probe_line(tmp_path, json.dumps(DEFAULTS)), settings=RUNTIME)
    other = {"runtimes": {"nvidia": {"path": "/opt/other-runtime", "args": []}}}
    assert daemon_json_would_change(probe_line(tmp_path, json.dumps(other)), settings=RUNTIME)


def test_the_users_own_value_wins_over_a_default(tmp_path):
    mine = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}
    assert not daemon_json_would_change(probe_line(tmp_path, json.dumps(mine)), defaults=DEFAULTS)


def test_replace_and_remove_matching_are_the_modules(tmp_path):
    text = json.dumps({"registry-mirrors": ["https://a", "https://b"], "default-runtime": "nvidia"})
    line = probe_line(tmp_path, text)
    assert daemon_json_would_change(line, settings={"registry-mirrors": ["https://a"]}, replace=["registry-mirrors"])
    assert not daemon_json_would_change(line, settings={"registry-mirrors": ["https://a"]})
    assert daemon_json_would_change(line, remove_matching={"default-runtime": "nvidia"})
    assert not daemon_json_would_change(line, remove_matching={"default-runtime": "crun"})


def test_no_file_is_a_change_only_where_there_is_something_to_write(tmp_path):
    line = probe_line(tmp_path)
    assert line == "daemon.json -"
    assert daemon_json_would_change(line, settings=RUNTIME)
    assert not daemon_json_would_change(line)


def test_what_the_module_must_look_at_itself_runs_it(tmp_path):
    # Not parseable, not UTF-8, not an object, or no probe line at all: the module runs and says why.
    assert daemon_json_would_change(probe_line(tmp_path, "{not json"), settings=RUNTIME)
    (tmp_path / "daemon.json").write_bytes(b"\xff\xfe")
    assert daemon_json_would_change(probe_line(tmp_path), settings={})
    assert daemon_json_would_change(probe_line(tmp_path, "[]"), settings={})
    assert daemon_json_would_change("", settings={})
    assert daemon_json_would_change(None, settings={})
    assert daemon_json_would_change("daemon.json not*base64", settings={})

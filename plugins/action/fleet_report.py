# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of gpuhost.provision.fleet_report (documented in plugins/modules/fleet_report.py)."""

from __future__ import annotations

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.gpuhost.provision.plugins.module_utils.fleet_report import (
    FleetReportError,
    build,
    render_json,
    render_junit,
    render_markdown,
    summary_lines,
    totals,
)

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "title": {"type": "str"},
    "dest": {"type": "path", "required": True},
    "rows": {"type": "list", "elements": "dict", "required": True},
    "hosts": {"type": "list", "elements": "str", "default": []},
    "missing_message": {"type": "str", "default": "no report: the host failed or was unreachable before it reported"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            rows = build(args["rows"], args["hosts"], args["missing_message"])
        except FleetReportError as exc:
            raise AnsibleActionFail(f"fleet_report: {exc}") from exc
        name, dest = args["name"], args["dest"]
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        paths = {kind: os.path.join(dest, f"{name}-fleet.{kind}") for kind in ("md", "json", "junit.xml")}
        texts = {
            "md": render_markdown(rows, args["title"] or f"{name}: fleet report ({generated})"),
            "json": render_json(rows, name, generated),
            "junit.xml": render_junit(rows, name),
        }
        # The report is the controller's output, not host state: written in check mode too, never `changed`.
        try:
            os.makedirs(dest, mode=0o755, exist_ok=True)
            for kind, path in paths.items():
                tmp_path = f"{path}.tmp"
                with open(tmp_path, "w", encoding="utf-8") as handle:
                    handle.write(texts[kind])
                os.replace(tmp_path, path)
        except OSError as exc:
            raise AnsibleActionFail(f"fleet_report: could not write {dest}: {exc}") from exc
        result.update(
            changed=False,
            rows=rows,
            totals=totals(rows),
            summary=summary_lines(rows),
            markdown=paths["md"],
            json=paths["json"],
            junit=paths["junit.xml"],
        )
        return result

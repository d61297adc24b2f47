"""Optional: the generated dashboards type-check against Grafana's own TypeScript types
(`@grafana/schema` 11.6.0, the Grafana release the compose file runs), with `tsc`.

Every dashboard is written as a TypeScript object literal typed as `Dashboard` (so unknown keys
and wrong values are errors), and every panel's options and custom field config against that
panel plugin's `Options` / `FieldConfig`. String enums of the types are compared by value (JSON
cannot name an enum). Skipped when node/npm are missing or the npm registry cannot be reached.
The packages are installed once into ~/.cache/kpiflow (KPIFLOW_NPM_CACHE to change it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kpiflow.dashboards.build import build_all
from kpiflow.dashboards.defaults import Options

SCHEMA = "@grafana/schema@11.6.0"
TYPESCRIPT = "typescript@5.6.3"

# panel type -> (module of its generated types, whether it exports FieldConfig)
PANEL_TYPES = {
    "stat": ("StatPanelCfg", False),
    "gauge": ("GaugePanelCfg", False),
    "bargauge": ("BarGaugePanelCfg", False),
    "table": ("TablePanelCfg", True),
    "timeseries": ("TimeSeriesPanelCfg", True),
    "barchart": ("BarChartPanelCfg", True),
}

PRELUDE = """\
import type {{ AnnotationQuery, Dashboard, DataQuery }} from '@grafana/schema';
{imports}

// JSON cannot name a TypeScript string enum: compare with the enum's values instead.
type Loose<T> = T extends string ? `${{T}}`
  : T extends readonly (infer U)[] ? Loose<U>[]
  : T extends object ? {{ [K in keyof T]: Loose<T[K]> }}
  : T;
// Data source annotations carry the data source's query as their target.
type Annotation = Omit<Loose<AnnotationQuery>, 'target'>
  & {{ target?: Loose<DataQuery> & Record<string, unknown> }};
// grafana-foundation-sdk writes auto/auto_min/auto_count on every variable: Grafana's CUE schema
// has them on all variables, its TypeScript type only on interval variables.
type Variable = NonNullable<NonNullable<Loose<Dashboard>['templating']>['list']>[number]
  & {{ auto?: boolean; auto_min?: string; auto_count?: number }};
type Checked = Omit<Loose<Dashboard>, 'annotations' | 'templating'>
  & {{ annotations?: {{ list?: Annotation[] }}; templating?: {{ list?: Variable[] }} }};
"""


def typescript_for(board: dict) -> str:
    imports = "\n".join(
        f"import type * as {kind} from "
        f"'@grafana/schema/dist/esm/raw/composable/{kind}/panelcfg/x/{module}_types.gen.js';"
        for kind, (module, _) in PANEL_TYPES.items()
    )
    lines = [
        PRELUDE.format(imports=imports),
        f"export const dashboard: Checked = {json.dumps(board, indent=1)};",
    ]
    for panel in board["panels"]:
        kind = panel["type"]
        module, has_field_config = PANEL_TYPES[kind]
        name = panel["id"]
        lines.append(
            f"export const options{name}: Loose<{kind}.Options> = {json.dumps(panel['options'])};"
        )
        if has_field_config:
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
            # Grafana fills missing custom field options with the plugin's defaults: Partial.
            config = f"Partial<Loose<{kind}.FieldConfig>>"
            lines.append(f"export const custom{name}: {config} = {json.dumps(custom)};")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("node/npm not installed")
    cache = (
        Path(os.environ.get("KPIFLOW_NPM_CACHE", Path.home() / ".cache" / "kpiflow"))
        / "grafana-schema-11.6.0"
    )
    modules = cache / "node_modules"
    if (
        not (modules / "@grafana" / "schema" / "package.json").exists()
        or not (modules / "typescript").exists()
    ):
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "package.json").write_text('{"name": "kpiflow-schema-check", "private": true}\n')
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--silent", SCHEMA, TYPESCRIPT],
                cwd=cache,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm install timed out (no registry?)")
        if done.returncode != 0:
            pytest.skip(f"npm install failed (no registry?): {done.stderr.strip()[-300:]}")
    return modules


def _tsc(node_modules: Path, folder: Path, files: dict[str, str]) -> subprocess.CompletedProcess:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "node_modules").symlink_to(node_modules, target_is_directory=True)
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "module": "esnext",
            "moduleResolution": "bundler",
            "target": "es2022",
            "skipLibCheck": True,
        },
        "files": sorted(files),
    }
    (folder / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    tsc = node_modules / "typescript" / "bin" / "tsc"
    return subprocess.run(
        [shutil.which("node"), str(tsc), "-p", str(folder / "tsconfig.json")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_dashboards_type_check_against_grafana_schema(node_modules, tmp_path):
    boards = build_all(Options(), ["north", "west's"])
    files = {f"{b.uid.replace('-', '_')}.ts": typescript_for(b.json) for b in boards}
    done = _tsc(node_modules, tmp_path, files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_type_check_catches_mistakes(node_modules, tmp_path):
    """Negative control: an unknown key, a wrong enum value and a wrong option are all reported."""
    (board,) = [b for b in build_all(Options(), []) if b.uid == "kpiflow-growth"]
    broken = json.loads(json.dumps(board.json))
    broken["bogus"] = 1
    broken["graphTooltip"] = 7
    panel = next(p for p in broken["panels"] if p["type"] == "timeseries")
    panel["options"]["legend"]["displayMode"] = "lst"
    done = _tsc(node_modules, tmp_path, {"broken.ts": typescript_for(broken)})
    assert done.returncode != 0
    assert "'7' is not assignable" in done.stdout or "bogus" in done.stdout
    assert '"lst"' in done.stdout

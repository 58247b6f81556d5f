"""Regenerate the bundled Kubernetes schemas (gitops_guard/schemas/kubernetes.json).

    python scripts/vendor_schemas.py [--wheel kubernetes_validate-1.37.0-py3-none-any.whl]
                                     [--versions 1.35 1.36 1.37]

Source: the JSON schemas inside the `kubernetes-validate` wheel on PyPI (Apache-2.0, derived
from the Kubernetes OpenAPI spec). Without --wheel the script runs `pip download` for it.

What is kept, and how (so the bundle stays small and faithful to upstream):
- every definition of the chosen versions, with `description`s and patch/merge hints removed;
- each definition stored once, keyed by a hash of its content, shared across versions;
- per version: apiVersion/kind -> definition name, and definition name -> hash;
- `oneOf` between nullable scalar types (IntOrString, Quantity) becomes `anyOf`: with `null`
  allowed in both branches, `oneOf` would reject an explicit null that the API server accepts.
Strictness (`additionalProperties: false`) is not stored: the check applies it when it loads
a definition, so there is one copy for strict and non-strict validation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gitops_guard.checks.schema.walk import rebuild  # noqa: E402

OUT = ROOT / "gitops_guard" / "schemas"
SOURCE_PACKAGE = "kubernetes-validate"
SOURCE_VERSION = "1.37.0"
DEFAULT_VERSIONS = ("1.35", "1.36", "1.37")

_DROP = ("description", "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key",
         "x-kubernetes-unions", "x-kubernetes-map-type", "x-kubernetes-group-version-kind")


def clean(schema: Any) -> Any:
    """Drop documentation-only keywords; walk only schema positions, never property names."""
    return rebuild(schema, _clean_node)


def _clean_node(node: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in node.items() if key not in _DROP}
    if isinstance(out.get("oneOf"), list) and all(
            isinstance(branch, dict) and set(branch) == {"type"} for branch in out["oneOf"]):
        out["anyOf"] = out.pop("oneOf")
    return out


def digest(definition: Any) -> str:
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_wheel(wheel: Path, versions: list[str]) -> tuple[dict[str, dict[str, Any]], str]:
    definitions: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for version in versions:
            member = (f"kubernetes_validate/kubernetes-json-schema/v{version}.0-local/"
                      "_definitions.json")
            if member not in names:
                raise SystemExit(f"{wheel.name} has no schemas for Kubernetes {version}")
            definitions[version] = json.loads(archive.read(member))["$defs"]
        licences = [n for n in names if n.endswith("/LICENSE") and ".dist-info/" in n]
        licence = archive.read(licences[0]).decode() if licences else ""
    return definitions, licence


def build(per_version: dict[str, dict[str, Any]]) -> dict[str, Any]:
    store: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    for version, definitions in per_version.items():
        kinds: dict[str, str] = {}
        hashes: dict[str, str] = {}
        for name, definition in definitions.items():
            gvks = definition.get("x-kubernetes-group-version-kind", [])
            if len(gvks) == 1:  # DeleteOptions and WatchEvent carry every group: not objects
                gvk = gvks[0]
                api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                kinds[f"{api_version}/{gvk['kind']}"] = name
            cleaned = clean(definition)
            key = digest(cleaned)
            store[key] = cleaned
            hashes[name] = key
        versions[version] = {"kinds": dict(sorted(kinds.items())),
                             "definitions": dict(sorted(hashes.items()))}
    return {
        "format": 1,
        "source": f"{SOURCE_PACKAGE} {SOURCE_VERSION} (Apache-2.0), generated from the "
                  "Kubernetes OpenAPI spec",
        "versions": versions,
        "definitions": dict(sorted(store.items())),
    }


def write(bundle: dict[str, Any], path: Path) -> None:
    """One definition per line: compact, yet a regenerated bundle gives a readable diff."""
    def dump(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    lines = ["{", f'"format":{bundle["format"]},', f'"source":{dump(bundle["source"])},',
             '"versions":{']
    versions = list(bundle["versions"].items())
    for index, (version, data) in enumerate(versions):
        comma = "," if index < len(versions) - 1 else ""
        lines.append(f'{dump(version)}:{dump(data)}{comma}')
    lines.append("},")
    lines.append('"definitions":{')
    items = list(bundle["definitions"].items())
    for index, (key, definition) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"{dump(key)}:{dump(definition)}{comma}")
    lines.append("}")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def download(directory: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--dest", str(directory), f"{SOURCE_PACKAGE}=={SOURCE_VERSION}"], check=True)
    return next(directory.glob("kubernetes_validate-*.whl"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded kubernetes-validate wheel")
    parser.add_argument("--versions", nargs="+", default=list(DEFAULT_VERSIONS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        wheel = args.wheel or download(Path(temp))
        per_version, licence = read_wheel(wheel, args.versions)
    bundle = build(per_version)
    args.out.mkdir(parents=True, exist_ok=True)
    write(bundle, args.out / "kubernetes.json")
    (args.out / "LICENSE-kubernetes-validate").write_text(licence, encoding="utf-8")
    size = (args.out / "kubernetes.json").stat().st_size
    print(f"wrote {args.out / 'kubernetes.json'}: {len(bundle['definitions'])} definitions, "
          f"{size / 1024:.0f} KiB, versions {', '.join(bundle['versions'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Schema locations: kubeconform templates, local directories, URLs with an on-disk cache,
`--offline`, and failures that are reported, never crashes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitops_guard.checks.schema.locations import expand
from tests.conftest import CliRun, write

THING = "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\nspec: {size: big}\n"
THING_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
    },
}


class SchemaServer:
    """A schema host on 127.0.0.1 that counts the requests it gets."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, body = server.files.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[SchemaServer]:
    host = SchemaServer()
    yield host
    host.close()


def run(run_cli: Callable[..., CliRun], root: Path, *args: str) -> CliRun:
    return run_cli("schema", "--format", "json", *args, cwd=root)


def messages(result: CliRun) -> list[tuple[str, str]]:
    return [(f["rule"], f["message"]) for f in result.json()["findings"]]


@pytest.mark.parametrize(("location", "expected"), [
    ("https://example.com/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
     "{{ .ResourceKind }}{{ .KindSuffix }}.json",
     "https://example.com/v1.37.0-standalone-strict/deployment-apps-v1.json"),
    ("schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",
     "schemas/apps/deployment_v1.json"),
    ("schemas", "schemas/v1.37.0-standalone-strict/deployment-apps-v1.json"),
    ("schemas/", "schemas/v1.37.0-standalone-strict/deployment-apps-v1.json"),
    ("fixed.json", "fixed.json"),
])
def test_templates(location: str, expected: str) -> None:
    assert expand(location, "1.37", True, "apps/v1", "Deployment") == expected


def test_kind_suffix_for_core_and_dotted_groups() -> None:
    assert expand("{{ .KindSuffix }}", "1.36", False, "v1", "Pod") == "-v1"
    assert expand("{{ .KindSuffix }}{{ .StrictSuffix }}", "1.36", False,
                  "monitoring.coreos.com/v1", "ServiceMonitor") == "-monitoring-v1"


def test_local_directory_in_kubeconform_layout(tmp_path: Path,
                                               run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"t.yaml": THING,
                     "schemas/v1.37.0-standalone-strict/thing-example-v1.json":
                         json.dumps(THING_SCHEMA)})
    result = run(run_cli, tmp_path, "--schema-location", "schemas")
    assert messages(result) == [("GG-SCHEMA-001", 'spec.size: expected integer, got string "big"')]


def test_local_template_from_config_and_strictness(tmp_path: Path,
                                                   run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {
        "t.yaml": THING.replace("size: big", "size: 1, colour: red"),
        "catalog/example.com/thing_v1.json": json.dumps(THING_SCHEMA),
        ".gitops-guard.yaml": "schema:\n  locations:\n"
                              "    - catalog/{{ .Group }}/{{ .ResourceKind }}_"
                              "{{ .ResourceAPIVersion }}.json\n",
    })
    assert messages(run(run_cli, tmp_path)) == [
        ("GG-SCHEMA-002", 'spec: unknown field "colour"')]
    assert messages(run(run_cli, tmp_path, "--no-strict")) == []


def test_corrupt_local_schema_is_reported(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"t.yaml": THING, "s/thing.json": "{not json"})
    result = run(run_cli, tmp_path, "t.yaml", "--schema-location", "s/{{ .ResourceKind }}.json")
    assert result.code == 1
    assert messages(result) == [("GG-SCHEMA-013", "schema file s/thing.json is not a JSON schema")]


def test_url_location_is_fetched_once_then_cached(tmp_path: Path, server: SchemaServer,
                                                  run_cli: Callable[..., CliRun]) -> None:
    server.files["/example.com/thing_v1.json"] = (200, json.dumps(THING_SCHEMA).encode())
    cache = tmp_path / "cache"
    write(tmp_path, {"repo/t.yaml": THING, "repo/.gitops-guard.yaml":
                     f"schema:\n  cache_dir: {cache}\n  locations:\n"
                     f"    - {server.base}/missing/{{{{ .ResourceKind }}}}.json\n"
                     f"    - {server.base}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_"
                     f"{{{{ .ResourceAPIVersion }}}}.json\n"})
    first = run(run_cli, tmp_path / "repo")
    assert messages(first) == [("GG-SCHEMA-001", 'spec.size: expected integer, got string "big"')]
    assert server.requests == ["/missing/thing.json", "/example.com/thing_v1.json"]
    assert len(list(cache.glob("*.json"))) == 1

    second = run(run_cli, tmp_path / "repo")
    assert messages(second) == messages(first)
    # The 404 is asked again (nothing to cache), the schema is not.
    assert server.requests == ["/missing/thing.json", "/example.com/thing_v1.json",
                               "/missing/thing.json"]


def test_corrupt_cache_entry_is_fetched_again(tmp_path: Path, server: SchemaServer,
                                              run_cli: Callable[..., CliRun]) -> None:
    server.files["/thing.json"] = (200, json.dumps(THING_SCHEMA).encode())
    cache = tmp_path / "cache"
    write(tmp_path, {"repo/t.yaml": THING, "repo/.gitops-guard.yaml":
                     f"schema: {{cache_dir: {cache}, locations: ['{server.base}/thing.json']}}\n"})
    run(run_cli, tmp_path / "repo")
    [entry] = cache.glob("*.json")
    entry.write_text("{truncated", encoding="utf-8")
    result = run(run_cli, tmp_path / "repo")
    assert messages(result) == [("GG-SCHEMA-001", 'spec.size: expected integer, got string "big"')]
    assert server.requests == ["/thing.json", "/thing.json"]
    assert json.loads(entry.read_text(encoding="utf-8")) == THING_SCHEMA


def test_offline_never_downloads(tmp_path: Path, server: SchemaServer,
                                 run_cli: Callable[..., CliRun]) -> None:
    server.files["/thing.json"] = (200, json.dumps(THING_SCHEMA).encode())
    write(tmp_path, {"repo/t.yaml": THING, "repo/.gitops-guard.yaml":
                     f"schema: {{cache_dir: {tmp_path / 'cache'}, "
                     f"locations: ['{server.base}/thing.json']}}\n"})
    result = run(run_cli, tmp_path / "repo", "--offline")
    assert [rule for rule, _ in messages(result)] == ["GG-SCHEMA-003"]
    assert server.requests == []


def test_built_in_kinds_never_touch_locations(tmp_path: Path, server: SchemaServer,
                                              run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
    result = run(run_cli, tmp_path, "--schema-location", f"{server.base}/{{{{ .ResourceKind }}}}")
    assert result.code == 0
    assert server.requests == []


@pytest.mark.parametrize(("status", "body", "message"), [
    (500, b"boom", "failed: HTTP 500"),
    (200, b"<html>not json</html>", "did not return a JSON schema"),
])
def test_server_failures_are_findings(tmp_path: Path, server: SchemaServer,
                                      run_cli: Callable[..., CliRun], status: int, body: bytes,
                                      message: str) -> None:
    server.files["/thing.json"] = (status, body)
    write(tmp_path, {"repo/t.yaml": THING, "repo/.gitops-guard.yaml":
                     f"schema: {{cache_dir: {tmp_path / 'cache'}, "
                     f"locations: ['{server.base}/thing.json']}}\n"})
    result = run(run_cli, tmp_path / "repo")
    assert result.code == 1
    [(rule, text)] = messages(result)
    assert rule == "GG-SCHEMA-013" and message in text
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").glob("*.json")) == []


def test_unreachable_host_is_a_finding(tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"t.yaml": THING})
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    result = run(run_cli, tmp_path, "--schema-location", "http://127.0.0.1:9/thing.json")
    [(rule, text)] = messages(result)
    assert rule == "GG-SCHEMA-013" and "downloading http://127.0.0.1:9/thing.json failed" in text


def test_schemas_with_remote_refs_are_not_followed(tmp_path: Path, server: SchemaServer,
                                                   run_cli: Callable[..., CliRun]) -> None:
    server.files["/defs.json"] = (200, json.dumps({"type": "integer"}).encode())
    remote = {"type": "object", "properties": {"spec": {"$ref": f"{server.base}/defs.json"}}}
    write(tmp_path, {"t.yaml": THING, "s/thing.json": json.dumps(remote)})
    result = run(run_cli, tmp_path, "t.yaml", "--schema-location", "s/{{ .ResourceKind }}.json")
    [(rule, text)] = messages(result)
    assert rule == "GG-SCHEMA-013"
    assert "cannot be used" in text
    assert server.requests == []


def test_flag_locations_are_relative_to_the_working_directory(
        git_repo: Path, run_cli: Callable[..., CliRun]) -> None:
    write(git_repo, {".gitops-guard.yaml": "schema: {}\n",
                     "apps/t.yaml": THING, "apps/s/thing.json": json.dumps(THING_SCHEMA)})
    result = run(run_cli, git_repo / "apps", "t.yaml", "--schema-location",
                 "s/{{ .ResourceKind }}.json")
    assert messages(result) == [("GG-SCHEMA-001", 'spec.size: expected integer, got string "big"')]


def test_offline_still_uses_what_is_cached(tmp_path: Path, server: SchemaServer,
                                           run_cli: Callable[..., CliRun]) -> None:
    server.files["/thing.json"] = (200, json.dumps(THING_SCHEMA).encode())
    write(tmp_path, {"repo/t.yaml": THING, "repo/.gitops-guard.yaml":
                     f"schema: {{cache_dir: {tmp_path / 'cache'}, "
                     f"locations: ['{server.base}/thing.json']}}\n"})
    online = run(run_cli, tmp_path / "repo")
    offline = run(run_cli, tmp_path / "repo", "--offline")
    assert messages(offline) == messages(online)
    assert [rule for rule, _ in messages(offline)] == ["GG-SCHEMA-001"]
    assert server.requests == ["/thing.json"]

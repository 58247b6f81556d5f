"""Loading files: roles, List expansion, Helm templates, encodings, and every way a read fails."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_guard.documents import DocRole, FileKind, file_lines
from gitops_guard.loader import classify, load_file
from tests.conftest import CliRun, write

LIMIT = 1024 * 1024


def load(tmp_path: Path, name: str, content: str | bytes, limit: int = LIMIT):  # type: ignore[no-untyped-def]
    write(tmp_path, {name: content})
    return load_file(tmp_path / name, name, limit)


@pytest.mark.parametrize(("data", "filename", "role"), [
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, "a.yaml",
     DocRole.RESOURCE),
    ({"apiVersion": "v1", "kind": "List", "items": []}, "a.yaml", DocRole.LIST),
    ({"apiVersion": "v1", "kind": "ConfigMapList", "items": [{}]}, "a.yaml", DocRole.LIST),
    ({"apiVersion": "v1", "kind": "List"}, "a.yaml", DocRole.RESOURCE),
    ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "a.yaml", DocRole.INCOMPLETE),
    ({"apiVersion": "v1", "metadata": {"name": "x"}}, "a.yaml", DocRole.INCOMPLETE),
    ({"metadata": {"name": "x"}, "spec": {}}, "a.yaml", DocRole.INCOMPLETE),
    ({"resources": ["a.yaml"]}, "kustomization.yaml", DocRole.KUSTOMIZATION),
    ({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}, "k.yaml",
     DocRole.KUSTOMIZATION),
    # Flux's Kustomization is a real object, not a kustomize file
    ({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
      "metadata": {"name": "x"}}, "flux.yaml", DocRole.RESOURCE),
    ({"apiVersion": "v1", "kind": "Secret", "sops": {"mac": "ENC[..]", "version": "3.9.0"}},
     "s.yaml", DocRole.SOPS),
    ({"apiVersion": "v1", "kind": "Secret", "sops": {"version": "3.9.0"}}, "s.yaml",
     DocRole.RESOURCE),
    ({"replicaCount": 2, "image": {"tag": "1.0"}}, "values.yaml", DocRole.DATA),
    ({"apiVersion": "v2", "name": "web", "version": "1.0.0"}, "Chart.yaml", DocRole.DATA),
    ({"apiVersion": "v1", "kind": "Config", "clusters": []}, "kubeconfig.yaml", DocRole.DATA),
    ({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"}, "k.yaml",
     DocRole.DATA),
    ({"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration"}, "k.yaml",
     DocRole.DATA),
    (None, "a.yaml", DocRole.EMPTY),
    (["a"], "a.yaml", DocRole.NOT_MAPPING),
    ("text", "a.yaml", DocRole.NOT_MAPPING),
])
def test_classify(data: object, filename: str, role: DocRole) -> None:
    assert classify(data, filename) is role


def test_list_items_become_documents_with_prefixed_pointers(tmp_path: Path) -> None:
    source = load(tmp_path, "list.yaml", """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
  - apiVersion: v1
    kind: Service
    metadata:
      name: b
      name: c
  - just a string
""")
    roles = [(d.role, d.prefix, d.line) for d in source.documents]
    assert roles == [(DocRole.LIST, "", 1), (DocRole.RESOURCE, "/items/0", 4),
                     (DocRole.RESOURCE, "/items/1", 7), (DocRole.NOT_MAPPING, "/items/2", 12)]
    service = source.documents[2]
    assert service.locate("/metadata/name") == (11, 13)
    assert [(d.key, d.pointer, d.line) for d in service.duplicates] == [
        ("name", "/metadata/name", 11)]
    assert source.documents[0].duplicates == ()
    resource = service.resource
    assert resource is not None and (resource.kind, resource.name) == ("Service", "c")


def test_json_file_documents_and_lines(tmp_path: Path) -> None:
    text = '{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "x"}\n}'
    source = load(tmp_path, "cm.json", text)
    assert source.kind is FileKind.JSON
    [doc] = source.documents
    assert doc.role is DocRole.RESOURCE
    assert doc.locate("/metadata/name") == (4, 24)
    assert doc.locate("/metadata", at_key=True) == (4, 3)


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("chart/templates/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n", FileKind.YAML),
    ("anywhere.yaml", "metadata:\n  name: {{ .Values.name }}\n", FileKind.HELM_TEMPLATE),
    ("quoted.yaml", 'image: "{{ .Values.image }}"\n', FileKind.HELM_TEMPLATE),
    ("helpers.yaml", '{{- include "x.labels" . }}\n', FileKind.HELM_TEMPLATE),
    # template syntax that breaks YAML is a template, whatever the functions
    ("broken.yaml", "a: {{ foo }}\nb: [\n", FileKind.HELM_TEMPLATE),
    # Prometheus and Argo Workflows templates inside strings are plain, checkable YAML
    ("rule.yaml", 'description: "{{ $labels.instance }} is down ({{ $value }})"\n',
     FileKind.YAML),
    ("wf.yaml", 'args: ["{{inputs.parameters.message}}"]\n', FileKind.YAML),
])
def test_helm_templates_are_labelled(tmp_path: Path, name: str, content: str,
                                     kind: FileKind) -> None:
    assert load(tmp_path, name, content).kind is kind


def test_chart_templates_are_not_findings(tmp_path: Path,
                                          run_cli: Callable[..., CliRun]) -> None:
    write(tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
                     "chart/values.yaml": "replicas: 2\n",
                     "chart/templates/deploy.yaml": "replicas: {{ .Values.replicas }}\n"})
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert (result.code, result.json()["findings"]) == (0, [])


def test_chart_templates_dir_needs_a_chart(tmp_path: Path) -> None:
    write(tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n"})
    source = load(tmp_path, "chart/templates/deploy.yaml", "apiVersion: v1\nkind: ConfigMap\n")
    assert source.kind is FileKind.HELM_TEMPLATE
    assert source.documents == []


def test_other_files_are_text(tmp_path: Path) -> None:
    source = load(tmp_path, ".env", "A=1\n")
    assert source.kind is FileKind.TEXT
    assert source.text == "A=1\n"


@pytest.mark.parametrize(("content", "rule", "line", "column", "message"), [
    (b"a: 1\n\xff\xfe\n", "GG-MANIFEST-008", 2, 1, "invalid UTF-8 (byte 0xff)"),
    # columns count characters, not bytes
    ("a: 1\nb: é\xff".encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"),
     "GG-MANIFEST-008", 2, 5, "invalid UTF-8"),
    ("x: é\x00".encode(), "GG-MANIFEST-011", 1, 5, "NUL bytes"),
    (b"\xef\xbb\xbfab\x00", "GG-MANIFEST-011", 1, 3, "NUL bytes"),  # the BOM is no column
    (b"a: 1\nb: \x00\n", "GG-MANIFEST-011", 2, 4, "NUL bytes"),
    ("a: 1".encode("utf-16"), "GG-MANIFEST-008", 1, 1, "UTF-16"),
    (b"a: [\n", "GG-MANIFEST-001", 2, 1, "did not find expected node content"),
])
def test_bad_bytes(tmp_path: Path, content: bytes, rule: str, line: int, column: int,
                   message: str) -> None:
    source = load(tmp_path, "bad.yaml", content)
    assert source.error is not None
    assert (source.error.rule, source.error.line, source.error.column) == (rule, line, column)
    assert message in source.error.message


def test_bom_is_skipped(tmp_path: Path) -> None:
    source = load(tmp_path, "bom.yaml", "\ufeffapiVersion: v1\nkind: ConfigMap\n".encode())
    assert source.error is None
    assert source.documents[0].data == {"apiVersion": "v1", "kind": "ConfigMap"}


def test_size_limit(tmp_path: Path) -> None:
    source = load(tmp_path, "big.yaml", "a: " + "x" * 2000 + "\n", limit=1000)
    assert source.error is not None and source.error.rule == "GG-MANIFEST-010"
    assert "2,004 bytes, over the 1,000-byte limit" in source.error.message


def test_other_text_files_that_cannot_be_read_are_skipped_quietly(tmp_path: Path) -> None:
    # They are read only for secrets; a large README or a dangling link is no manifest error.
    (tmp_path / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    for source in (load(tmp_path, "README.md", "x" * 2000, limit=1000),
                   load_file(tmp_path / "dangling.md", "dangling.md", LIMIT),
                   load(tmp_path, "logo.txt", b"\x89PNG\x00\x00")):
        assert (source.error, source.text) == (None, None)


def test_vanished_file(tmp_path: Path) -> None:
    source = load_file(tmp_path / "gone.yaml", "gone.yaml", LIMIT)
    assert source.error is not None
    assert (source.error.rule, source.error.message) == (
        "GG-MANIFEST-009", "file disappeared before it could be read")


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    source = load_file(tmp_path / "a.yaml", "a.yaml", LIMIT)
    assert source.error is not None and source.error.message == "symbolic link loop"


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").mkdir()
    source = load_file(tmp_path / "x.yaml", "x.yaml", LIMIT)
    assert source.error is not None and "not a regular file" in source.error.message


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    source = load_file(tmp_path / "pipe.yaml", "pipe.yaml", LIMIT)  # must not block
    assert source.error is not None and "not a regular file" in source.error.message


def test_findings_after_a_unicode_line_separator_are_at_file_lines(
        tmp_path: Path, run_cli: Callable[..., CliRun]) -> None:
    # U+2028 in a value and a lone CR in a comment are line breaks to the YAML parser only;
    # findings name the lines an editor, git and CI annotations show.
    write(tmp_path, {
        "dup.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a  # x\r# more\n'
                    'data:\n  note: "para\u2028graph"\n  b: "1"\n  b: "2"\n---\n'
                    'apiVersion: v1\nkind: ConfigMap\ndata: {}\n',
        "broken.yaml": 'a: "para\u2029graph"\nb: [\n'})
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    findings = sorted(result.findings())
    assert ("GG-MANIFEST-001", "broken.yaml", 3) in findings
    assert ("GG-MANIFEST-002", "dup.yaml", 8) in findings
    assert ("GG-MANIFEST-005", "dup.yaml", 10) in findings, findings
    duplicate = next(f for f in result.json()["findings"] if f["rule"] == "GG-MANIFEST-002")
    assert "first defined at line 7" in duplicate["message"]


@pytest.mark.parametrize(("text", "lines"), [
    ("a\nb\n", ["a", "b", ""]),
    ("a\r\nb", ["a", "b"]),
    ("a\u2028b\x85c\u2029d\re\x0bf\x1cg\nh", ["a\u2028b\x85c\u2029d\re\x0bf\x1cg", "h"]),
    ("", [""]),
])
def test_file_lines_are_the_lines_findings_number(text: str, lines: list[str]) -> None:
    assert file_lines(text) == lines

"""`.sops.yaml`: finding it, reading it as sops does, choosing the rule for a file."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from gitops_guard.errors import GuardError
from gitops_guard.sops.config import (
    CreationRule,
    SopsConfig,
    StoresSettings,
    find_sops_config,
    load_sops_config,
    relative_to_config,
)
from gitops_guard.sops.metadata import AgeKey, KeyGroup, PgpKey

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = SHARED / "interop" / "sops"
needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")

AGE_A = "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29"
AGE_B = "age1henwn645drkd3fa34t27t2w2x0nsgw3w4h62gmg5x5xflyjpy38s5cncph"
FP_A = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
FP_B = "D7229043384BCC60326C6FB9D8720D957C3D3074"


def config(tmp_path: Path, text: str) -> SopsConfig:
    path = tmp_path / ".sops.yaml"
    path.write_text(textwrap.dedent(text))
    return load_sops_config(path)


def age_group(*recipients: str) -> KeyGroup:
    return KeyGroup(age=tuple(AgeKey(r, "") for r in recipients))


def pgp_group(*fingerprints: str) -> KeyGroup:
    return KeyGroup(pgp=tuple(PgpKey(fp, "", "") for fp in fingerprints))


# -- finding -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("files", "cwd", "expected"), [
    ([".sops.yaml"], ".", ".sops.yaml"),
    ([".sops.yaml"], "a/b", ".sops.yaml"),
    ([".sops.yaml", "a/.sops.yaml"], "a/b", "a/.sops.yaml"),
    ([".sops.yaml", "a/b/.sops.yaml"], "a/b", "a/b/.sops.yaml"),
    (["a/b/.sops.yaml"], "a", None),  # never downwards
    ([], "a/b", None),
])
def test_found_from_the_working_directory_up(files: list[str], cwd: str, expected: str | None,
                                             tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    for name in files:
        (root / name).write_text("creation_rules: []\n")
    found = find_sops_config(None, root / cwd, {})
    assert found == (None if expected is None else root / expected)


def test_explicit_and_sops_config_env(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text("{}\n")
    (tmp_path / "other.yaml").write_text("{}\n")
    assert find_sops_config("other.yaml", tmp_path, {}) == tmp_path / "other.yaml"
    from_env = find_sops_config(None, tmp_path, {"SOPS_CONFIG": "other.yaml"})
    assert from_env == tmp_path / "other.yaml"
    # The flag wins over the environment, as in sops.
    env = {"SOPS_CONFIG": "missing.yaml"}
    assert find_sops_config(str(tmp_path / "other.yaml"), tmp_path, env) == tmp_path / "other.yaml"
    with pytest.raises(GuardError, match="sops config file not found"):
        find_sops_config(None, tmp_path, env)


def test_sops_yml_is_ignored_with_a_warning(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / ".sops.yml").write_text("creation_rules: []\n")
    warnings: list[str] = []
    assert find_sops_config(None, inner, {}, warn=warnings.append) is None
    assert warnings == [f"ignoring {inner / '.sops.yml'}: the sops config must be called "
                        ".sops.yaml"]
    (tmp_path / ".sops.yaml").write_text("creation_rules: []\n")
    warnings.clear()
    assert find_sops_config(None, inner, {}, warn=warnings.append) == tmp_path / ".sops.yaml"
    assert warnings[0].endswith(f"using {tmp_path / '.sops.yaml'}")


@pytest.mark.parametrize(("depth", "found"), [(99, True), (100, False)])
def test_search_stops_after_100_directories(depth: int, found: bool, tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d"] * depth)
    deep.mkdir(parents=True)
    (tmp_path / ".sops.yaml").write_text("creation_rules: []\n")
    assert (find_sops_config(None, deep, {}) is not None) is found


# -- reading the configs found in the wild -----------------------------------------------------

@needs_vectors
def test_flux_config_with_anchors() -> None:
    loaded = load_sops_config(VECTORS / "fluxcd-kustomize-controller" / ".sops.yaml")
    assert loaded.stores == StoresSettings(yaml_indent=2, json_indent=2)
    rules = loaded.creation_rules
    assert rules is not None
    pgp = pgp_group("35C1A64CD7FC0AB6EB66756B2445463C3234ECE1")
    assert [(r.path_regex, r.key_groups, r.selector.field) for r in rules] == [
        (r"(inside|pgp)\.yaml$", (pgp,), ("encrypted_regex", "^(data|stringData)$")),
        (r"json\.yaml$", (age_group(AGE_A),), ("encrypted_regex", ".*")),
        (r"\.yaml$", (age_group(AGE_A),), ("encrypted_regex", "^(data|stringData)$")),
        (r"\.(env|txt)$", (age_group(AGE_A),), None),
        ("", (age_group(AGE_A), pgp), None),
    ]
    assert [r.line for r in rules] == [10, 14, 18, 22, 26]


@needs_vectors
@pytest.mark.parametrize(("file", "index"), [
    ("algorithms/pgp.yaml", 0),
    ("x/pgp.yaml", 0),
    ("inside/secret.yaml", 2),
    ("algorithms/age.yaml", 2),
    ("x/json.yaml", 1),
    ("envs/env.env", 3),
    ("files/file.txt", 3),
    ("notes.md", 4),
])
def test_flux_rules_first_match_wins(file: str, index: int) -> None:
    directory = VECTORS / "fluxcd-kustomize-controller"
    loaded = load_sops_config(directory / ".sops.yaml")
    assert loaded.rule_for(directory / file).index == index


@needs_vectors
@pytest.mark.parametrize(("file", "outcome"), [
    ("test_roundtrip_keygroups.yaml", (pgp_group(FP_A), pgp_group(FP_B))),
    ("test_no_keygroups.yaml", "creation_rules[2] names no keys"),
    ("test_zero_keygroups.yaml", "creation_rules[3] names no keys"),
    ("test_empty_keygroup.yaml", "creation_rules[4] names no keys"),
    ("anything_else.json", (pgp_group(FP_A),)),
])
def test_sops_functional_test_config(file: str, outcome: tuple[KeyGroup, ...] | str) -> None:
    directory = VECTORS / "getsops-sops" / "functional-tests"
    loaded = load_sops_config(directory / ".sops.yaml")
    if isinstance(outcome, str):
        with pytest.raises(GuardError, match=re.escape(outcome)):
            loaded.rule_for(directory / file)
    else:
        assert loaded.rule_for(directory / file).key_groups == outcome


@needs_vectors
def test_helm_secrets_config() -> None:
    directory = VECTORS / "jkroepke-helm-secrets" / "values" / "sops"
    rule = load_sops_config(directory / ".sops.yaml").rule_for(directory / "secrets.yaml")
    assert rule.key_groups == (pgp_group("D6174A02027050E59C711075B430C4E58E2BBBA3"),)


# -- what a rule says ---------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "groups"), [
    (f"age: {AGE_A}", (age_group(AGE_A),)),
    (f"age: ' {AGE_A} , {AGE_B},'", (age_group(AGE_A, AGE_B),)),
    (f"age: [{AGE_A}, '{AGE_B},{AGE_A}']", (age_group(AGE_A, AGE_B),)),
    (f"age: >-\n    {AGE_A},\n    {AGE_B}", (age_group(AGE_A, AGE_B),)),
    (f"pgp: '{FP_A[:20]} {FP_A[20:]},{FP_B}'", (pgp_group(FP_A, FP_B),)),
    (f"pgp: [{FP_A}]\n  age: {AGE_A}", (KeyGroup(age=(AgeKey(AGE_A, ""),),
                                               pgp=(PgpKey(FP_A, "", ""),)),)),
    (f"key_groups:\n  - age: ['{AGE_A},{AGE_B}', {AGE_A}]\n    pgp: [{FP_A}, {FP_A}]\n"
     f"  - age: [{AGE_B}]",
     (KeyGroup(age=(AgeKey(AGE_A, ""), AgeKey(AGE_B, "")), pgp=(PgpKey(FP_A, "", ""),)),
      age_group(AGE_B))),
    # With key_groups, sops ignores the rule's own key fields.
    (f"age: {AGE_A}\n  key_groups:\n  - pgp: [{FP_A}]", (pgp_group(FP_A),)),
    (f"key_groups:\n  - merge:\n    - age: [{AGE_B}]\n    age: [{AGE_A}]",
     (age_group(AGE_B, AGE_A),)),
    (f"key_groups: []\n  age: {AGE_A}", (age_group(AGE_A),)),
])
def test_keys_of_a_rule(rule: str, groups: tuple[KeyGroup, ...], tmp_path: Path) -> None:
    loaded = config(tmp_path, f"creation_rules:\n- {rule}\n")
    assert loaded.rule_for(tmp_path / "f.yaml").key_groups == groups


def test_rule_settings(tmp_path: Path) -> None:
    loaded = config(tmp_path, f"""\
        creation_rules:
        - path_regex: secret
          key_groups: [{{age: [{AGE_A}]}}, {{age: [{AGE_B}]}}, {{pgp: [{FP_A}]}}]
          shamir_threshold: 2
          unencrypted_regex: ^metadata$
          mac_only_encrypted: true
        """)
    rule = loaded.rule_for(tmp_path / "secret.yaml")
    assert rule == CreationRule(index=0, line=2, path_regex="secret",
                                key_groups=rule.key_groups, shamir_threshold=2,
                                selector=rule.selector, mac_only_encrypted=True)
    assert rule.selector.field == ("unencrypted_regex", "^metadata$")
    assert len(rule.key_groups) == 3


def test_merge_keys_and_anchors(tmp_path: Path) -> None:
    loaded = config(tmp_path, f"""\
        x-defaults: &defaults
          encrypted_regex: ^(data|stringData)$
          age: {AGE_A}
        creation_rules:
        - <<: *defaults
          path_regex: prod/
          age: {AGE_B}
        - *defaults
        """)
    prod = loaded.rule_for(tmp_path / "prod" / "s.yaml")
    assert prod.key_groups == (age_group(AGE_B),)  # the written key wins over the merged one
    assert prod.selector.field == ("encrypted_regex", "^(data|stringData)$")
    assert loaded.rule_for(tmp_path / "dev" / "s.yaml").key_groups == (age_group(AGE_A),)


@pytest.mark.parametrize(("text", "stores"), [
    ("stores: {yaml: {indent: 2}, json: {indent: 4}, json_binary: {indent: 0}}",
     StoresSettings(yaml_indent=2, json_indent=4, json_binary_indent=0)),
    ("stores: {yaml: {indent: 0}, json: {indent: -1}}", StoresSettings(json_indent=-1)),
    ("stores: {yaml: {}, json: {indent: null}, dotenv: {}, ini: {}}", StoresSettings()),
    ("stores:", StoresSettings()),
    ("creation_rules: []", StoresSettings()),
])
def test_stores(text: str, stores: StoresSettings, tmp_path: Path) -> None:
    assert config(tmp_path, text + "\n").stores == stores


@pytest.mark.parametrize("text", ["", "# only a comment\n", "stores: {}\n",
                                  "destination_rules: []\n", "creation_rules:\n"])
def test_no_creation_rules(text: str, tmp_path: Path) -> None:
    loaded = config(tmp_path, text)
    assert loaded.creation_rules is None
    with pytest.raises(GuardError, match="has no creation_rules"):
        loaded.rule_for(tmp_path / "x.yaml")


# -- which rule matches --------------------------------------------------------------------------

@pytest.mark.parametrize(("regex", "file", "matches"), [
    (r"^secrets/", "secrets/a.yaml", True),
    (r"^secrets/", "app/secrets/a.yaml", False),
    (r"secrets/", "app/secrets/a.yaml", True),  # unanchored, like Go's MatchString
    (r"\.enc\.yaml$", "a.enc.yaml", True),
    (r"\.enc\.yaml\z", "a.enc.yaml", True),  # RE2's \z
    (r"(?i)SECRET", "secret.yaml", True),
    (r"^/", "a.yaml", False),
    (r"[^]x]\.yaml$", "a.yaml", True),
])
def test_path_regex_sees_the_path_below_the_config(regex: str, file: str, matches: bool,
                                                   tmp_path: Path) -> None:
    loaded = config(tmp_path, f"creation_rules:\n- path_regex: '{regex}'\n  age: {AGE_A}\n")
    if matches:
        assert loaded.rule_for(tmp_path / file).index == 0
    else:
        with pytest.raises(GuardError, match="no matching creation rules found for "):
            loaded.rule_for(tmp_path / file)


def test_relative_paths(tmp_path: Path) -> None:
    sops_yaml = tmp_path / "repo" / ".sops.yaml"
    assert relative_to_config(tmp_path / "repo" / "a" / "b.yaml", sops_yaml) == "a/b.yaml"
    assert relative_to_config(Path("a/../c.yaml"), sops_yaml, tmp_path / "repo") == "c.yaml"
    # Outside the config's directory the whole absolute path is matched.
    assert relative_to_config(tmp_path / "x.yaml", sops_yaml) == f"{tmp_path.as_posix()}/x.yaml"
    assert relative_to_config(Path("/etc/x.yaml"), Path("/.sops.yaml")) == "etc/x.yaml"


def test_no_rule_matches(tmp_path: Path) -> None:
    loaded = config(tmp_path, f"creation_rules:\n- path_regex: prod\n  age: {AGE_A}\n")
    with pytest.raises(GuardError) as caught:
        loaded.rule_for(tmp_path / "dev" / "s.yaml")
    assert str(caught.value) == (f"{tmp_path / '.sops.yaml'}: no matching creation rules found "
                                 "for dev/s.yaml")


# -- errors, with the file and line --------------------------------------------------------------

@pytest.mark.parametrize(("text", "message", "line"), [
    ("creation_rules: {age: x}\n", "creation_rules must be a list", 1),
    ("creation_rules:\n- just text\n", "creation_rules[0] must be a mapping", 2),
    ("- a list\n", "the sops config must be a mapping", 1),
    ("creation_rules:\n- age: x\n  encrypted_regex: a\n  unencrypted_suffix: _u\n",
     "creation_rules[0]: only one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, "
     "encrypted_regex, unencrypted_comment_regex, encrypted_comment_regex may be set; it sets "
     "unencrypted_suffix and encrypted_regex", 4),
    ("creation_rules:\n- age: x\n  shamir_threshold: two\n",
     "creation_rules[0].shamir_threshold must be a whole number", 3),
    ("creation_rules:\n- age: x\n  shamir_threshold: -1\n",
     "creation_rules[0].shamir_threshold must not be negative", 3),
    ("creation_rules:\n- age: x\n  mac_only_encrypted: 3\n",
     "creation_rules[0].mac_only_encrypted must be true or false", 3),
    ("creation_rules:\n- age: 12\n", "creation_rules[0].age must be a string or a list", 2),
    ("creation_rules:\n- pgp: [{fp: x}]\n", "creation_rules[0].pgp item must be a string", 2),
    ("creation_rules:\n- key_groups:\n  - age: one\n",
     "creation_rules[0].key_groups[0].age must be a list of strings", 3),
    ("creation_rules:\n- key_groups: {age: [x]}\n",
     "creation_rules[0].key_groups must be a list", 2),
    ("creation_rules:\n- path_regex: [x]\n", "creation_rules[0].path_regex must be a string", 2),
    ("creation_rules:\n- age: x\n  encrypted_regex: '('\n",
     "creation_rules[0]: encrypted_regex '(' is not a regular expression", 3),
    ("stores:\n  yaml:\n    indent: -2\n", "stores.yaml.indent must be at least 0", 3),
    ("stores:\n  json:\n    indent: -2\n", "stores.json.indent must be at least -1", 3),
    ("stores:\n  json: 4\n", "stores.json must be a mapping", 2),
    ("creation_rules: []\ncreation_rules: []\n", "key 'creation_rules' is already defined at "
     "line 1", 2),
    ("creation_rules:\n  - age: [\n", "", 3),
    ("creation_rules:\n- ? [a]\n  : b\n", "a mapping key is itself a mapping or a list", 2),
])
def test_config_errors(text: str, message: str, line: int, tmp_path: Path) -> None:
    with pytest.raises(GuardError) as caught:
        config(tmp_path, text)
    error = caught.value
    assert (error.path, error.line) == (str(tmp_path / ".sops.yaml"), line)
    assert message in error.message


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(GuardError, match="cannot read the sops config"):
        load_sops_config(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"creation_rules: [\xe9]\n")
    with pytest.raises(GuardError, match="not UTF-8"):
        load_sops_config(tmp_path / "latin1.yaml")


# Problems with keys show when the rule is chosen, so rules for other files do not get in the way.
@pytest.mark.parametrize(("rule", "message"), [
    ("kms: arn:aws:kms:us-east-1:1:key/x", "uses keys gitops-guard cannot use (kms): only age "
     "and pgp keys are supported"),
    ("age: x\n  gcp_kms: [projects/p]\n  hc_vault_transit_uri: https://v/", "(gcp_kms, "
     "hc_vault_transit_uri)"),
    ("azure_keyvault: https://v.vault.azure.net/keys/k/1", "(azure_keyvault)"),
    ("hckms: [k]", "(hckms)"),
    (f"key_groups:\n  - age: [{AGE_A}]\n  - kms: [{{arn: x}}]\n    hc_vault: [u]",
     "(creation_rules[1].key_groups[1].kms, creation_rules[1].key_groups[1].hc_vault)"),
    (f"key_groups:\n  - merge:\n    - azure_keyvault: [{{vaultUrl: u, key: k}}]\n"
     f"    age: [{AGE_A}]", "(creation_rules[1].key_groups[0].merge[0].azure_keyvault)"),
    ("path_regex: ''\n  age: ''\n  pgp: []", "creation_rules[1] names no keys"),
    ("kms: ''\n  aws_profile: p", "creation_rules[1] names no keys"),
    (f"key_groups:\n  - age: [{AGE_A}]\n  - {{}}", "creation_rules[1].key_groups[1] names no keys"),
    (f"key_groups: [{{age: [{AGE_A}]}}, {{age: [{AGE_B}]}}]\n  shamir_threshold: 3",
     "shamir_threshold 3 is more than its 2 key groups"),
    (f"key_groups: [{{age: [{AGE_A}]}}, {{age: [{AGE_B}]}}]\n  shamir_threshold: 1",
     "shamir_threshold must be at least 2"),
    ("age: age1notbech32", "age recipient 'age1notbech32' is not valid"),
    ("age: age1pq1ehusfwsvrente8p6gafr4jemv2urnqfm4c59ng5dgqqzlk2vv9rcekpjxws7ts",
     "post-quantum"),
    ("age: age1yubikey1qgtar0k2elwymtm92ws84zpw2c3ehalxwj8cnevf7lunnva7l8xju03lfl5",
     "plugin keys are not supported"),
    (f"path_regex: '('\n  age: {AGE_A}", "path_regex '(' cannot be used"),
    (f"path_regex: '(?=x)'\n  age: {AGE_A}", "lookaround assertions are not RE2 syntax"),
    (f"path_regex: '(a)\\1'\n  age: {AGE_A}", "backreferences are not RE2 syntax"),
    (f"path_regex: '[[:alpha:]]'\n  age: {AGE_A}", "cannot be used"),
])
def test_rule_errors_when_chosen(rule: str, message: str, tmp_path: Path) -> None:
    loaded = config(tmp_path, f"creation_rules:\n- path_regex: ok\n  age: {AGE_A}\n- {rule}\n")
    assert loaded.rule_for(tmp_path / "ok.yaml").index == 0
    with pytest.raises(GuardError) as caught:
        loaded.rule_for(tmp_path / "other.yaml")
    error = caught.value
    assert (error.path, error.line) == (str(tmp_path / ".sops.yaml"), 4)
    assert message in error.message
    assert error.message.startswith("creation_rules[1]")

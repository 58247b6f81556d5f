"""policy: the built-in pack (Pod Security Standards as the API server enforces them, best
practices) and the team's own policies, all CEL policies as data (docs/policy-format.md).

Rule ids are the policy ids (`pss-baseline-privileged`, `bp-image-tag`, a user's
`require-team-label`). Baseline controls are errors; restricted ones are warnings unless the
profile, or the Namespace's `pod-security.kubernetes.io/enforce` label, says restricted.

FAIL (pss-baseline-privileged)::

    apiVersion: v1
    kind: Pod
    metadata: {name: debug}
    spec:
      containers:
        - name: shell
          image: busybox:1.36
          securityContext: {privileged: true}
"""

from __future__ import annotations

from gitops_guard.checks.base import Check, lazily
from gitops_guard.documents import DocRole

PROFILES = ("baseline", "restricted")

CHECK = Check(
    name="policy",
    description="Pod Security Standards, best practices and the team's own CEL policies.",
    rules=(),
    data_rules=lazily("gitops_guard.checks.policy.catalog", "data_rules"),
    check_document=lazily("gitops_guard.checks.policy.state", "check_document"),
    prepare=lazily("gitops_guard.checks.policy.state", "prepare"),
    roles=frozenset({DocRole.RESOURCE}),
    config_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "profile": {"enum": list(PROFILES),
                        "description": "PSS level enforced where no Namespace label says "
                                       "otherwise (default baseline)"},
            "pss_version": {"type": "string", "pattern": r"^(latest|v?1\.[0-9]+(\.[0-9]+)?)$",
                            "description": "PSS version: 1.NN or latest (default)"},
            "paths": {"type": "array", "items": {"type": "string", "minLength": 1},
                      "description": "files or directories of the team's policies"},
            "packs": {"type": "object",
                      "additionalProperties": {"type": "boolean"},
                      "description": "built-in packs on or off: pss-baseline, pss-restricted, "
                                     "best-practices"},
            "pod_spec_paths": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["apiVersion", "kind", "path"],
                "properties": {"apiVersion": {"type": "string", "minLength": 1},
                               "kind": {"type": "string", "minLength": 1},
                               "path": {"type": "string", "minLength": 1}}}},
        },
    },
)

__all__ = ["CHECK", "PROFILES"]

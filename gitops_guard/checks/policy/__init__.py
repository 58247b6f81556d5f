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

from gitops_guard import confine
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
        "description": "settings of the policy check (docs/policy.md)",
        "properties": {
            "profile": {"enum": list(PROFILES), "default": "baseline",
                        "description": "PSS level enforced where no Namespace label says "
                                       "otherwise"},
            "pss_version": {"type": "string", "pattern": r"^(latest|v?1\.[0-9]+(\.[0-9]+)?)$",
                            "default": "latest",
                            "description": "PSS version where no Namespace label says "
                                           "otherwise: \"1.NN\" or latest"},
            "paths": {"type": "array",
                      "items": {"type": "string", "minLength": 1, confine.READS: confine.PATH},
                      "description": "files or directories of the team's policies"},
            "packs": {"type": "object",
                      "additionalProperties": {"type": "boolean"},
                      "description": "built-in packs on or off: pss-baseline, pss-restricted, "
                                     "best-practices"},
            "pod_spec_paths": {"type": "array", "description": "more kinds that carry a pod "
                               "spec, for the pod-level policies", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["apiVersion", "kind", "path"],
                "properties": {"apiVersion": {"type": "string", "minLength": 1,
                                              "description": "group/version, or a group alone "
                                                             "for every version"},
                               "kind": {"type": "string", "minLength": 1,
                                        "description": "the kind"},
                               "path": {"type": "string", "minLength": 1,
                                        "description": "dotted path of the pod spec "
                                                       "(spec.template.spec)"}}}},
        },
    },
)

__all__ = ["CHECK", "PROFILES"]

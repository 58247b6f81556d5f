"""API versions Kubernetes has removed, with what to use instead.

Taken from the Kubernetes deprecated API migration guide. Only removals matter here: an
apiVersion that the target version still serves is validated against its schema.
"""

from __future__ import annotations

from typing import NamedTuple


class Removal(NamedTuple):
    removed_in: str  # minor version, e.g. "1.22"
    replacement: str | None  # apiVersion to use instead; None when the kind itself is gone


_APPS = ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet")
_RBAC = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")

REMOVED: dict[tuple[str, str], Removal] = {
    **{("extensions/v1beta1", kind): Removal("1.16", "apps/v1") for kind in _APPS[:3]},
    **{("apps/v1beta1", kind): Removal("1.16", "apps/v1") for kind in _APPS},
    **{("apps/v1beta2", kind): Removal("1.16", "apps/v1") for kind in _APPS},
    ("extensions/v1beta1", "NetworkPolicy"): Removal("1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy"): Removal("1.16", None),
    ("extensions/v1beta1", "Ingress"): Removal("1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "Ingress"): Removal("1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"): Removal("1.22", "networking.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"):
        Removal("1.22", "admissionregistration.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"):
        Removal("1.22", "admissionregistration.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"):
        Removal("1.22", "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "APIService"): Removal("1.22", "apiregistration.k8s.io/v1"),
    ("authentication.k8s.io/v1beta1", "TokenReview"): Removal("1.22", "authentication.k8s.io/v1"),
    **{("authorization.k8s.io/v1beta1", kind): Removal("1.22", "authorization.k8s.io/v1")
       for kind in ("LocalSubjectAccessReview", "SelfSubjectAccessReview",
                    "SubjectAccessReview", "SelfSubjectRulesReview")},
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"):
        Removal("1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "Lease"): Removal("1.22", "coordination.k8s.io/v1"),
    **{("rbac.authorization.k8s.io/v1beta1", kind): Removal("1.22", "rbac.authorization.k8s.io/v1")
       for kind in _RBAC},
    **{("rbac.authorization.k8s.io/v1alpha1", kind):
       Removal("1.22", "rbac.authorization.k8s.io/v1") for kind in _RBAC},
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): Removal("1.22", "scheduling.k8s.io/v1"),
    **{("storage.k8s.io/v1beta1", kind): Removal("1.22", "storage.k8s.io/v1")
       for kind in ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment")},
    ("batch/v1beta1", "CronJob"): Removal("1.25", "batch/v1"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): Removal("1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): Removal("1.25", "events.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): Removal("1.25", "autoscaling/v2"),
    ("policy/v1beta1", "PodDisruptionBudget"): Removal("1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): Removal("1.25", None),
    ("node.k8s.io/v1beta1", "RuntimeClass"): Removal("1.25", "node.k8s.io/v1"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): Removal("1.26", "autoscaling/v2"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"):
        Removal("1.26", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration"):
        Removal("1.26", "flowcontrol.apiserver.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): Removal("1.27", "storage.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"):
        Removal("1.29", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration"):
        Removal("1.29", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"):
        Removal("1.32", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"):
        Removal("1.32", "flowcontrol.apiserver.k8s.io/v1"),
}


def removal(api_version: str, kind: str) -> Removal | None:
    return REMOVED.get((api_version, kind))

"""Write a deterministic corpus of realistic Kubernetes manifests for benchmarks.

    python bench/generate.py OUT_DIR --documents 5000 [--seed 1] [--per-file 5]

Apps get a kustomize-like layout (`apps/<app>/<kind>.yaml`), several documents per file, the
shapes real GitOps repos hold: Deployments, StatefulSets, CronJobs, Services, Ingresses,
ConfigMaps, HPAs, ServiceAccounts.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

import yaml

_TEAMS = ("payments", "search", "identity", "catalog", "checkout", "platform", "data", "edge")
_IMAGES = ("nginx", "redis", "postgres", "envoyproxy/envoy", "grafana/grafana", "busybox")


def _labels(app: str, rng: random.Random) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": rng.choice(_TEAMS),
            "app.kubernetes.io/managed-by": "flux"}


def _container(app: str, rng: random.Random) -> dict[str, object]:
    port = rng.choice((80, 8080, 8443, 9090, 3000))
    return {
        "name": app,
        "image": (f"ghcr.io/example/{rng.choice(_IMAGES)}:"
                  f"1.{rng.randint(0, 40)}.{rng.randint(0, 9)}"),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [{"name": f"FEATURE_{i}", "value": str(rng.randint(0, 1))} for i in range(3)],
        "resources": {"requests": {"cpu": f"{rng.choice((50, 100, 250))}m", "memory": "128Mi"},
                      "limits": {"cpu": "1", "memory": f"{rng.choice((256, 512))}Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": port},
                           "periodSeconds": 10},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }


def _pod_template(app: str, rng: random.Random) -> dict[str, object]:
    return {"metadata": {"labels": _labels(app, rng)},
            "spec": {"serviceAccountName": app, "containers": [_container(app, rng)],
                     "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}}


def _meta(app: str, namespace: str, rng: random.Random) -> dict[str, object]:
    return {"name": app, "namespace": namespace, "labels": _labels(app, rng)}


def deployment(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(app, ns, rng),
            "spec": {"replicas": rng.randint(1, 5),
                     "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                     "template": _pod_template(app, rng)}}


def statefulset(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(app, ns, rng),
            "spec": {"serviceName": app, "replicas": 3,
                     "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                     "template": _pod_template(app, rng),
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "10Gi"}}}}]}}


def cronjob(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    template = _pod_template(app, rng)
    template["spec"]["restartPolicy"] = "OnFailure"  # type: ignore[index]
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(app, ns, rng),
            "spec": {"schedule": f"{rng.randint(0, 59)} * * * *",
                     "jobTemplate": {"spec": {"template": template}}}}


def service(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(app, ns, rng),
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": app},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def ingress(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _meta(app, ns, rng),
            "spec": {"ingressClassName": "nginx", "rules": [{
                "host": f"{app}.example.com",
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                    "service": {"name": app, "port": {"name": "http"}}}}]}}]}}


def configmap(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"{app}-config", ns, rng),
            "data": {f"key{i}": f"value-{rng.randint(0, 10**6)}" for i in range(6)}}


def hpa(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(app, ns, rng),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": app},
                     "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}]}}


def service_account(app: str, ns: str, rng: random.Random) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(app, ns, rng)}


GENERATORS: tuple[Callable[[str, str, random.Random], dict[str, object]], ...] = (
    deployment, service, configmap, ingress, statefulset, cronjob, hpa, service_account)


def generate(out: Path, documents: int, seed: int = 1, per_file: int = 5) -> int:
    """Write `documents` documents under `out`; return the number of files written."""
    rng = random.Random(seed)
    written = files = 0
    while written < documents:
        app = f"app-{files:05d}"
        namespace = rng.choice(_TEAMS)
        count = min(per_file, documents - written)
        docs = [GENERATORS[(files + i) % len(GENERATORS)](app, namespace, rng)
                for i in range(count)]
        path = out / "apps" / namespace / f"{app}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        written += count
        files += 1
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-file", type=int, default=5)
    args = parser.parse_args()
    files = generate(args.out, args.documents, args.seed, args.per_file)
    print(f"wrote {args.documents} documents in {files} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

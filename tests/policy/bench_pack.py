"""Benchmark: the whole enabled built-in pack on generated Deployments, in µs per object.

Not a test (pytest does not collect it). Run: `.venv/bin/python -m tests.policy.bench_pack`
[count] [repeats]. Half the Deployments are hardened, half carry three bad settings each.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from gitops_guard.policy.evaluate import Environment, evaluate_all
from gitops_guard.policy.load import load_policy_files

REPO = Path(__file__).resolve().parents[2]
HARDENED_CONTAINER: dict[str, Any] = {
    "image": "registry.example/app:1.4.2",
    "ports": [{"name": "http", "containerPort": 8080}],
    "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"}],
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                  "limits": {"cpu": "500m", "memory": "256Mi"}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    "volumeMounts": [{"name": "config", "mountPath": "/etc/app"},
                     {"name": "tmp", "mountPath": "/tmp"}],
    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"}},
}


def hardened(index: int) -> dict[str, Any]:
    """A Deployment that meets restricted and the best practices."""
    app = {"name": "app", **copy.deepcopy(HARDENED_CONTAINER)}
    sidecar = {"name": "proxy", **copy.deepcopy(HARDENED_CONTAINER),
               "image": "registry.example/proxy:2.0.1"}
    init = {"name": "migrate", **copy.deepcopy(HARDENED_CONTAINER)}
    for key in ("livenessProbe", "readinessProbe", "ports"):
        init.pop(key)
    labels = {"app.kubernetes.io/name": f"web-{index}", "app.kubernetes.io/part-of": "shop"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"web-{index}", "namespace": "shop", "labels": dict(labels),
                     "annotations": {"owner": "team-web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": f"web-{index}"}},
            "template": {
                "metadata": {"labels": dict(labels),
                             "annotations": {"prometheus.io/scrape": "true"}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "fsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "initContainers": [init],
                    "containers": [app, sidecar],
                    "volumes": [{"name": "config", "configMap": {"name": f"web-{index}"}},
                                {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def _host_pid(spec: dict[str, Any]) -> None:
    spec["hostPID"] = True


def _privileged(spec: dict[str, Any]) -> None:
    spec["containers"][0]["securityContext"]["privileged"] = True


def _host_path(spec: dict[str, Any]) -> None:
    spec["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}})


def _host_port(spec: dict[str, Any]) -> None:
    spec["containers"][1]["ports"].append({"containerPort": 9090, "hostPort": 9090})


def _sys_admin(spec: dict[str, Any]) -> None:
    spec["containers"][0]["securityContext"]["capabilities"]["add"] = ["SYS_ADMIN"]


def _root(spec: dict[str, Any]) -> None:
    spec["securityContext"]["runAsUser"] = 0


def _unconfined(spec: dict[str, Any]) -> None:
    spec["initContainers"][0]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}


def _sysctl(spec: dict[str, Any]) -> None:
    spec["securityContext"]["sysctls"] = [{"name": "kernel.msgmax", "value": "65536"}]


def _latest(spec: dict[str, Any]) -> None:
    spec["containers"][1]["image"] = "registry.example/proxy:latest"


def _no_limits(spec: dict[str, Any]) -> None:
    spec["containers"][0]["resources"].pop("limits")


BAD = (_host_pid, _privileged, _host_path, _host_port, _sys_admin, _root, _unconfined,
       _sysctl, _latest, _no_limits)


def deployments(count: int) -> list[dict[str, Any]]:
    """`count` Deployments: even ones hardened, odd ones with three bad settings."""
    found = []
    for index in range(count):
        obj = hardened(index)
        if index % 2:
            spec = obj["spec"]["template"]["spec"]
            for offset in range(3):
                BAD[(index // 2 + offset * 3) % len(BAD)](spec)
        found.append(obj)
    return found


def main(count: int = 2000, repeats: int = 5) -> None:
    policies = tuple(p for p in load_policy_files([REPO / "policies"]) if p.enabled)
    objects = deployments(count)
    env = Environment(pss_version=37, pss_level="baseline")
    violations = sum(len(r.outcomes) for obj in objects for r in evaluate_all(policies, obj, env))
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for obj in objects:
            evaluate_all(policies, obj, env)
        timings.append((time.perf_counter() - start) / count * 1e6)
    print(f"{len(policies)} policies, {count} Deployments, {violations} violations: "
          f"best {min(timings):.0f} µs/object, median {statistics.median(timings):.0f}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))

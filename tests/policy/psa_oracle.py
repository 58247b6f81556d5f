"""An independent, plain-Python model of the Pod Security Admission checks, per version.

Written from the PSA control table (policy/check_*.go semantics), not from the CEL pack, so that
the corpus test can hold three things against each other: the hand-written verdicts, the pack
and this oracle. It looks at a manifest as written (no API defaulting), like the pack does, a
key with a null value counting as absent; `with_api_defaults` applies the one defaulting that
PSA sees and a static checker does not (hostNetwork copies each containerPort into hostPort).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

BASELINE = (
    "windowsHostProcess", "hostNamespaces", "privileged", "capabilities_baseline",
    "hostPathVolumes", "hostPorts", "appArmorProfile", "seLinuxOptions", "procMount",
    "seccompProfile_baseline", "sysctls", "hostProbesAndHostLifecycle",
)
RESTRICTED = (
    "restrictedVolumes", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser",
    "seccompProfile_restricted", "capabilities_restricted", "procMount_restricted",
)
LEVEL = {**dict.fromkeys(BASELINE, "baseline"), **dict.fromkeys(RESTRICTED, "restricted")}

_TEMPLATE_AT = {
    "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"), "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"), "Job": ("spec", "template"),
    "Rollout": ("spec", "template"), "PodTemplate": ("template",),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

_BASELINE_CAPS = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
# sysctl names PSA allows, with the version that first allowed them.
_SYSCTLS = {
    "kernel.shm_rmid_forced": 0, "net.ipv4.ip_local_port_range": 0,
    "net.ipv4.tcp_syncookies": 0, "net.ipv4.ping_group_range": 0,
    "net.ipv4.ip_unprivileged_port_start": 0, "net.ipv4.ip_local_reserved_ports": 27,
    "net.ipv4.tcp_keepalive_time": 29, "net.ipv4.tcp_fin_timeout": 29,
    "net.ipv4.tcp_keepalive_intvl": 29, "net.ipv4.tcp_keepalive_probes": 29,
    "net.ipv4.tcp_rmem": 32, "net.ipv4.tcp_wmem": 32,
    "net.ipv4.tcp_slow_start_after_idle": 37, "net.ipv4.tcp_notsent_lowat": 37,
}
_SELINUX_TYPES = {"": 0, "container_t": 0, "container_init_t": 0, "container_kvm_t": 0,
                  "container_engine_t": 31}
_RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
})
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_GOOD_PROFILE_TYPES = ("RuntimeDefault", "Localhost")


class Pod:
    """The parts of a pod that PSA reads: its metadata and its spec."""

    def __init__(self, meta: dict[str, Any], spec: dict[str, Any]) -> None:
        self.meta = meta
        self.spec = spec
        self.sc: dict[str, Any] = spec.get("securityContext") or {}

    def containers(self) -> Iterator[dict[str, Any]]:
        """Every container PSA visits: init, regular and ephemeral."""
        for key in ("initContainers", "containers", "ephemeralContainers"):
            yield from self.spec.get(key) or []

    @property
    def windows(self) -> bool:
        return (self.spec.get("os") or {}).get("name") == "windows"

    @property
    def user_namespace(self) -> bool:
        return self.spec.get("hostUsers") is False


def pod_of(obj: dict[str, Any]) -> Pod | None:
    kind = obj.get("kind")
    if kind == "Pod":
        return Pod(obj.get("metadata") or {}, obj.get("spec") or {})
    if kind not in _TEMPLATE_AT:
        return None
    template: Any = obj
    for key in _TEMPLATE_AT[kind]:
        template = (template or {}).get(key)
    if not template:
        return None
    return Pod(template.get("metadata") or {}, template.get("spec") or {})


def _sc(container: dict[str, Any]) -> dict[str, Any]:
    return container.get("securityContext") or {}


def _true(mapping: dict[str, Any], key: str) -> bool:
    return mapping.get(key) is True


# Each check answers "does this pod violate the control at this version?".

def _windows_host_process(pod: Pod, version: int) -> bool:
    scs = [pod.sc, *(_sc(c) for c in pod.containers())]
    return any(_true(sc.get("windowsOptions") or {}, "hostProcess") for sc in scs)


def _host_namespaces(pod: Pod, version: int) -> bool:
    return any(_true(pod.spec, key) for key in ("hostNetwork", "hostPID", "hostIPC"))


def _privileged(pod: Pod, version: int) -> bool:
    return any(_true(_sc(c), "privileged") for c in pod.containers())


def _capabilities_baseline(pod: Pod, version: int) -> bool:
    for c in pod.containers():
        added = (_sc(c).get("capabilities") or {}).get("add") or []
        if any(cap not in _BASELINE_CAPS for cap in added):
            return True
    return False


def _sources(volume: dict[str, Any]) -> set[str]:
    # A volume that names no source is defaulted to emptyDir by the API server.
    return {key for key, value in volume.items() if key != "name" and value is not None}


def _host_path_volumes(pod: Pod, version: int) -> bool:
    return any("hostPath" in _sources(v) for v in pod.spec.get("volumes") or [])


def _host_ports(pod: Pod, version: int) -> bool:
    return any(port.get("hostPort") not in (None, 0)
               for c in pod.containers() for port in c.get("ports") or [])


def _bad_profile(holder: dict[str, Any], key: str) -> bool:
    """A profile that is set must name an allowed type; a profile with no type is bad."""
    if holder.get(key) is None:
        return False
    return holder[key].get("type") not in _GOOD_PROFILE_TYPES


def _app_armor_profile(pod: Pod, version: int) -> bool:
    if any(_bad_profile(sc, "appArmorProfile") for sc in [pod.sc, *map(_sc, pod.containers())]):
        return True
    for key, value in (pod.meta.get("annotations") or {}).items():
        if key.startswith(_APPARMOR_ANNOTATION) and value is not None and not (
                value in ("", "runtime/default") or str(value).startswith("localhost/")):
            return True
    return False


def _se_linux_options(pod: Pod, version: int) -> bool:
    for sc in [pod.sc, *map(_sc, pod.containers())]:
        options = sc.get("seLinuxOptions")
        if options is None:
            continue
        if _SELINUX_TYPES.get(options.get("type") or "", 99) > version:
            return True
        if options.get("user") or options.get("role"):
            return True
    return False


def _unmasked_proc(pod: Pod) -> bool:
    return any(_sc(c).get("procMount") not in (None, "Default") for c in pod.containers())


def _proc_mount(pod: Pod, version: int) -> bool:
    if version >= 35 and pod.user_namespace:
        return False
    return _unmasked_proc(pod)


def _seccomp_baseline(pod: Pod, version: int) -> bool:
    return any(_bad_profile(sc, "seccompProfile") for sc in [pod.sc, *map(_sc, pod.containers())])


def _sysctls(pod: Pod, version: int) -> bool:
    return any(_SYSCTLS.get(s.get("name"), 99) > version for s in pod.sc.get("sysctls") or [])


def _host_probes_and_lifecycle(pod: Pod, version: int) -> bool:
    if version < 34:
        return False
    for c in pod.containers():
        handlers = [c.get(p) or {} for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        lifecycle = c.get("lifecycle") or {}
        handlers += [lifecycle.get(h) or {} for h in ("postStart", "preStop")]
        for handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                if (handler.get(action) or {}).get("host"):
                    return True
    return False


def _restricted_volumes(pod: Pod, version: int) -> bool:
    return any(_sources(v) - _RESTRICTED_VOLUME_SOURCES for v in pod.spec.get("volumes") or [])


def _windows_exempt(pod: Pod, version: int) -> bool:
    return version >= 25 and pod.windows


def _allow_privilege_escalation(pod: Pod, version: int) -> bool:
    if _windows_exempt(pod, version):
        return False
    return any(_sc(c).get("allowPrivilegeEscalation") is not False for c in pod.containers())


def _run_as_non_root(pod: Pod, version: int) -> bool:
    if version >= 35 and pod.user_namespace:
        return False
    pod_value = pod.sc.get("runAsNonRoot")
    if pod_value is False:
        return True
    for c in pod.containers():
        value = _sc(c).get("runAsNonRoot")
        if value is False or (value is None and pod_value is not True):
            return True
    return False


def _run_as_user(pod: Pod, version: int) -> bool:
    if version >= 35 and pod.user_namespace:
        return False
    return any(sc.get("runAsUser") == 0 for sc in [pod.sc, *map(_sc, pod.containers())])


def _seccomp_restricted(pod: Pod, version: int) -> bool:
    if _windows_exempt(pod, version):
        return False
    if _bad_profile(pod.sc, "seccompProfile"):
        return True
    pod_ok = pod.sc.get("seccompProfile") is not None
    for c in pod.containers():
        if _sc(c).get("seccompProfile") is not None:
            if _bad_profile(_sc(c), "seccompProfile"):
                return True
        elif not pod_ok:
            return True
    return False


def _capabilities_restricted(pod: Pod, version: int) -> bool:
    if _windows_exempt(pod, version):
        return False
    for c in pod.containers():
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            return True
        if any(cap != "NET_BIND_SERVICE" for cap in caps.get("add") or []):
            return True
    return False


def _proc_mount_restricted(pod: Pod, version: int) -> bool:
    return version >= 35 and _unmasked_proc(pod)


CHECKS: dict[str, Callable[[Pod, int], bool]] = {
    "windowsHostProcess": _windows_host_process,
    "hostNamespaces": _host_namespaces,
    "privileged": _privileged,
    "capabilities_baseline": _capabilities_baseline,
    "hostPathVolumes": _host_path_volumes,
    "hostPorts": _host_ports,
    "appArmorProfile": _app_armor_profile,
    "seLinuxOptions": _se_linux_options,
    "procMount": _proc_mount,
    "seccompProfile_baseline": _seccomp_baseline,
    "sysctls": _sysctls,
    "hostProbesAndHostLifecycle": _host_probes_and_lifecycle,
    "restrictedVolumes": _restricted_volumes,
    "allowPrivilegeEscalation": _allow_privilege_escalation,
    "runAsNonRoot": _run_as_non_root,
    "runAsUser": _run_as_user,
    "seccompProfile_restricted": _seccomp_restricted,
    "capabilities_restricted": _capabilities_restricted,
    "procMount_restricted": _proc_mount_restricted,
}


# Where restricted is enforced, a restricted check replaces the baseline check it tightens
# (from the version the restricted check overrides it): baseline control -> (restricted, since).
OVERRIDDEN_BY = {
    "hostPathVolumes": ("restrictedVolumes", 0),
    "seccompProfile_baseline": ("seccompProfile_restricted", 19),
    "capabilities_baseline": ("capabilities_restricted", 22),
    "procMount": ("procMount_restricted", 35),
}


def checks_in_force(level: str, version: int) -> set[str]:
    """The controls PSA runs for a namespace enforcing `level` at v1.<version>."""
    if level == "baseline":
        return set(BASELINE)
    return {control for control in CHECKS
            if control not in OVERRIDDEN_BY or version < OVERRIDDEN_BY[control][1]}


def failing(obj: dict[str, Any], version: int, level: str | None = None) -> set[str]:
    """The PSA control ids the object's pod violates at v1.<version>: every control, or
    only those PSA runs at `level`."""
    pod = pod_of(obj)
    if pod is None:
        return set()
    controls = set(CHECKS) if level is None else checks_in_force(level, version)
    return {control for control in controls if CHECKS[control](pod, version)}


def allowed(obj: dict[str, Any], level: str, version: int) -> bool:
    """Would PSA admit the object at this level and version?"""
    return not failing(obj, version, level)


def with_api_defaults(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy with the API server's hostNetwork defaulting applied (hostPort = containerPort)."""
    obj = copy.deepcopy(obj)
    pod = pod_of(obj)
    if pod is not None and pod.spec.get("hostNetwork") is True:
        for c in pod.containers():
            for port in c.get("ports") or []:
                if port.get("hostPort") is None:
                    port["hostPort"] = port.get("containerPort")
    return obj

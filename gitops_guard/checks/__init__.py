"""The one place that lists the checks. Adding a check means adding it here."""

from __future__ import annotations

from gitops_guard.checks import manifest, policy, promotion, schema, secrets, sops
from gitops_guard.checks.base import Check, CheckContext

__all__ = ["CHECKS", "Check", "CheckContext"]

CHECKS: dict[str, Check] = {
    manifest.CHECK.name: manifest.CHECK,
    schema.CHECK.name: schema.CHECK,
    secrets.CHECK.name: secrets.CHECK,
    sops.CHECK.name: sops.CHECK,
    policy.CHECK.name: policy.CHECK,
    promotion.CHECK.name: promotion.CHECK,
}

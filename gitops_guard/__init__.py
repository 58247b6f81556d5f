"""gitops-guard: check a GitOps repository before Flux or Argo CD deploys it."""

from __future__ import annotations

__version__ = "0.1.0"

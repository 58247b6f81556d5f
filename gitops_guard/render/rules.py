"""The rules about rendering itself: a kustomization that does not build, or one that is not
rendered because it needs the network. Kept apart from the renderer so the catalog can list
them without importing it."""

from __future__ import annotations

from gitops_guard.findings import Rule, Severity

RENDER_CHECK = "render"
RULE_BUILD_FAILED = "GG-RENDER-001"
RULE_NOT_RENDERED = "GG-RENDER-002"

RULES = (
    Rule(RULE_BUILD_FAILED, "KustomizationDoesNotBuild", Severity.ERROR,
         "`kustomize build` fails on this kustomization (with --render kustomize).",
         why="Flux and Argo CD build the kustomization before they apply anything: one that "
             "does not build deploys nothing, and the last good state stays in the cluster "
             "while the repository says otherwise.",
         fix="Run `kubectl kustomize DIR` (or `kustomize build DIR`) and fix what it names: "
             "often a patch that does not parse, a resource without metadata.name, or a path "
             "that does not exist.",
         # About the kustomization file, not an object: nothing to annotate.
         inline=("comment",)),
    Rule(RULE_NOT_RENDERED, "KustomizationNotRendered", Severity.WARNING,
         "A kustomization is not rendered: it needs a remote base or a Helm chart, and "
         "rendering never uses the network.",
         why="Its objects are then checked only as the source files hold them, so what the "
             "overlay changes (namespace, images, patches) is not checked.",
         fix="Vendor the remote base into the repository, or accept the warning (waive it in "
             "the config or with a comment on the line that names the remote base).",
         inline=("comment",)),
)

__all__ = ["RENDER_CHECK", "RULES", "RULE_BUILD_FAILED", "RULE_NOT_RENDERED"]

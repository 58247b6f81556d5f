"""Rendering before checking: `--render kustomize` (docs/render.md).

`kustomize_run` is the entry point the engine calls; `graph` reads kustomizations, `build` runs
kustomize, `trace` maps a rendered field back to its source line, `rules` holds GG-RENDER-*.
Nothing is imported here, so the catalog can read the rules without the rest.
"""

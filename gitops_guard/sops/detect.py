"""Recognising SOPS content without reading it: what Flux looks for."""

from __future__ import annotations

import base64
import binascii

# Flux's kustomize-controller treats Secret data holding one of these as a SOPS file.
SOPS_MARKERS = (b"mac: ENC[", b'"mac": "ENC[', b"sops_mac=ENC[", b"[sops]")


def holds_sops_file(value: object) -> bool:
    """A base64 value (Secret `data`) that decodes to a SOPS-encrypted file."""
    if not isinstance(value, str) or len(value) < 64:
        return False
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return any(marker in decoded for marker in SOPS_MARKERS)

"""SOPS: read and write files the Go `sops` reads and writes (age keys, PGP through gpg).

The format is sops' own: every selected leaf is `ENC[AES256_GCM,...]` under one data key, the
data key is wrapped for each recipient in a `sops` metadata block, and a MAC over the values
is stored encrypted. See docs/sops.md.
"""

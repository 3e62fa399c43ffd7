"""What the trust checks leave in the records: a refused signature, a commit trusted by hand.

:class:`SignatureRefusal` is carried by the refused run's record and by the host state while the
refused head stays the branch head (status, history, journald and metrics read it from there).
:class:`TrustOverride` is ``deployd trust SHA``: who moved the ratchet by hand, and when; the
runs that converge that commit carry it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The refusal reasons of the signature policy (a subset of records.REFUSAL_REASONS).
SIGNATURE_REASONS = ("unsigned", "bad-signature", "signer-not-allowed", "path-not-allowed")


@dataclass(frozen=True)
class SignatureRefusal:
    reason: str  # one of SIGNATURE_REASONS
    commit: str  # the first commit that failed (not always the head)
    head: str  # the branch head that was judged
    signer: str = ""  # SSH principal or OpenPGP user id; "" for an unknown key
    key: str = ""  # SSH key fingerprint (SHA256:...) or OpenPGP fingerprint / key id
    path: str = ""  # path-not-allowed: the path the signer may not change
    groups: tuple[str, ...] = ()  # path-not-allowed: the groups that may
    detail: str = ""  # what git said about the signature, in words

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SignatureRefusal | None:
        if not data:
            return None
        return cls(**{**data, "groups": tuple(data.get("groups") or ())})

    def describe(self) -> str:
        """One sentence: which commit, what is wrong, by whom."""
        who = self.signer or "an unknown signer"
        key = f" (key {self.key})" if self.key else ""
        if self.reason == "path-not-allowed":
            groups = ", ".join(self.groups)
            return (
                f"commit {self.commit[:12]} changes {self.path}, which only group {groups} may "
                f"change; it is signed by {who}{key}"
            )
        if self.reason == "unsigned":
            return f"commit {self.commit[:12]} carries no signature"
        return f"commit {self.commit[:12]} {self.detail or self.reason}: {who}{key}"


@dataclass(frozen=True)
class TrustOverride:
    commit: str
    by: str  # "alice (uid 1000, pid 4242)"
    at: float
    uid: int = -1

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrustOverride | None:
        return cls(**data) if data else None

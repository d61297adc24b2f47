"""Event ids from a seeded random stream: the same text as uuid.UUID(int=bits, version=4)."""

from __future__ import annotations

# uuid.UUID(version=4) clears the variant and version bits, then sets variant RFC 4122 and 4.
_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_SET = (0x8000 << 48) | (4 << 76)


def uuid4_text(bits: int) -> str:
    """str(uuid.UUID(int=bits, version=4)), about four times faster."""
    h = "%032x" % (bits & _KEEP | _SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

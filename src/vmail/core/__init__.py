"""Layer 0: pure types shared by every other layer (no I/O, stdlib only)."""

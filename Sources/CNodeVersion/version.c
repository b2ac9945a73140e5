// Header-only target: see include/CNodeVersion.h.

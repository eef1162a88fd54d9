"""Import of an NNTSC 2.x deployment (`nntsc import nntsc`, `docs/operations.md`)."""

"""The test suite of chamelaion-tui."""

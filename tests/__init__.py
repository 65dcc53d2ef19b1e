"""faltung test suite (the package under test is the installed faltung)."""

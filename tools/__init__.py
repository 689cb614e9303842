"""Repository tooling: notebook execution, hygiene checks, course settings."""

"""Browser tests: the course driven in JupyterLab by a headless Chromium (`make test-browser`)."""

"""digicam_motd: the digicam sample's one dependency, shipped in every release as a wheel.

It exists so that the sample has something to install: each release's `prepare` step creates
a virtualenv in the release folder and pip-installs this wheel from the release itself (no
network). It reads the release's `.env` file (a link into the shared folder) and renders the
message of the day that /health reports.
"""

__version__ = "1.0.0"


def read_env(path):
    """KEY=VALUE lines of an env file; comments and blank lines are skipped."""
    values = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    except OSError:
        pass
    return values


def motd(env_path):
    """The message of the day from the env file, or a default."""
    return read_env(env_path).get("MOTD", "no .env yet")

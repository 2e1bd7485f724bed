"""The one error family shown to users as a single line (file/topic/key named, no traceback)."""


class DilRosError(Exception):
    """Base of every user-facing error in dil_ros. Messages name the file, topic, key or joint."""


def read_yaml(path, what: str, error=DilRosError):
    """Parse a YAML file; an unreadable file or bad YAML raises ``error`` naming the file."""
    from pathlib import Path

    import yaml
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise error(f'{path}: cannot read {what}: {exc.strerror or exc}') from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f'{path}: not valid YAML: {exc}') from None

"""The one error family shown to users as a single line (file/topic/key named, no traceback)."""


class DilRosError(Exception):
    """Base of every user-facing error in dil_ros. Messages name the file, topic, key or joint."""

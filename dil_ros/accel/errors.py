"""The accel error: a form cannot be built or run here (message names the form, device, file)."""
from dil_ros.errors import DilRosError


class AccelError(DilRosError, ValueError):
    """A faster policy form cannot be built, loaded or called as asked."""

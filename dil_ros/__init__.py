"""dil_ros: diffusion-policy imitation learning for ROS 2."""

__version__ = '0.1.0'

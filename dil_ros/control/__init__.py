"""Plain (ROS-free) logic of the policy node: observation buffer, chunk scheduling, clamps, control state.

Everything here is driven by unit tests without DDS; dil_ros/nodes/policy_node.py only maps messages.
"""

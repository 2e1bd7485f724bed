"""Plain (ROS-free) logic of the policy node: observation buffer, chunk scheduling, clamps, state.

Unit tests drive everything here without DDS; dil_ros/nodes/policy_node.py only maps messages.
"""

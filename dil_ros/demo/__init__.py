"""The end-to-end demo: record demonstrations over ROS, convert, train, export, run closed loop."""

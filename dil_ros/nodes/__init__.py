"""Thin rclpy shells over the plain logic in control/, recording/, teleop/ and sim/."""
from typing import Any, Dict, List

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.parameter import Parameter


def param_overrides(values: Dict[str, Any]) -> List[Parameter]:
    """``Node(..., parameter_overrides=param_overrides({'seed': 3}))`` for in-process use."""
    return [Parameter(name, value=value) for name, value in values.items()]


def spin_node(make_node, args=None, make_executor=None) -> int:
    """The console-script main() of a plain node: init, spin until Ctrl+C, clean up.

    ``make_executor(node)`` picks the executor (default: single-threaded).
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        executor = make_executor(node) if make_executor else SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0

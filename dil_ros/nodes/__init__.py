"""Thin rclpy shells over the plain logic in control/, recording/, teleop/ and sim/."""
import os
import sys
from typing import Any, Dict, List

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.parameter import Parameter

from dil_ros.errors import DilRosError

SIGINT_POLL_S = 0.1   # longest Ctrl+C waits while nothing else wakes the executor


def param_overrides(values: Dict[str, Any]) -> List[Parameter]:
    """``Node(..., parameter_overrides=param_overrides({'seed': 3}))`` for in-process use."""
    return [Parameter(name, value=value) for name, value in values.items()]


def spin_interruptible(executor, poll_s: float = SIGINT_POLL_S) -> None:
    """``executor.spin()`` that comes back to Python at least every ``poll_s``.

    main() takes SIGINT itself (SignalHandlerOptions.NO), so nothing of rclpy's wakes the executor
    on Ctrl+C; Python raises KeyboardInterrupt only once the wait returns. Unconfigured, or after a
    failed configure, no timer or message would ever make it return.
    """
    while executor.context.ok():
        executor.spin_once(timeout_sec=poll_s)


def spin_node(make_node, args=None, make_executor=None) -> int:
    """The console-script main() of a plain node: init, spin until Ctrl+C, clean up.

    ``make_executor(node)`` picks the executor (default: single-threaded). Bad input found while
    the node is made (a contract, a parameter: :class:`DilRosError`) is printed as one line on
    stderr, ``<program>: error: <file>: <key>: <problem>``, and returns 1, without a traceback.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        executor = make_executor(node) if make_executor else SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except DilRosError as exc:
        if node is not None:
            raise
        program = os.path.basename(sys.argv[0]).removesuffix('.py')
        print(f'{program}: error: {exc}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0

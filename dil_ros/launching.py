"""Launch-file helpers: a node that dies, or a lifecycle node that cannot start, fails the launch.

``ros2 launch`` exits 0 after a Shutdown action, whatever the reason given; only an error raised
while the launch runs makes it stop every process and exit non-zero with the reason logged. A
bring-up that lost its sim, recorder or policy must not look like success, so the launch files in
launch/ register these handlers for their nodes. A node that exits cleanly (code 0) on its own
shuts the launch down with a reason; any exit once the launch is shutting down is left alone.

Imported only by launch files: it needs launch and launch_ros, which the rest of dil_ros does not.
"""
from typing import List

from launch.actions import OpaqueFunction, RegisterEventHandler, Shutdown
from launch.event_handlers import OnProcessExit

from dil_ros.errors import DilRosError


class LaunchFailed(DilRosError, RuntimeError):
    """A node of the bring-up died or did not start; the message names it."""


def fail_on_exit(*nodes) -> List[RegisterEventHandler]:
    """Handlers that end the launch when one of ``nodes`` exits while the launch is running."""
    def on_exit(event, context):
        if context.is_shutdown:
            return None
        if event.returncode != 0:
            raise LaunchFailed(f'{event.process_name} exited with code {event.returncode} '
                               'while the launch was running (its log above says why)')
        return [Shutdown(reason=f'{event.process_name} exited')]

    return [RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))
            for node in nodes]


def fail_on_failed_start(node, name: str, condition=None) -> List[RegisterEventHandler]:
    """Handlers that fail the launch when lifecycle ``node`` cannot configure or activate.

    The node stays up and commands nothing (it holds); the launch says so and exits non-zero.
    ``condition``: register them only when it holds (e.g. the launch's autostart argument).
    """
    from launch_ros.event_handlers import OnStateTransition

    def failed(step):
        def raise_failed(context):
            raise LaunchFailed(f'{name} failed to {step} (its log above says why); '
                               'it commands nothing')
        return OpaqueFunction(function=raise_failed)

    return [RegisterEventHandler(OnStateTransition(
        target_lifecycle_node=node, start_state=start, goal_state=back, entities=[failed(step)]),
        condition=condition)
        for step, start, back in (('configure', 'configuring', 'unconfigured'),
                                  ('activate', 'activating', 'inactive'))]

"""What the teleop window tells the operator, as lines of text (no pygame: tests read them).

Dead-man state, recording state and episode count (from the recorder's ``~/status``), the sim's
task state (``/task/status``), the reply to the last episode key, and the key map.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from dil_ros.teleop.episodes import ACTIONS

GREEN, RED, GREY, WHITE, YELLOW = 'green', 'red', 'grey', 'white', 'yellow'
Line = Tuple[str, str]  # (text, colour name); a tab starts the second column (the key map)


@dataclass
class OverlayState:
    mode: str
    topic: str
    deadman_label: str
    joint_keys: List[Tuple[str, str, str]]          # (plus key, minus key, joint)
    episode_keys: Dict[str, str] = field(default_factory=dict)   # key: action
    deadman: bool = False
    recorder: Optional[dict] = None                 # recorder_node ~/status JSON
    task: Optional[dict] = None                     # sim /task/status JSON
    message: str = ''
    view_note: str = ''


def overlay_lines(s: OverlayState) -> List[Line]:
    lines: List[Line] = [(f'{s.mode} -> {s.topic}', GREY)]
    if s.deadman:
        lines.append((f'DEAD-MAN HELD ({s.deadman_label}): moving', GREEN))
    else:
        lines.append((f'dead-man released: hold {s.deadman_label} to move', YELLOW))
    lines += recorder_lines(s.recorder)
    if s.task:
        state = s.task.get('state')
        shown = {'success': 'goal reached', 'collision': 'COLLISION'}.get(state, state)
        lines.append((f"sim: episode {s.task.get('episode')} (seed {s.task.get('seed')}) "
                      f"{shown}, {s.task.get('time', 0.0):.1f} s",
                      RED if state == 'collision' else GREEN if state == 'success' else WHITE))
    if s.message:
        lines.append((s.message, WHITE))
    lines.append(('', WHITE))
    lines.append(('keys', GREY))
    lines.append((f'{s.deadman_label}\tdead-man (hold to move)', WHITE))
    for plus, minus, joint in s.joint_keys:
        lines.append((f'{plus} / {minus}\t{joint} + / -', WHITE))
    for key, action in s.episode_keys.items():
        lines.append((f'{key}\t{ACTIONS[action]}', WHITE))
    if s.view_note:
        lines.append(('', WHITE))
        lines.append((s.view_note, YELLOW))
    return lines


def recorder_lines(status: Optional[dict]) -> List[Line]:
    if status is None:
        return [('recorder: no status yet (is recorder_node running?)', YELLOW)]
    kept = f"kept {status.get('kept', 0)}"
    if status.get('last_episode'):
        kept += f" (last {status['last_episode']})"
    if status.get('recording'):
        out = [(f"REC {status.get('episode')}  {status.get('duration_s', 0.0):.1f} s   {kept}",
                RED)]
    else:
        out = [(f'not recording   {kept}', WHITE)]
    if status.get('last_error'):
        out.append((f"recorder: {status['last_error']}", RED))
    return out

"""policy_node's parameters: name -> (default, description); all read-only (config/policy.yaml)."""
from dil_ros.control.scheduler import HANDOVERS

OUTPUT_MODES = ('joint_trajectory', 'forward_command', 'twist')
INFERENCE_MODES = ('thread', 'process')
EXECUTORS = ('single_threaded', 'events')
PARAMETERS = {  # name: (default, description)
    'policy_path': ('', 'policy.ts exported by dil-ros export'),
    'policy_sha256': ('', 'sha256 policy.ts must have (dil-ros export prints it and writes '
                          'policy.ts.sha256); empty: not checked'),
    'contract': ('', 'robot contract YAML (empty: the package mujoco_arm.yaml)'),
    'device': ('cpu', "'cpu' or 'cuda' (falls back to cpu with a warning)"),
    'form': ('torchscript', 'faster form of the same policy: torchscript | cuda_graph | fp16 | '
                            'bf16 | aot | onnx | openvino (sibling files from `dil-ros export '
                            '--forms`)'),
    'output_mode': ('forward_command', f'one of {OUTPUT_MODES}'),
    'controller': ('', 'name in /<controller>/... (empty: contract action.controller)'),
    'control_rate_hz': (100.0, 'command / control loop rate'),
    'observation_timeout_s': (0.5, 'hold when the newest observation is older than this (a '
                                   "contract key's max_age_s wins; dil-ros convert's default "
                                   '--max-staleness is the same 0.5 s)'),
    'inference_lead_s': (0.05, 'margin over measured latency when starting the next inference'),
    'handover': ('crossfade', f'chunk hand-over: one of {HANDOVERS} (guided: the sampler '
                              'inpaints each chunk to agree with the one in force; a policy.ts '
                              'exported by this version, forms torchscript/fp16/bf16, thread '
                              'inference)'),
    'guided_prefix': ('hold', "handover guided: 'hold' (each new chunk agrees with the whole "
                              "overlap of the chunk in force; it plans only its tail afresh) or "
                              "'decay' (Real-Time Chunking's soft decay after the expected "
                              'arrival: reacts sooner, but may switch ways round an obstacle '
                              'at long delays)'),
    'inference_delay_s': (0.0, 'test parameter: seconds the inference thread sleeps before '
                               'each chunk (a slower policy, for hand-over benchmarks); 0 off'),
    'crossfade_steps': (20, 'control steps over which a hand-over offset fades out'),
    'start_enabled': (False, 'command right after activation (else call ~/enable)'),
    'inference_threads': (1, 'torch intra-op threads (0: torch default)'),
    'inference_mode': ('thread', f'one of {INFERENCE_MODES}: the policy on a thread of the node, '
                                 'or in a worker process fed through shared memory (its Python '
                                 "off the control loop's interpreter lock; a dead worker makes "
                                 'the node hold)'),
    'inference_nice': (0, 'process mode: niceness added to the worker process (> 0 lets the '
                          'control loop go first on a shared CPU; inference then takes longer)'),
    'inference_cpus': ('', "process mode: the CPUs the worker may run on, e.g. '1' or '2,3' "
                           '(os.sched_setaffinity; empty: any, as the node)'),
    'gc_freeze': (False, "after configure, Python's garbage collector freezes what loading made "
                         '(gc.freeze; cleanup unfreezes): a full collection, 65-106 ms over torch '
                         'and rclpy here, then no longer walks it (none was seen while commanding '
                         'in the benchmarks, so off by default)'),
    'executor': ('single_threaded', f'one of {EXECUTORS} (main() only): rclpy '
                                    'SingleThreadedExecutor or rclpy.experimental.EventsExecutor'),
    'monitor': (False, 'score every chunk with policy.monitor.ts (next to policy_path; `dil-ros '
                       'calibrate`) and publish ~/monitor; alarms need policy.monitor.json'),
    'on_alarm': ('warn', "monitor alarm: 'warn' (log) or 'hold' (hold like the e-stop, naming "
                         "the score, until ~/reset)"),
}


def parse_cpus(text: str) -> tuple:
    """``inference_cpus`` ('1', '0, 2', '') -> (1,), (0, 2), (); ValueError naming the
    parameter for anything else."""
    try:
        cpus = tuple(int(part) for part in str(text).replace(' ', '').split(',') if part)
    except ValueError:
        cpus = (-1,)
    if any(cpu < 0 for cpu in cpus):
        raise ValueError(f"inference_cpus: expected CPU ids like '1' or '2,3', got {text!r}")
    return cpus

"""`dil-ros recover SESSION_DIR`: finish or drop episodes a crashed recorder left behind.

See dil_ros/recording/recover.py for what a crash can leave and what is done about it.
"""
from dil_ros.recording.recover import recover_session


def add_arguments(parser):
    parser.add_argument('session_dir', help='recording session folder (holds episodes.json)')
    parser.add_argument('--drop', action='store_true',
                        help='delete partial episodes instead of recovering their messages')


def run(args) -> int:
    for line in recover_session(args.session_dir, drop=args.drop):
        print(line)
    return 0

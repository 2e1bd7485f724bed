"""The recorder's state machine over a session: start / stop (keep) / discard, success marks,
auto-stop, write errors and status; no DDS (the node is dil_ros/nodes/recorder_node.py)."""
import threading
import time
from typing import Callable, Dict, Mapping, Optional, Tuple

from dil_ros.recording.bag_metadata import set_custom_data
from dil_ros.recording.cdr import TypeRegistry
from dil_ros.recording.episode import EpisodeWriter, RecordingError
from dil_ros.recording.session import episode_name, Session


class Recorder:
    """start / stop (keep) / discard, auto-stop at ``max_duration_s``, status; no DDS.

    ``put(topic, data)`` is the subscription callbacks' only call: it hands bytes to the current
    episode's queue, or drops them when idle. Every command returns ``(ok, message)`` for a
    Trigger reply.

    Latched topics (:meth:`latch`: their publishers are transient-local, e.g. a goal published
    once) keep their newest message while idle too; each episode starts with it, stamped at the
    episode's start (the value in effect then), so an episode records a goal published before it.
    """

    def __init__(self, session: Session, topics: Mapping[str, str],
                 metadata: Optional[Mapping] = None, max_duration_s: float = 0.0,
                 flush_period_s: float = 1.0, clock_ns: Callable[[], int] = time.time_ns,
                 registry: Optional[TypeRegistry] = None, normalise_cdr: bool = True):
        self.session = session
        self.topics: Dict[str, str] = dict(topics)
        self.metadata: Dict = dict(metadata or {})
        self.max_duration_s = max_duration_s
        self.flush_period_s = flush_period_s
        self.clock_ns = clock_ns
        self.registry = registry or TypeRegistry()
        self.normalise_cdr = normalise_cdr
        self.episode: Optional[EpisodeWriter] = None
        self.last_episode: Optional[Dict] = None
        self.last_error = ''
        self.stopped_by_error = ''  # why the last episode ended without being kept
        # The operator's ~/set_success for the current episode (or, idle with nothing kept yet,
        # the next one): it wins over the ``success`` given to start/stop.
        self.marked_success: Optional[bool] = None
        self.kept = 0
        self._lock = threading.RLock()
        self._latched: Dict[str, Optional[bytes]] = {}  # topic -> newest message (None: none)

    # ------------------------------------------------------------------ data path
    def put(self, topic: str, data: bytes, stamp_ns: Optional[int] = None) -> None:
        if topic in self._latched:
            with self._lock:  # not between start()'s replay and its new episode
                self._latched[topic] = data
                self._put(topic, data, stamp_ns)
        else:
            self._put(topic, data, stamp_ns)

    def _put(self, topic: str, data: bytes, stamp_ns: Optional[int]) -> None:
        episode = self.episode
        if episode is not None:
            episode.put(topic, data, stamp_ns)

    def latch(self, topic: str) -> None:
        """Replay ``topic``'s newest message at the start of each episode (see the class)."""
        self._latched.setdefault(topic, None)

    # ------------------------------------------------------------------ commands
    @property
    def recording(self) -> bool:
        return self.episode is not None

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Record ``topic`` from the next episode on (types found late by graph discovery)."""
        with self._lock:
            self.topics[topic] = msgtype

    def start(self, metadata: Optional[Mapping] = None) -> Tuple[bool, str]:
        with self._lock:
            if self.episode is not None:
                return False, f'already recording {self.episode.name}; stop or discard it first'
            if metadata is not None:
                self.metadata = dict(metadata)
            if self.marked_success is not None:
                self.metadata['success'] = self.marked_success
            try:
                self.session.ensure()
                name = episode_name(self.session.next_index())
                episode = EpisodeWriter(self.session.path, name, self.topics,
                                        metadata=self.metadata, registry=self.registry,
                                        flush_period_s=self.flush_period_s,
                                        normalise_cdr=self.normalise_cdr, clock_ns=self.clock_ns)
                episode.open()
            except RecordingError as exc:
                self.last_error = str(exc)
                return False, self.last_error
            for topic, data in self._latched.items():
                if data is not None and topic in self.topics:
                    episode.put(topic, data)
            self.episode = episode
            self.stopped_by_error = ''
            return True, f'recording {name} in {self.session.path}'

    def stop(self, success: Optional[bool] = None, reason: str = '') -> Tuple[bool, str]:
        """Finish and keep the current episode.

        ``success`` (the node's ``success`` parameter) is stored unless the operator marked this
        episode with :meth:`set_success`: the operator's call wins.
        """
        with self._lock:
            episode = self.episode
            if episode is None:
                if self.stopped_by_error:
                    return False, f'not recording: {self.stopped_by_error}'
                return False, 'not recording; nothing to stop'
            self.episode = None
            if self.marked_success is not None:
                episode.metadata['success'] = self.marked_success
            elif success is not None:
                episode.metadata['success'] = success
            self.marked_success = None
            try:
                entry = episode.finish()
                if reason:
                    entry['stop_reason'] = reason
                self.session.add(entry)
            except RecordingError as exc:
                episode.abandon()
                return False, self._stopped_by(episode, str(exc))
            self.last_episode = entry
            self.kept += 1
            counts = ', '.join(f'{t}: {n}' for t, n in entry['counts'].items())
            return True, (f'kept {entry["name"]} ({entry["duration_s"]:.1f} s; {counts})'
                          + (f'; {reason}' if reason else ''))

    def discard(self) -> Tuple[bool, str]:
        with self._lock:
            episode = self.episode
            if episode is None:
                return False, 'not recording; nothing to discard'
            self.episode = None
            self.marked_success = None
            episode.discard()
            return True, f'discarded {episode.name}'

    def set_success(self, success: bool) -> Tuple[bool, str]:
        """Mark the current episode, or else the last kept one, as a success or a failure.

        A kept episode is updated in its bag's metadata.yaml and in the index alike. With nothing
        recorded yet the mark applies to the next episode.
        """
        with self._lock:
            if self.episode is not None:
                self.marked_success = success
                try:
                    self.episode.update_metadata(success=success)
                except RecordingError as exc:  # the mark still applies when the episode ends
                    self.last_error = str(exc)
                    return False, self.last_error
                return True, f'{self.episode.name}: success={success}'
            if self.last_episode is None:
                self.marked_success = success
                return True, f'success={success} (applies to the next episode)'
            name = self.last_episode['name']
            try:
                set_custom_data(self.session.path / self.last_episode['path'],
                                {'success': success})
                self.last_episode = self.session.update(name, success=success)
            except RecordingError as exc:
                self.last_error = str(exc)
                return False, self.last_error
            return True, f'{name}: success={success}'

    def tick(self) -> Optional[str]:
        """Periodic check: auto-stop at max duration, end the episode after a write error.

        Returns a message when something happened (for the node's log), else None.
        """
        with self._lock:
            episode = self.episode
            if episode is None:
                return None
            if episode.failed:
                self.episode = None
                episode.abandon()
                return self._stopped_by(episode, episode.error)
            if self.max_duration_s > 0 and episode.duration_s >= self.max_duration_s:
                ok, msg = self.stop(reason=f'max duration {self.max_duration_s:g} s reached')
                return msg
            return None

    def _stopped_by(self, episode: EpisodeWriter, error: str) -> str:
        """Note that ``episode`` ended on a write error; the message says how to get it back."""
        self.marked_success = None
        self.stopped_by_error = (f'{error}; {episode.name} is kept as {episode.partial.name}: '
                                 f'free space, then run `dil-ros recover {self.session.path}`')
        self.last_error = self.stopped_by_error
        return self.last_error

    def close(self) -> None:
        """On shutdown: keep what is being recorded (as a normal stop)."""
        if self.episode is not None:
            self.stop(reason='recorder shut down')

    def status(self) -> Dict:
        episode = self.episode
        out = {
            'recording': episode is not None,
            'session': str(self.session.path),
            'episode': episode.name if episode else None,
            'episode_index': (int(episode.name.split('_')[-1]) if episode else None),
            'duration_s': round(episode.duration_s, 3) if episode else 0.0,
            'counts': dict(episode.counts) if episode else {},
            'queued': episode.pending if episode else 0,
            'kept': self.kept,
            'last_episode': self.last_episode['name'] if self.last_episode else None,
            'last_error': self.last_error,
            'metadata': dict(episode.metadata if episode else self.metadata),
        }
        latched = sorted(t for t, data in self._latched.items() if data is not None)
        if latched:
            out['latched'] = latched  # topics whose newest message starts each episode
        if episode is not None and any(episode.bad_messages.values()):
            out['undecodable'] = {t: n for t, n in dict(episode.bad_messages).items() if n}
        return out

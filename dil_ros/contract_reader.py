"""Typed reads of a contract mapping whose errors name the file and the key path.

:mod:`dil_ros.contract` validates the YAML format with it; the messages read
``<file>: <key path>: <problem>``.
"""

from typing import Any, Mapping, Tuple, Union

from dil_ros.contract_model import ContractError


class ContractReader:
    """Typed access to a mapping that reports errors as '<file>: <key path>: <problem>'."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str) -> ContractError:
        return ContractError(f'{self.source}: {key}: {problem}')

    def mapping(self, value: Any, key: str, allowed: Tuple[str, ...],
                required: Tuple[str, ...]) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.fail(key, f'expected a mapping, got {type(value).__name__}')
        for k in value:
            if k not in allowed:
                raise self.fail(f'{key}.{k}' if key else str(k),
                                f'unknown key (allowed: {", ".join(allowed)})')
        for k in required:
            if k not in value:
                raise self.fail(f'{key}.{k}' if key else k, 'missing required key')
        return value

    def typed(self, value: Any, key: str, kind: Union[type, Tuple[type, ...]]) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f'expected {kinds[0].__name__}, got bool')
        if not isinstance(value, kinds):
            raise self.fail(key, f'expected {kinds[0].__name__}, got {type(value).__name__}'
                                 f' ({value!r})')
        return value

    def positive_int(self, value: Any, key: str) -> int:
        if self.typed(value, key, int) < 1:
            raise self.fail(key, f'must be >= 1, got {value}')
        return value

    def names(self, value: Any, key: str) -> Tuple[str, ...]:
        self.typed(value, key, list)
        if not value:
            raise self.fail(key, 'must not be empty')
        for i, name in enumerate(value):
            if not isinstance(name, str) or not name:
                raise self.fail(f'{key}[{i}]', f'expected a non-empty string, got {name!r}')
        seen = set()
        for name in value:
            if name in seen:
                raise self.fail(key, f'duplicate name {name!r}')
            seen.add(name)
        return tuple(value)

    def indices(self, value: Any, key: str, count: int) -> Tuple[int, ...]:
        self.typed(value, key, list)
        if len(value) != count:
            raise self.fail(key, f'expected one index per joint ({count}), got {len(value)}')
        for i, index in enumerate(value):
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise self.fail(f'{key}[{i}]', f'expected an index >= 0, got {index!r}')
        if len(set(value)) != len(value):
            raise self.fail(key, f'duplicate index in {value}')
        return tuple(value)

    def positive(self, value: Any, key: str, inf: bool = False) -> float:
        """A number > 0; with ``inf``, also ``.inf`` (YAML) or ``'inf'`` (JSON has no inf)."""
        if inf and value == 'inf':
            return float('inf')
        number = float(self.typed(value, key, (float, int)))
        if not number > 0 or (number == float('inf') and not inf):
            raise self.fail(key, f'must be > 0{" (or .inf)" if inf else ""}, got {value!r}')
        return number

    def topic(self, value: Any, key: str) -> str:
        self.typed(value, key, str)
        if not value.startswith('/') and not value.startswith('~'):
            raise self.fail(key, f'topic must be absolute (start with /), got {value!r}')
        return value

    def msg_type(self, value: Any, key: str) -> str:
        self.typed(value, key, str)
        parts = value.split('/')
        if len(parts) != 3 or parts[1] != 'msg' or not all(parts):
            raise self.fail(key, f"message type must look like 'pkg/msg/Type', got {value!r}")
        return value

"""A test-wide check that every Lua script and every transaction stays in one hash slot.

On a Redis Cluster a script or MULTI/EXEC (with its WATCHes) whose keys hash to two slots
fails (CROSSSLOT); on one server it works, so a single-server run would never notice. While
the guard is installed, every ``redis.Redis`` client (the app's, fakeredis's) raises
``CrossSlot`` for such a script or transaction, on one server as on a cluster. Keys are found
as the cluster client finds them: from ``COMMAND`` (redis-py's ``CommandsParser``), and from
``numkeys`` for EVAL/EVALSHA/FCALL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from redis._parsers.commands import CommandsParser
from redis.client import Pipeline
from redis.crc import key_slot

SCRIPT_COMMANDS = {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"}


class CrossSlot(AssertionError):
    """A script or transaction was given keys of more than one hash slot."""


def _bytes(key: Any) -> bytes:
    return key if isinstance(key, bytes) else str(key).encode()


def check_one_slot(what: str, keys: Iterable[Any]) -> None:
    keys = list(keys)
    slots = {key_slot(_bytes(k)) for k in keys}
    if len(slots) > 1:
        raise CrossSlot(f"{what} touches keys of {len(slots)} hash slots: "
                        f"{sorted(map(str, keys))}")


class SlotGuard:
    def __init__(self, server: redis.Redis) -> None:
        self.server = server  # a plain client of a real server, for COMMAND / COMMAND GETKEYS
        self.parser = CommandsParser(server)

    def keys_of(self, args: Sequence[Any]) -> list[Any]:
        name = str(args[0]).upper()
        if name in SCRIPT_COMMANDS:
            return list(args[3:3 + int(args[2])])
        if name in ("MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"):
            return list(args[1:]) if name == "WATCH" else []
        return list(self.parser.get_keys(self.server, *args) or [])

    def check_script(self, args: Sequence[Any]) -> None:
        if args and str(args[0]).upper() in SCRIPT_COMMANDS:
            check_one_slot(f"script {str(args[0]).upper()}", self.keys_of(args))

    @contextmanager
    def installed(self) -> Iterator[None]:
        guard = self
        execute_command = redis.Redis.execute_command
        execute_transaction = Pipeline._execute_transaction
        execute_pipeline = Pipeline._execute_pipeline
        reset = Pipeline.reset

        def guarded_execute_command(self: redis.Redis, *args: Any, **options: Any) -> Any:
            guard.check_script(args)
            return execute_command(self, *args, **options)

        def guarded_reset(self: Pipeline) -> None:
            self.__dict__.pop("_guard_watched", None)
            reset(self)

        def guarded_transaction(self: Pipeline, connection: Any, commands: Any,
                                raise_on_error: Any) -> Any:
            keys = list(self.__dict__.get("_guard_watched", []))
            for args, _ in commands:
                guard.check_script(args)
                keys.extend(guard.keys_of(args))
            check_one_slot("MULTI/EXEC (with its WATCHes)", keys)
            return execute_transaction(self, connection, commands, raise_on_error)

        def guarded_pipeline(self: Pipeline, connection: Any, commands: Any,
                             raise_on_error: Any) -> Any:
            for args, _ in commands:
                guard.check_script(args)
            return execute_pipeline(self, connection, commands, raise_on_error)

        from bff.ground.store import coalesce

        send_directly = coalesce._send

        def guarded_send(r: redis.Redis, commands: Any) -> Any:  # a pipeline sent directly
            for args, _ in commands:
                guard.check_script(args)
            return send_directly(r, commands)

        from bff.sandbox.core import Sandbox

        evalsha = Sandbox._evalsha

        def guarded_evalsha(self: Sandbox, conn: Any, script: Any, keys: list[str],
                            args: list[Any]) -> Any:  # the sandbox's, on a kept connection
            check_one_slot("script EVALSHA", keys)
            return evalsha(self, conn, script, keys, args)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(coalesce, "_send", guarded_send)
            mp.setattr(Sandbox, "_evalsha", guarded_evalsha)
            mp.setattr(redis.Redis, "execute_command", guarded_execute_command)
            mp.setattr(Pipeline, "execute_command", _pipeline_execute_command(guard))
            mp.setattr(Pipeline, "reset", guarded_reset)
            mp.setattr(Pipeline, "_execute_transaction", guarded_transaction)
            mp.setattr(Pipeline, "_execute_pipeline", guarded_pipeline)
            yield


def _pipeline_execute_command(guard: SlotGuard) -> Any:
    """While a pipeline WATCHes (before MULTI) it runs commands at once, on the connection the
    transaction will use: their keys join the transaction's (a cluster needs them in its slot)."""
    original = Pipeline.execute_command

    def execute_command(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        if (self.watching or str(args[0]).upper() == "WATCH") and not self.explicit_transaction:
            guard.check_script(args)
            touched = self.__dict__.setdefault("_guard_watched", [])
            touched.extend(guard.keys_of(args))
            check_one_slot("WATCH and the reads before its MULTI", touched)
        return original(self, *args, **kwargs)

    return execute_command

"""The custom-code import pipeline, usable without click.

WeChat's "Import Code" flow for custom-code cards: deposit the codes (``card/code/deposit``, at
most 100 a call), check them (``card/code/getdepositcount``, ``card/code/checkcode``), then raise
the card's stock by as many (``card/modifystock``; a deposit adds no stock by itself).

Deposit in batches of 100 with bounded parallelism, checkpointed in Redis per (card_id, file
digest): a worker records its batch's result the moment WeChat answers, so a rerun skips every
finished batch and re-sends only batches that were in flight when a run died. Transient failures
are retried with backoff; then the import is reconciled (deposit count, checkcode over every code)
and every line of the file gets a status in the report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import redis
from redis.exceptions import LockError

from bff.domain.codes.custom import MAX_BATCH, CodeFile
from bff.domain.codes.reconcile import Progress, build_report, check_all
from bff.ground.metrics import IMPORTED_CODES
from bff.ground.store import keys
from bff.ground.wechat.api import WeChatApi
from bff.ground.wechat.errors import Busy, ErrCode, QuotaExceeded, WeChatError, WeChatUnavailable

CHECKPOINT_TTL = 30 * 86400
LOCK_TTL = 60  # seconds; renewed every LOCK_TTL / 3 while the import runs


class ImportInterrupted(Exception):
    """The run stopped early; finished batches are checkpointed, a rerun continues."""


class ImportAborted(Exception):
    """WeChat refused a batch for a reason retrying cannot fix (e.g. unknown card)."""


class ImportLocked(Exception):
    """Another import of the same card is running; ``holder`` says who (host, pid, started_at)."""

    def __init__(self, card_id: str, holder: dict[str, Any]) -> None:
        self.holder = holder
        super().__init__(
            f"another import of card {card_id} is running: host {holder.get('host', '?')}, "
            f"pid {holder.get('pid', '?')}, started {holder.get('started_at', '?')}; "
            "wait for it to finish (or, if that process is gone, for its lock to expire in "
            f"{LOCK_TTL} s)")


class ImportLock:
    """One import per card at a time across every machine: a redis-py ``Lock`` whose TTL a
    thread renews (``extend``; reacquired if it lapsed meanwhile, e.g. Redis away a while).

    The token names the holder (host, pid, start time) so a refused run can say who holds it; a
    holder that dies leaves a lock that expires within LOCK_TTL.
    """

    def __init__(self, r: redis.Redis, card_id: str, *, ttl: int = LOCK_TTL) -> None:
        self.r, self.card_id, self.ttl = r, card_id, ttl
        self.key = keys.import_lock(card_id)
        self.value = json.dumps({
            "owner": secrets.token_hex(8), "host": socket.gethostname(), "pid": os.getpid(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        })
        # Not thread-local: the renewing thread extends the lock the run's thread took.
        self.lock = r.lock(self.key, timeout=ttl, thread_local=False)
        self._done = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> ImportLock:
        if not self.lock.acquire(blocking=False, token=self.value):
            raw = self.r.get(self.key)
            try:
                holder = json.loads(raw) if raw else {}
            except ValueError:
                holder = {}
            holder.pop("owner", None)
            raise ImportLocked(self.card_id, holder)
        self._renewer = threading.Thread(target=self._renew, name="import-lock", daemon=True)
        self._renewer.start()
        return self

    def _renew(self) -> None:
        while not self._done.wait(self.ttl / 3):
            try:
                self.lock.extend(self.ttl, replace_ttl=True)
            except LockError:  # lapsed: take it back unless another run has it now
                try:
                    self.lock.acquire(blocking=False, token=self.value)
                except redis.RedisError:
                    continue
            except redis.RedisError:
                continue  # the next round retries; the TTL leaves two more chances

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        try:
            self.lock.release()
        except LockError:
            pass  # lapsed: it expires (or already did) by itself


def transient(e: WeChatError) -> bool:
    if isinstance(e, (WeChatUnavailable, Busy)):
        return True
    return isinstance(e, QuotaExceeded) and e.errcode == ErrCode.MINUTE_QUOTA


class CodeImporter:
    def __init__(
        self, r: redis.Redis, wechat: WeChatApi, card_id: str, codefile: CodeFile, *,
        parallel: int = 4, max_attempts: int = 4, backoff: float = 0.5,
        progress: Progress | None = None, on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.r, self.wechat, self.card_id, self.file = r, wechat, card_id, codefile
        self.parallel = max(1, parallel)
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.progress = progress or Progress()
        self.on_batch = on_batch  # called in the caller's thread after each finished batch
        self.batches = [codefile.codes[i:i + MAX_BATCH]
                        for i in range(0, len(codefile.codes), MAX_BATCH)]
        self._stop = threading.Event()

    def key(self, part: str) -> str:
        return keys.import_checkpoint(self.card_id, self.file.checkpoint_id, part)

    # -- the run ------------------------------------------------------------------------------

    def run(self, *, set_stock: bool = False) -> dict[str, Any]:
        """Deposit what is not done yet, reconcile, optionally add stock; returns the report.

        ImportLocked when another import of the same card is running anywhere.
        """
        with ImportLock(self.r, self.card_id):
            return self._run(set_stock=set_stock)

    def _run(self, *, set_stock: bool) -> dict[str, Any]:
        done = self.checkpoint()
        pending = [i for i in range(len(self.batches)) if i not in done]
        self.progress.start("deposit", len(self.file.codes),
                            sum(len(self.batches[i]) for i in done))
        errors: dict[int, str] = {}
        try:
            self._deposit(pending, errors)
        finally:
            self.progress.close()
        done = self.checkpoint()
        count = int(self.wechat.code_deposit_count(self.card_id).get("count", 0))
        exists = check_all(self.wechat, self.card_id, self.file.codes,
                           parallel=self.parallel, progress=self.progress)
        attempts = {int(k): int(v) for k, v in self.r.hgetall(self.key("sent")).items()}
        report = build_report(self.card_id, self.file, self.batches, done, errors, attempts,
                              exists, count)
        if set_stock:
            report["stock_added"] = self._add_stock(report["summary"]["succeeded"])
        return report

    def checkpoint(self) -> dict[int, dict[str, Any]]:
        return {int(i): json.loads(v) for i, v in self.r.hgetall(self.key("done")).items()}

    def _deposit(self, pending: list[int], errors: dict[int, str]) -> None:
        todo: Iterator[int] = iter(pending)
        executor = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="deposit")
        inflight: set[Future] = set()
        try:
            for _ in range(self.parallel * 2):
                self._submit(executor, todo, inflight)
            while inflight:
                finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                for future in finished:
                    index, error = future.result()
                    if error is not None:
                        errors[index] = error
                    self.progress.advance(len(self.batches[index]))
                    if self.on_batch is not None:
                        self.on_batch(index)
                    self._submit(executor, todo, inflight)
        except BaseException as e:
            # Let in-flight batches finish and record themselves; start no new one.
            self._stop.set()
            executor.shutdown(wait=True, cancel_futures=True)
            if isinstance(e, (KeyboardInterrupt, ImportInterrupted)):
                raise ImportInterrupted(
                    "interrupted: finished batches are checkpointed; rerun the same command "
                    "to continue"
                ) from None
            raise
        executor.shutdown(wait=True)

    def _submit(self, executor: ThreadPoolExecutor, todo: Iterator[int],
                inflight: set[Future]) -> None:
        index = next(todo, None)
        if index is not None:
            inflight.add(executor.submit(self._deposit_batch, index))

    def _deposit_batch(self, index: int) -> tuple[int, str | None]:
        """Runs in a worker: send (with retries) and record the answer at once."""
        for attempt in range(self.max_attempts):
            if self._stop.is_set():
                return index, "not sent: the run was stopped"
            self._mark_sent(index)
            try:
                answer = self.wechat.code_deposit(self.card_id, self.batches[index])
            except WeChatError as e:
                if not transient(e):
                    raise ImportAborted(
                        f"WeChat refused batch {index} ({e.errcode}): {e.errmsg}"
                    ) from None
                if attempt + 1 >= self.max_attempts:
                    return index, f"failed after {self.max_attempts} attempts ({e.errcode})"
                time.sleep(random.uniform(0.5, 1.0) * self.backoff * 2 ** attempt)
                continue
            self._record(index, answer)
            return index, None
        raise AssertionError("unreachable")

    def _mark_sent(self, index: int) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrby(self.key("sent"), str(index), 1)
        pipe.expire(self.key("sent"), CHECKPOINT_TTL)
        pipe.execute()

    def _record(self, index: int, answer: dict[str, Any]) -> None:
        batch = self.batches[index]
        result = {"succ": _count(answer.get("succ_code")),
                  "dup": _codes(answer.get("duplicate_code")),
                  "fail": _codes(answer.get("fail_code")),
                  "dup_n": _count(answer.get("duplicate_code")),
                  "fail_n": _count(answer.get("fail_code")), "size": len(batch)}
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.key("done"), str(index), json.dumps(result))
        pipe.expire(self.key("done"), CHECKPOINT_TTL)
        pipe.execute()
        IMPORTED_CODES.labels("succeeded").inc(result["succ"])
        IMPORTED_CODES.labels("duplicate").inc(result["dup_n"])
        IMPORTED_CODES.labels("failed").inc(result["fail_n"])

    def _add_stock(self, imported: int) -> int:
        """Raise the card's stock to this import's count (a deposit adds none), once across
        reruns."""
        added = int(self.r.get(self.key("stock")) or 0)
        delta = imported - added
        if delta > 0:
            # Counted before the call, given back if WeChat refuses: a crash in between leaves
            # the stock short (visible, fixable) rather than added twice by the rerun.
            pipe = self.r.pipeline(transaction=True)
            pipe.incrby(self.key("stock"), delta)
            pipe.expire(self.key("stock"), CHECKPOINT_TTL)
            pipe.execute()
            try:
                self.wechat.modify_stock(self.card_id, increase=delta)
            except Exception:
                self.r.decrby(self.key("stock"), delta)
                raise
        return max(delta, 0)


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _codes(value: Any) -> list[str]:
    return [str(c) for c in value] if isinstance(value, list) else []

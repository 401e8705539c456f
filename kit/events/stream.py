"""Celery's event stream read straight from Redis pub/sub, as kombu publishes it."""

import base64
import json
import time

import redis
from celery.utils.time import utcoffset
from kombu.serialization import loads
from redis.backoff import NoBackoff
from redis.retry import Retry

from kit.celery_private import publish_topics
from kit.events.telemetry import feed_client_name

#: Messages read in one go before they are handed on (the rest wait for the next read).
BATCH = 256


class RedisEventStream:
    """The events of `exchange` on an open kombu Redis connection, in batches (`read`).

    kombu's Redis transport publishes each event on the channel `{global_keyprefix}/{db}.{exchange}/
    {routing key}` (kit.celery_private.publish_topics) as its JSON envelope around the event
    (base64 body). This subscribes to the same channels and does only what Celery's
    `EventReceiver` does to each event (a list of events is a group sent at once; the timestamp is
    moved to this host's UTC offset; `local_received` is set).

    Uses the connection's own settings (URL, password, TLS, `global_keyprefix`, fanout options)
    for a pub/sub connection of its own that never reconnects by itself: a broken connection
    raises from `read`, so the caller notices (and says so) before it subscribes again.
    """

    @staticmethod
    def fits(conn):
        """Can it read this kombu connection: plain Redis (not Sentinel, not another broker)?"""
        if conn.transport.driver_type != "redis":
            return False
        return type(conn.default_channel.client.connection_pool) is redis.ConnectionPool

    def __init__(self, conn, exchange, accept, errors):
        channel = conn.default_channel
        # kombu subscribes its event queue (routing key '#', which it turns into '*') the same way
        self.topics = publish_topics(channel, exchange, "*")
        base = channel.client.connection_pool
        # named, so a worker's emitter sees it listen again after a broker outage (telemetry.py)
        name = feed_client_name(conn)
        options = {**base.connection_kwargs, "retry": Retry(NoBackoff(), 0), "client_name": name}
        self._pool = type(base)(connection_class=base.connection_class, **options)
        self._pubsub = redis.client.PubSub(self._pool, ignore_subscribe_messages=True)
        self._accept = accept
        #: where a message that is not an event goes (not kombu's envelope, a refused content type)
        self.errors = errors
        try:
            self._pubsub.psubscribe(*self.topics)
        except BaseException:
            self.close()
            raise

    def read(self, timeout):
        """The events that arrived, oldest first; [] when none came within `timeout` seconds."""
        pubsub = self._pubsub
        reply = pubsub.parse_response(block=False, timeout=timeout)
        events, left = [], BATCH
        while reply is not None:
            if reply[0] in (b"pmessage", b"message"):
                self._decode(reply[-1], events)
            left -= 1
            try:
                if not left or not pubsub.connection.can_read(timeout=0):
                    break
                reply = pubsub.parse_response(block=False, timeout=0)
            except redis.RedisError:
                if not events:
                    raise
                # hand on what was read; the next read raises
                break
        if events:
            now, here = time.time(), utcoffset()
            # as Celery's EventReceiver.event_from_message does
            for event in events:
                offset, stamp = event.get("utcoffset"), event.get("timestamp")
                if offset is not None and stamp is not None:
                    event["timestamp"] = stamp - (offset - here) * 3600
                event["local_received"] = now
        return events

    def _decode(self, data, events):
        try:
            message = json.loads(data)
            body = message["body"]
            if message.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            kind = message.get("content-type")
            if kind == "application/json":
                payload = json.loads(body)
            else:
                payload = loads(body, kind, message.get("content-encoding"), accept=self._accept)
        except Exception as exc:
            # one bad message must not stop the stream
            self.errors.append(f"undecodable event message: {type(exc).__name__}: {exc}")
            return
        if isinstance(payload, dict):
            events.append(payload)
        elif isinstance(payload, list):
            # a group of events sent at once
            events.extend(e for e in payload if isinstance(e, dict))

    def close(self):
        """Unsubscribe and drop the connection; idempotent."""
        try:
            self._pubsub.close()
        finally:
            self._pool.disconnect()

"""Messages to an MQTT broker: one per frame, or appeared/disappeared events.

Publishing never stalls the pipeline. ``write`` only appends the payload to a
bounded outbox (the oldest message is dropped and counted when it is full); a
publisher thread hands messages to paho-mqtt only while connected and while
fewer than ``WINDOW`` are waiting in paho's own buffer. paho's network thread
(``loop_start``) reconnects on its own with capped backoff after the broker
goes away, and publishing resumes where the outbox stands. With ``qos: 1``
messages handed to paho before a disconnect are sent again on reconnect.

Payloads are documented in ``docs/outputs.md``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from streamer.config import MqttSinkConfig
from streamer.frames import Image, Result
from streamer.metrics import RunMetrics
from streamer.records import frame_record
from streamer.sinks.events import EventTracker
from streamer.sources.base import SourceInfo

logger = logging.getLogger(__name__)

#: Messages handed to paho and not yet written to the socket, at most.
WINDOW = 100
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 10
#: Per-prediction fields left out of per-frame messages.
HEAVY_FIELDS = ("location", "mask_shape", "pixels")


def per_frame_payload(result: Result) -> dict[str, Any]:
    """The frame record without timings and per-prediction geometry extras."""
    record = frame_record(result)
    record.pop("timings", None)
    record["predictions"] = [
        {k: v for k, v in pred.items() if k not in HEAVY_FIELDS}
        for pred in record["predictions"]
    ]
    return record


class MqttSink:
    """Publishes JSON messages to ``topic`` on an MQTT broker."""

    needs_image = False

    def __init__(self, config: MqttSinkConfig) -> None:
        self.config = config
        self.sent = 0
        self.dropped = 0
        self._outbox: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._pending = 0
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._metrics: RunMetrics | None = None
        self._tracker = EventTracker(
            config.appear_frames,
            config.disappear_frames,
            config.min_score,
            config.labels,
        )
        self._client = self._make_client()

    @property
    def connected(self) -> bool:
        """True while the broker connection is up."""
        return self._connected.is_set()

    def attach(self, metrics: RunMetrics) -> None:
        """Count messages in the run's metrics."""
        self._metrics = metrics

    def open(self, info: SourceInfo) -> None:
        """Start connecting in the background; the run does not wait for it."""
        cfg = self.config
        self._client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self._client.loop_start()
        self._thread = threading.Thread(
            target=self._publish_loop, name="mqtt-publisher", daemon=True
        )
        self._thread.start()
        logger.info(
            "publishing %s to mqtt://%s:%d/%s", cfg.mode, cfg.host, cfg.port, cfg.topic
        )

    def write(self, result: Result, annotated: Image | None) -> None:
        """Queue this frame's message or events; never waits for the broker."""
        if self.config.mode == "per_frame":
            payloads = [per_frame_payload(result)]
        else:
            payloads = self._tracker.update(result)
        for payload in payloads:
            self._enqueue(json.dumps(payload, separators=(",", ":")).encode())

    def close(self) -> None:
        """Send what is queued within ``close_timeout_s``, then disconnect."""
        if self._thread is None:
            return
        with self._cond:
            self._cond.wait_for(
                lambda: not self._outbox and self._pending == 0,
                timeout=self.config.close_timeout_s if self._connected.is_set() else 0,
            )
            self._count_dropped(len(self._outbox))
            self._outbox.clear()
        self._stop.set()
        self._wake()
        self._thread.join(timeout=5.0)
        self._thread = None
        self._client.disconnect()
        self._client.loop_stop()
        logger.info("mqtt: %d messages sent, %d dropped", self.sent, self.dropped)

    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            protocol=mqtt.MQTTv311,
        )
        if cfg.username is not None:
            password = cfg.password.get_secret_value() if cfg.password else None
            client.username_pw_set(cfg.username, password)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_queued_messages_set(WINDOW * 2)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _enqueue(self, payload: bytes) -> None:
        with self._cond:
            if len(self._outbox) >= self.config.max_buffered:
                self._outbox.popleft()
                self._count_dropped(1)
            self._outbox.append(payload)
            self._cond.notify_all()

    def _publish_loop(self) -> None:
        try:
            while not self._stop.is_set():
                payload = self._next_payload()
                if payload is not None:
                    self._publish(payload)
        except Exception:
            logger.exception("mqtt publisher failed")

    def _next_payload(self) -> bytes | None:
        with self._cond:
            self._cond.wait_for(self._can_send, timeout=0.5)
            if not self._can_send():
                return None
            self._pending += 1
            return self._outbox.popleft()

    def _can_send(self) -> bool:
        return (
            bool(self._outbox) and self._connected.is_set() and self._pending < WINDOW
        )

    def _publish(self, payload: bytes) -> None:
        cfg = self.config
        info = self._client.publish(cfg.topic, payload, qos=cfg.qos, retain=cfg.retain)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            return
        if cfg.qos > 0 and info.rc == mqtt.MQTT_ERR_NO_CONN:
            return  # paho keeps it and sends it on reconnect
        with self._cond:
            self._pending = max(self._pending - 1, 0)
            self._count_dropped(1)

    def _count_dropped(self, count: int) -> None:
        if count <= 0:
            return
        self.dropped += count
        if self._metrics is not None:
            self._metrics.sink_messages("mqtt", "dropped", count)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: Any,
        properties: Any,
    ) -> None:
        if reason.is_failure:
            logger.warning("mqtt broker refused the connection: %s", reason)
            return
        logger.info(
            "connected to mqtt broker %s:%d", self.config.host, self.config.port
        )
        with self._cond:
            # QoS 0 messages not yet written when the link dropped are gone.
            self._pending = 0
            self._connected.set()
            self._cond.notify_all()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: Any,
        properties: Any,
    ) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            logger.warning("mqtt broker connection lost (%s); reconnecting", reason)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: Any,
        properties: Any,
    ) -> None:
        with self._cond:
            self._pending = max(self._pending - 1, 0)
            self.sent += 1
            self._cond.notify_all()
        if self._metrics is not None:
            self._metrics.sink_messages("mqtt", "sent", 1)

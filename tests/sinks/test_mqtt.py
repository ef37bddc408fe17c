"""The MQTT sink against Debian's mosquitto on 127.0.0.1, killed mid-run."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from streamer.config import MqttSinkConfig
from streamer.frames import Frame, Result, Status
from streamer.predict import ObjectDetectionPrediction
from streamer.sinks.events import EventTracker
from streamer.sinks.mqtt import MqttSink, per_frame_payload
from streamer.sources.base import SourceInfo
from tests.helpers import free_port, require_tool
from tests.sinks.conftest import (
    RunningPipeline,
    StubPredictor,
    pipeline_config,
    wait_until,
)

EVENT_KEYS = {
    "event",
    "label",
    "frame",
    "media_time",
    "wall_time",
    "score",
    "last_seen_frame",
    "source",
}
INFO = SourceInfo(64, 48, 10.0)


class Broker:
    """mosquitto on 127.0.0.1, killed and restarted on the same port."""

    def __init__(self, tmp: Path) -> None:
        self.exe = require_tool("/usr/sbin/mosquitto")
        self.port = free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._listening, 10, "mosquitto to listen")

    def _listening(self) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


class Subscriber:
    """Collects every message on a topic; resubscribes after a reconnect."""

    def __init__(self, port: int, topic: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-sub")
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append(json.loads(message.payload))

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def result(
    index: int, labels: list[tuple[str, float]], status: Status = Status.OK
) -> Result:
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    frame = Frame(index, "cam", image, time.monotonic(), time.time(), index / 10)
    preds = [
        ObjectDetectionPrediction(
            id=str(i), score=score, label_name=label, label_index=1, bboxes=(1, 2, 9, 9)
        )
        for i, (label, score) in enumerate(labels)
    ]
    return Result(frame, status, tuple(preds))


def blinking(index: int) -> Result:
    """A person in view for five frames, then gone for five, and so on."""
    present = (index // 5) % 2 == 0
    return result(index, [("person", 0.9)] if present else [])


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    server = Broker(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        # seen twice in a row -> appeared at the second frame
        ([["a"], ["a"], ["a"]], [("appeared", "a", 1)]),
        # a gap resets the run of frames seen
        ([["a"], [], ["a"], ["a"]], [("appeared", "a", 3)]),
        # missing twice -> disappeared
        ([["a"], ["a"], [], [], []], [("appeared", "a", 1), ("disappeared", "a", 3)]),
        # failed frames neither extend nor break a run
        ([["a"], None, ["a"]], [("appeared", "a", 2)]),
        # low scores and unwatched labels are ignored
        ([["low"], ["low"], ["b"], ["b"]], []),
    ],
)
def test_event_rules(
    frames: list[list[str] | None], expected: list[tuple[str, str, int]]
) -> None:
    tracker = EventTracker(
        appear_frames=2, disappear_frames=2, min_score=0.5, labels=["a", "low"]
    )
    events = []
    for index, labels in enumerate(frames):
        if labels is None:
            events += tracker.update(result(index, [], Status.FAILED))
            continue
        scored = [(name, 0.1 if name == "low" else 0.8) for name in labels]
        events += tracker.update(result(index, scored))
    assert [(e["event"], e["label"], e["frame"]) for e in events] == expected


def test_per_frame_payload_leaves_out_heavy_fields() -> None:
    payload = per_frame_payload(result(7, [("person", 0.75)]))
    assert set(payload) == {
        "index",
        "source",
        "wall_time",
        "media_time",
        "status",
        "error",
        "predictions",
    }
    assert payload["predictions"] == [
        {
            "kind": "object_detection",
            "score": 0.75,
            "label_name": "person",
            "label_index": 1,
            "bboxes": [1, 2, 9, 9],
        }
    ]


def test_no_broker_never_blocks_and_counts_drops() -> None:
    config = MqttSinkConfig(
        kind="mqtt", port=free_port(), mode="per_frame", max_buffered=50
    )
    sink = MqttSink(config)
    sink.open(INFO)
    started = time.monotonic()
    for index in range(500):
        sink.write(result(index, []), None)
    assert time.monotonic() - started < 1.0
    sink.close()
    assert sink.dropped == 500 and sink.sent == 0


@pytest.mark.slow
@pytest.mark.parametrize("qos", [0, 1])
def test_events_survive_a_broker_restart(broker: Broker, qos: int) -> None:
    topic = "streamer/test/events"
    subscriber = Subscriber(broker.port, topic)
    config = MqttSinkConfig(
        kind="mqtt",
        port=broker.port,
        topic=topic,
        qos=qos,
        mode="events",
        appear_frames=2,
        disappear_frames=2,
        client_id=f"test-sink-{qos}",
    )
    sink = MqttSink(config)
    sink.open(INFO)
    index = 0
    slowest = 0.0

    def feed(count: int) -> None:
        nonlocal index, slowest
        for _ in range(count):
            started = time.monotonic()
            sink.write(blinking(index), None)
            slowest = max(slowest, time.monotonic() - started)
            index += 1
            time.sleep(0.01)

    try:
        wait_until(lambda: sink.connected, 10, "the sink to connect")
        wait_until(lambda: subscriber.client.is_connected(), 10, "the subscriber")
        time.sleep(0.3)  # the subscription is acknowledged
        feed(60)
        wait_until(lambda: len(subscriber.received()) >= 10, 10, "the first events")
        first = subscriber.received()[0]

        broker.kill()
        feed(60)
        restarted_at = index
        broker.start()
        deadline = time.monotonic() + 20
        while not any(m["frame"] >= restarted_at for m in subscriber.received()):
            assert time.monotonic() < deadline, "no events after the broker restart"
            feed(10)
    finally:
        sink.close()
        subscriber.close()

    assert set(first) == EVENT_KEYS
    assert first == {
        "event": "appeared",
        "label": "person",
        "frame": 1,
        "media_time": 0.1,
        "wall_time": first["wall_time"],
        "score": 0.9,
        "last_seen_frame": 1,
        "source": "cam",
    }
    kinds = [m["event"] for m in subscriber.received()]
    assert kinds.count("appeared") >= 5 and kinds.count("disappeared") >= 5
    assert slowest < 0.05, f"a write took {slowest:.3f} s"


def test_pipeline_publishes_a_message_per_frame(
    broker: Broker, stub: StubPredictor, short_clip: Path
) -> None:
    topic = "streamer/test/frames"
    subscriber = Subscriber(broker.port, topic)
    try:
        wait_until(lambda: subscriber.client.is_connected(), 10, "the subscriber")
        time.sleep(0.3)
        sinks = (
            f"  - {{kind: mqtt, port: {broker.port}, topic: {topic}, "
            "mode: per_frame, qos: 1}"
        )
        run = RunningPipeline(pipeline_config(str(short_clip), stub.port, sinks))
        run.start()
        wait_until(lambda: run.summary is not None, 60, "the run to finish")
        run.stop()
        wait_until(lambda: len(subscriber.received()) >= 40, 10, "40 messages")
    finally:
        subscriber.close()
    received = subscriber.received()
    assert sorted(m["index"] for m in received) == list(range(40))
    assert {m["status"] for m in received} == {"ok"}
    assert all("timings" not in m for m in received)


def test_credentials_come_from_the_environment() -> None:
    from streamer.config import parse_config

    text = (
        "source: {url: cam.mp4}\nsinks:\n"
        '  - {kind: mqtt, username: line3, password: "${MQTT_PASSWORD}"}\n'
    )
    config = parse_config(text, env={"MQTT_PASSWORD": "s3cret"})
    sink_config = config.sinks[0]
    assert isinstance(sink_config, MqttSinkConfig)
    assert sink_config.password is not None
    assert sink_config.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(sink_config)
    assert (sink_config.host, sink_config.port) == ("127.0.0.1", 1883)

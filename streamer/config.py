"""YAML configuration to validated settings.

Configs are read with YAML 1.2 scalar rules: only ``true``/``false`` are booleans,
and numbers with leading zeros or colons (``0554``, ``12:30``) stay strings, so a
field of the wrong type is rejected instead of silently receiving YAML 1.1's
reading. ``${VAR}`` and ``${VAR:-default}`` in any string are replaced from the
environment, which is where secrets belong. Every error names the file, the field
path and the value.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from streamer.exceptions import ConfigError

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SourceConfig(_Strict):
    """Where frames come from.

    ``url`` is a file path, an image folder or glob, an ``rtsp://`` or ``http(s)://``
    stream URL, or a webcam (``0`` or ``/dev/video0``).
    """

    url: str | int
    name: str | None = None
    max_fps: float | None = Field(default=None, gt=0)
    realtime: bool = False
    loop: bool = False
    rtsp_transport: Literal["tcp", "udp"] = "tcp"
    open_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=5.0, gt=0)
    max_frame_age_s: float | None = Field(default=None, gt=0)
    reconnect_max_backoff_s: float = Field(default=30.0, gt=0)
    reconnect_max_attempts: int | None = Field(default=None, ge=1)
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)


class ServeConfig(_Strict):
    """An embedded inference server that the run starts and stops itself."""

    model: Literal["people", "faces", "motion", "null"] = "people"
    delay_ms: float = Field(default=0.0, ge=0)
    port: int = Field(default=0, ge=0, le=65535)


class PredictorConfig(_Strict):
    """The inference server to send frames to."""

    kind: Literal["edge", "cloud", "ocr"] = "edge"
    host: str = "localhost"
    port: int = Field(default=8000, ge=1, le=65535)
    serve: ServeConfig | None = None
    endpoint_id: str | None = None
    api_key: SecretStr | None = None
    url: str | None = None
    language: Literal["en", "ch"] = "ch"
    threshold: float = Field(default=0.5, ge=0, le=1)
    connect_timeout_s: float = Field(default=3.05, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    image_format: Literal["JPEG", "PNG", "BMP"] = "JPEG"
    jpeg_quality: int = Field(default=90, ge=1, le=100)
    max_attempts: int = Field(default=3, ge=1, le=20)
    rate_limit_budget_s: float | None = Field(default=None, ge=0)
    wait_for_server_s: float = Field(default=0.0, ge=0)


class PipelineConfig(_Strict):
    """Workers and the frame queue between them and the source."""

    workers: int = Field(default=4, ge=1, le=64)
    queue_size: int = Field(default=8, ge=1)
    policy: Literal["block", "drop_oldest", "drop_newest"] | None = None
    drain_timeout_s: float = Field(default=10.0, ge=0)
    progress: bool = True


class OverlayConfig(_Strict):
    """What is drawn on annotated frames."""

    boxes: bool = True
    labels: bool = True
    scores: bool = True
    masks: bool = True
    hud: bool = True
    mask_alpha: float = Field(default=0.4, ge=0, le=1)
    thickness: int = Field(default=2, ge=1, le=20)


class VideoSinkConfig(_Strict):
    """An annotated H.264 MP4 that stays playable if the process dies."""

    kind: Literal["video"]
    path: str
    fps: float | None = Field(default=None, gt=0, le=240)
    crf: int = Field(default=23, ge=0, le=51)
    preset: str = "veryfast"
    raw: bool = False


class JsonlSinkConfig(_Strict):
    """One JSON record a line for every frame."""

    kind: Literal["jsonl"]
    path: str
    flush_every: int = Field(default=25, ge=1)


class PreviewSinkConfig(_Strict):
    """A live view in the browser, with figures and Prometheus metrics.

    Port 0 picks a free port (logged when the sink opens).
    """

    kind: Literal["preview"]
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_fps: float = Field(default=10.0, gt=0, le=60)
    jpeg_quality: int = Field(default=80, ge=1, le=100)


class MqttSinkConfig(_Strict):
    """Per-frame messages or appeared/disappeared events to an MQTT broker."""

    kind: Literal["mqtt"]
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic: str = Field(default="streamer", min_length=1)
    mode: Literal["per_frame", "events"] = "events"
    qos: Literal[0, 1] = 0
    retain: bool = False
    client_id: str = ""
    username: str | None = None
    password: SecretStr | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    max_buffered: int = Field(default=1000, ge=1)
    labels: list[str] | None = None
    min_score: float = Field(default=0.5, ge=0, le=1)
    appear_frames: int = Field(default=3, ge=1)
    disappear_frames: int = Field(default=5, ge=1)
    close_timeout_s: float = Field(default=2.0, ge=0, le=60)


class SnapshotsSinkConfig(_Strict):
    """Annotated JPEGs of frames where a label was seen, rate limited."""

    kind: Literal["snapshots"]
    dir: str
    label: str = Field(min_length=1)
    min_score: float = Field(default=0.5, ge=0, le=1)
    min_count: int = Field(default=1, ge=1)
    min_interval_s: float = Field(default=5.0, ge=0)
    raw: bool = False
    jpeg_quality: int = Field(default=90, ge=1, le=100)


class WindowSinkConfig(_Strict):
    """An OpenCV window on the local display (needs a GUI build of OpenCV)."""

    kind: Literal["window"]
    title: str = "streamer"


_SINK_MODELS: dict[str, type[BaseModel]] = {
    "video": VideoSinkConfig,
    "jsonl": JsonlSinkConfig,
    "preview": PreviewSinkConfig,
    "mqtt": MqttSinkConfig,
    "snapshots": SnapshotsSinkConfig,
    "window": WindowSinkConfig,
}

SinkConfig = Annotated[
    VideoSinkConfig
    | JsonlSinkConfig
    | PreviewSinkConfig
    | MqttSinkConfig
    | SnapshotsSinkConfig
    | WindowSinkConfig,
    Field(discriminator="kind"),
]


class Config(_Strict):
    """A whole run: one source, one predictor, the pipeline and its outputs."""

    source: SourceConfig
    predictor: PredictorConfig = PredictorConfig()
    pipeline: PipelineConfig = PipelineConfig()
    overlay: OverlayConfig = OverlayConfig()
    sinks: list[SinkConfig] = Field(default_factory=list)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, expand and validate a YAML config file.

    Raises:
        ConfigError: The file is missing, is not YAML, or a value is invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}; check the path"
        ) from exc
    return parse_config(text, source_name=str(path), env=env)


def parse_config(
    text: str, source_name: str = "<config>", env: Mapping[str, str] | None = None
) -> Config:
    """Validate a YAML config given as text (see ``load_config``)."""
    try:
        data = yaml.load(text, Loader=_Yaml12Loader)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_message(exc, source_name)) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source_name} must hold a mapping with at least a 'source' key, "
            f"got {type(data).__name__}"
        )
    data = _expand_env(data, os.environ if env is None else env, source_name, ())
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source_name)) from None


def with_pipeline_overrides(config: Config, overrides: Mapping[str, Any]) -> Config:
    """A copy of ``config`` with some ``pipeline`` fields replaced, validated."""
    data = {**config.pipeline.model_dump(), **overrides}
    try:
        pipeline = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "command line")) from None
    return config.model_copy(update={"pipeline": pipeline})


def _yaml_message(exc: yaml.YAMLError, source_name: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"{source_name} is not valid YAML: {problem}"
    advice = (
        "remove one of them"
        if "given twice" in str(problem)
        else "check the indentation and quoting there"
    )
    return (
        f"{source_name} is not valid YAML at line {mark.line + 1}, column "
        f"{mark.column + 1}: {problem}; {advice}"
    )


def _expand_env(
    value: Any, env: Mapping[str, str], source_name: str, where: tuple[str, ...]
) -> Any:
    if isinstance(value, dict):
        return {
            k: _expand_env(v, env, source_name, (*where, str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _expand_env(v, env, source_name, (*where, str(i)))
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{source_name}: {'.'.join(where)} uses ${{{name}}} but the environment "
            f"variable {name} is not set; export it or give a default as "
            f"${{{name}:-value}}"
        )

    return _ENV_PATTERN.sub(substitute, value)


def _describe(exc: ValidationError, source_name: str) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            hint = _nearest_field(err["loc"])
            lines.append(f"{source_name}: unknown field '{where}'{hint}")
            continue
        if err["type"] == "union_tag_invalid":
            lines.append(f"{source_name}: {where}.kind {_tag_message(err)}")
            continue
        if err["type"] == "missing":
            lines.append(f"{source_name}: {where} is required")
            continue
        shown = "***" if _looks_secret(where) else repr(value)
        lines.append(f"{source_name}: {where} = {shown}: {_message(err)}")
    return "; ".join(lines)


def _tag_message(err: Mapping[str, Any]) -> str:
    tag = str(err.get("ctx", {}).get("tag", ""))
    match = difflib.get_close_matches(tag, list(_SINK_MODELS), n=1)
    hint = (
        f"did you mean '{match[0]}'?" if match else f"use one of {list(_SINK_MODELS)}"
    )
    return f"= {tag!r} is not a kind of sink; {hint}"


def _is_union_tag(part: int | str) -> bool:
    return isinstance(part, str) and (part in _SINK_MODELS or part in {"str", "int"})


def _looks_secret(where: str) -> bool:
    return any(word in where for word in ("api_key", "password", "token"))


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "literal_error":
        return _choice_message(err)
    if err["type"] in {"bool_type", "bool_parsing"}:
        return "expected true or false (on/off/yes/no are not booleans here)"
    if err["type"] in {"int_type", "int_parsing", "float_type"} and isinstance(
        err.get("input"), str
    ):
        return f"{err['msg'].lower()}; write the number without quotes or leading zeros"
    return str(err["msg"]).rstrip(".").lower() if err["msg"] else "invalid value"


def _choice_message(err: Mapping[str, Any]) -> str:
    expected = str(err.get("ctx", {}).get("expected", ""))
    choices = re.findall(r"'([^']*)'", expected)
    match = difflib.get_close_matches(str(err.get("input")), choices, n=1)
    hint = f"; did you mean '{match[0]}'?" if match else ""
    return f"expected one of {', '.join(choices)}{hint}"


def _nearest_field(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        model = _child_model(model, part)
    if model is None:
        return ""
    match = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f"; did you mean '{match[0]}'?" if match else ""


def _child_model(
    model: type[BaseModel] | None, part: int | str
) -> type[BaseModel] | None:
    if model is None or isinstance(part, int):
        return model
    if part in _SINK_MODELS:
        return _SINK_MODELS[part]
    field = model.model_fields.get(part)
    if field is None:
        return None
    if part == "sinks":
        return model
    for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


class _Yaml12Loader(yaml.SafeLoader):
    """A safe loader whose plain scalars follow YAML 1.2's core schema, stricter.

    A key given twice in one mapping is an error instead of the last one winning.
    """

    def construct_mapping(
        self, node: yaml.MappingNode, deep: bool = False
    ) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                message = f"the key {key!r} is given twice"
                raise yaml.constructor.ConstructorError(
                    None, None, message, key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_DROPPED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}
_Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"),
    list("-+0123456789"),
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:0|[1-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)

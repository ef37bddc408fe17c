from pathlib import Path

import pytest

from streamer.config import load_config, parse_config
from streamer.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_configs_are_valid() -> None:
    env = {
        "CAM_PASSWORD": "pw",
        "LANDINGAI_API_KEY": "land_sk_x",
        "LANDINGAI_ENDPOINT_ID": "id",
    }
    paths = sorted((ROOT / "configs").glob("*.yaml"))
    assert len(paths) >= 3
    for path in paths:
        load_config(path, env=env)


def test_defaults_fill_what_is_missing() -> None:
    config = parse_config("source: {url: a.mp4}")
    assert config.predictor.kind == "edge"
    assert config.predictor.port == 8000
    assert config.pipeline.workers == 4
    assert config.sinks == []


def test_environment_variables_are_expanded_with_defaults() -> None:
    text = (
        "source: {url: 'rtsp://u:${PW}@127.0.0.1/s'}\n"
        "predictor: {host: '${H:-localhost}'}"
    )
    config = parse_config(text, env={"PW": "p@ss"})
    assert config.source.url == "rtsp://u:p@ss@127.0.0.1/s"
    assert config.predictor.host == "localhost"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "source: {url: a, realtime: on}",
            "source.realtime = 'on': expected true or false (on/off/yes/no",
        ),
        ("source: {url: a, loop: no}", "source.loop = 'no'"),
        ("source: {url: a, max_fps: 0554}", "source.max_fps = '0554'"),
        ("source: {url: a}\npredictor: {port: 12:30}", "predictor.port = '12:30'"),
        ("source: {url: a, rtsp_transprt: tcp}", "did you mean 'rtsp_transport'"),
        ("source: {url: a}\nsinks: [{kind: video, pth: o.mp4}]", "did you mean 'path'"),
        ("source: {url: a}\npipeline: {workers: 0}", "pipeline.workers = 0"),
        ("source: {url: a}\npipeline: {policy: newest}", "pipeline.policy = 'newest'"),
        (
            "source: {url: a}\npipeline: {policy: drop_olderst}",
            "did you mean 'drop_oldest'?",
        ),
        ("sinks: []", "source is required"),
        ("- a\n- b", "must hold a mapping"),
        ("source: {url: [", "is not valid YAML at line 1, column 16"),
        ("source: {url: a}\nsource: {url: b}", "the key 'source' is given twice"),
        (
            "source: {url: a}\nsinks: [{kind: vidoe, path: o}]",
            "sinks.0.kind = 'vidoe' is not a kind of sink; did you mean 'video'?",
        ),
        ("source: {url: '${MISSING_VAR}'}", "MISSING_VAR is not set"),
    ],
)
def test_bad_configs_name_the_field_and_value(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, source_name="line.yaml", env={})
    assert expected in str(err.value)
    assert "line.yaml" in str(err.value)


def test_api_key_value_is_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("source: {url: a}\npredictor: {api_key: 12345, bogus: 1}")
    assert "12345" not in str(err.value)


def test_missing_file_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read config file .*nope\.yaml"):
        load_config(tmp_path / "nope.yaml")

"""Content fingerprints: what every cache of user data keys on."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from engine.core.fingerprint import content_fingerprint, path_stamp
from engine.data.datasets import parse_user_data
from engine.data.gen_tasks import parse_gen_upload


def test_same_name_and_row_count_with_other_rows_differ() -> None:
    a = parse_user_data(b"text,label\ngreat,pos\nawful,neg\n", "pasted.csv")
    b = parse_user_data(b"text,label\nsplendid,pos\ndreadful,neg\n", "pasted.csv")
    assert a.source == b.source and len(a.examples) == len(b.examples)  # what the old key saw
    assert a.fingerprint != b.fingerprint


def test_one_edited_label_changes_the_fingerprint() -> None:
    a = parse_user_data(b"text,label\ngreat,pos\nawful,neg\nfine,pos\n", "d.csv")
    b = parse_user_data(b"text,label\ngreat,pos\nawful,neg\nfine,neg\n", "d.csv")
    assert a.fingerprint != b.fingerprint


def test_equal_content_has_one_fingerprint_and_survives_pickling() -> None:
    data = b"text,label\ngreat,pos\nawful,neg\n"
    a, b = parse_user_data(data, "x.csv"), parse_user_data(data, "x.csv")
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 64
    assert pickle.loads(pickle.dumps(a)).fingerprint == a.fingerprint


def test_gen_tasks_are_fingerprinted_by_content() -> None:
    a = parse_gen_upload(b"input,output\nsun,soleil\nmoon,lune\n", "pasted.csv")
    b = parse_gen_upload(b"input,output\nsun,soleil\nmoon,la lune\n", "pasted.csv")
    assert a.source == b.source and a.fingerprint != b.fingerprint


def test_parts_are_delimited_and_lone_surrogates_hash() -> None:
    assert content_fingerprint(["ab", "c"]) != content_fingerprint(["a", "bc"])
    assert content_fingerprint(["\ud800"]) != content_fingerprint(["\ufffd"])


def test_path_stamp_follows_a_rewrite_of_the_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x" * 10)
    before = path_stamp(str(tmp_path))
    weights.write_bytes(b"y" * 11)
    os.utime(weights, ns=(1, 1))
    assert path_stamp(str(tmp_path)) != before
    assert path_stamp(str(tmp_path / "missing")) == ""


def test_streamlit_upload_limit_is_the_apps_own() -> None:
    import tomllib

    from engine.data.datasets import MAX_UPLOAD_BYTES

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    # Streamlit counts whole MiB: the smallest limit that lets the parser give its own message
    mib = 1024 * 1024
    assert config["server"]["maxUploadSize"] == -(-MAX_UPLOAD_BYTES // mib)

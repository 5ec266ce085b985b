"""Opus 1.5's LACE and NoLACE as reference codecs: the Ogg reader, the enhancement's measured effect."""

import shutil

import numpy as np
import pytest
from conftest import DATA

from codec.evaluation import opus_ml, procedure
from codec.evaluation.references import REFERENCES

CLIP = DATA / "sense_and_sensibility_01_austen_64kb-0870.wav"


def _skip_if_missing(name):
    if (why := REFERENCES[name].missing()) is not None:
        pytest.skip(why)


def test_ogg_reader_finds_the_header_and_one_packet_per_20_ms():
    pytest.importorskip("opuscodec")
    from opuscodec import OpusBufferedEncoder

    seconds = 3.0
    pcm = (np.sin(np.arange(int(16000 * seconds)) * 0.1) * 8000).astype(np.int16)[:, None]
    encoder = OpusBufferedEncoder(16000, 1, bitrate=16000, qext=False)
    packets, granule = opus_ml.ogg_packets(encoder.write(pcm) + encoder.flush())
    assert packets[0].startswith(b"OpusHead") and packets[1].startswith(b"OpusTags")
    # libopus codes 20 ms frames; the last one is padded, so one more may appear.
    assert len(packets) - 2 in (seconds / 0.02, seconds / 0.02 + 1)
    pre_skip = int.from_bytes(packets[0][10:12], "little")
    assert granule - pre_skip == seconds * opus_ml.OGG_RATE
    with pytest.raises(opus_ml.ReferenceError, match="not an Ogg page"):
        opus_ml.ogg_packets(b"RIFF" + bytes(40))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lace", "nolace"])
def test_the_enhancement_raises_pesq_of_the_same_opus_stream(name, tmp_path):
    _skip_if_missing(name)
    clip = procedure.prepared(CLIP)
    plain = procedure.score(clip, REFERENCES["opus-1.6"].code(clip, 13.2, tmp_path)[0])
    enhanced = procedure.score(clip, REFERENCES[name].code(clip, 13.2, tmp_path)[0])
    # Measured on this clip: 3.70 without, 3.86 with LACE and 3.85 with NoLACE (the issue reports
    # +0.13 at 13.2 kbit/s on 60 studio clips). The floor proves the network runs, with room for
    # the encoder's VBR decisions.
    assert enhanced["pesq"] - plain["pesq"] > 0.08, (plain, enhanced)
    # The decoded signal is trimmed to the input: pre-skip and the last page's granule position.
    assert abs(enhanced["lag"]) < 1 and abs(plain["lag"]) < 1


def test_a_missing_node_is_reported_with_how_to_install(monkeypatch):
    pytest.importorskip("opuscodec")
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    assert REFERENCES["nolace"].missing() == "node not found (apt-get install nodejs npm)"

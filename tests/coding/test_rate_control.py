"""Rate control on signals that are not speech: tones, DTMF and sweeps keep a sane SNR at every rate."""

import numpy as np
import pytest
from conftest import level_change, tone_snr

from codec import SpeechCodec
from codec.modes import BITRATES

SECONDS = np.arange(2 * 16000) / 16000


@pytest.fixture(scope="module")
def codec():
    return SpeechCodec.load()


# Measured (python benchmarks/tones.py, vqcodec 0.6): sines 45-47 dB at every rate (0 dB before the rate loop
# refused gains at which symbols saturate), DTMF 33-46 dB, the sweep 33-48 dB; the floors sit about 3 dB below.
SIGNALS = {
    "sine 1 kHz at 0.1": (0.1 * np.sin(2 * np.pi * 1000 * SECONDS), {b: 42.0 for b in BITRATES}),
    "sine 1 kHz at 0.5": (0.5 * np.sin(2 * np.pi * 1000 * SECONDS), {b: 42.0 for b in BITRATES}),
    "DTMF 5 (770 + 1336 Hz)": (0.25 * (np.sin(2 * np.pi * 770 * SECONDS) + np.sin(2 * np.pi * 1336 * SECONDS)),
                               dict(zip(BITRATES, (30.0, 34.0, 42.0, 42.0, 42.0, 42.0)))),
    "sweep 100 Hz - 7 kHz": (0.3 * np.sin(2 * np.pi * (100 * SECONDS + 6900 / 4 * SECONDS ** 2)),
                             dict(zip(BITRATES, (30.0, 34.0, 43.0, 44.0, 44.0, 44.0)))),
}


@pytest.mark.parametrize("name", SIGNALS)
def test_tones_keep_their_level_and_snr(codec, name):
    x, floors = SIGNALS[name]
    for bitrate in BITRATES:
        # Without the postfilter: this is about the rate loop (tests/test_postfilter.py checks tones with it).
        y, _ = codec.decode(codec.encode(x, 16000, bitrate=bitrate), postfilter=False)
        level = level_change(x, y)
        assert abs(level) < 1.0, f"{name} at {bitrate:g}: {level:.1f} dB level change"
        assert tone_snr(x, y) > floors[bitrate], f"{name} at {bitrate:g} kbit/s: {tone_snr(x, y):.1f} dB"

"""The decoder's postfilter stage: where decoded speech is enhanced before it is output.

Decoder-only: it sees what the decoder knows (the decoded samples and, per
frame, the decoded envelope, gain and bitrate) and never changes the
bitstream. Today it is the identity; ``SpeechCodec.decode(postfilter=False)``
and ``vqcodec decode --no-postfilter`` skip it, so a trained postfilter can be
compared against its absence on the same streams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FrameContext:
    """What the decoder knows about the frames of a decoded chunk (frames,) or (frames, 16)."""

    lsf: np.ndarray            # decoded (concealed) LSFs, radians
    gain: np.ndarray           # gain indices (codec.coding.spectrum)
    good: np.ndarray           # False where the frame was concealed
    bitrate: float


class Postfilter:
    """The identity: returns the decoded samples unchanged."""

    def __call__(self, samples: np.ndarray, context: FrameContext) -> np.ndarray:
        return samples

"""The rate loop's offset search, aimed against plain bisection: encode CPU time in one process.

The rate loop (codec/coding/rate_control.py) finds each packet's finest gain
offset by a search aimed by its loudest packets; setting
``rate_control.CALIBRATION_PACKETS`` above the packet count makes every packet
a calibration packet, which is plain bisection (same streams: a test in
tests/coding/test_spectrum.py). Both are timed alternately in this process on
60 s of speech (the bundled clips repeated), one thread, best of --repeats, avq.

    python benchmarks/rate_loop_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

from codec.threads import single_threaded_environment  # noqa: E402  (imports no numpy)

single_threaded_environment()

from codec import SpeechCodec  # noqa: E402
from codec.coding import rate_control  # noqa: E402

from codec_speed import speech  # noqa: E402
from common import add_output_argument, markdown_table, write_json  # noqa: E402

BITRATES = (8.0, 13.2, 24.4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    add_output_argument(parser)
    args = parser.parse_args()
    codec, wav = SpeechCodec.load(), speech(60.0)
    searches = {"aimed": rate_control.CALIBRATION_PACKETS, "bisection": 10 ** 9}
    records = []
    for bitrate in BITRATES:
        best = dict.fromkeys(searches, float("inf"))
        for _ in range(args.repeats):
            for name, packets in searches.items():
                rate_control.CALIBRATION_PACKETS = packets
                start = time.process_time()
                codec.encode(wav, 16000, bitrate=bitrate, quantizer="avq")
                best[name] = min(best[name], time.process_time() - start)
        rate_control.CALIBRATION_PACKETS = searches["aimed"]
        records.append({"bitrate": bitrate, "aimed_s": best["aimed"], "bisection_s": best["bisection"],
                        "speedup": best["bisection"] / best["aimed"]})
    print(f"avq encode of 60 s of speech, CPU seconds, best of {args.repeats}, alternating in one process")
    print(markdown_table(["kbit/s", "aimed search", "bisection", "bisection / aimed"],
                         [[f"{r['bitrate']:g}", f"{r['aimed_s']:.3f}", f"{r['bisection_s']:.3f}",
                           f"{r['speedup']:.2f}"] for r in records]))
    print(f"wrote {write_json('rate_loop_speed', {'repeats': args.repeats, 'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()

"""``vqcodec samples`` and the MUSHRA page: files, pages, and a real headless browser run; ``mushra-report``."""

import csv
import functools
import io
import json
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf
from conftest import DATA

from codec.listening import mushra
from codec.cli import main

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def samples_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    assert main(["samples", str(DATA / "arctic_a0007.wav"), "--out", str(out), "--bitrates", "8,32",
                 "--quantizers", "avq", "--references", "none", "--mushra", "-q", "--force"]) == 0
    return out


def test_samples_are_level_matched_scored_and_listed(samples_dir):
    manifest = json.loads((samples_dir / "samples.json").read_text())
    (clip,) = manifest["clips"]
    assert [(c["label"], c["kbps"]) for c in clip["conditions"]] == [("vqcodec-avq", 8.0), ("vqcodec-avq", 32.0)]
    reference, rate = sf.read(samples_dir / clip["reference"])
    assert rate == 16000
    rms = np.sqrt(np.mean(reference ** 2))
    for condition in clip["conditions"]:
        decoded, _ = sf.read(samples_dir / condition["file"])
        assert len(decoded) == len(reference)
        assert abs(np.sqrt(np.mean(decoded ** 2)) / rms - 1) < 0.01
        assert condition["pesq"] > 2.0 and condition["psnr"] > 5.0
    assert clip["conditions"][1]["pesq"] > clip["conditions"][0]["pesq"]   # 32 kbit/s beats 8
    # The anchor is the reference low-passed at 3.5 kHz.
    anchor, _ = sf.read(samples_dir / clip["anchor"])
    spectrum = np.abs(np.fft.rfft(anchor)) ** 2
    freqs = np.fft.rfftfreq(len(anchor), 1 / 16000)
    assert spectrum[freqs > 4500].sum() < 1e-4 * spectrum.sum()
    page = (samples_dir / "index.html").read_text()
    assert page.count("<audio") == 2 + len(clip["conditions"])
    assert f'PESQ {clip["conditions"][0]["pesq"]:.2f}' in page


def test_pages_are_self_contained(samples_dir):
    for name in ("index.html", "mushra.html"):
        page = (samples_dir / name).read_text()
        assert not re.search(r"<script[^>]+src=|<link[^>]+stylesheet|https?://", page), name


def test_samples_refuses_a_non_empty_folder(samples_dir, capsys):
    assert main(["samples", str(DATA / "arctic_a0007.wav"), "--out", str(samples_dir), "--references", "none"]) == 2
    assert "not empty" in capsys.readouterr().err


def _listener(name, hidden):
    trials = [{"id": f"c@{k}", "clip": "c", "kbps": k, "order": [],
               "ratings": {"hidden_reference": h, "anchor_3k5": 20, "vqcodec-avq": 50 + k}}
              for k, h in zip((8, 32, 8, 32), hidden)]
    return {"format": mushra.FORMAT, "listener": name, "trials": trials}


def test_post_screening_drops_listeners_who_miss_the_hidden_reference(tmp_path, capsys):
    files = []
    for name, hidden in (("good", [100, 100, 95, 100]), ("fair", [100, 85, 100, 100]), ("bad", [100, 70, 60, 100])):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(_listener(name, hidden)))
    results = mushra.read_results(files)
    assert [mushra.excluded(r) for r in results] == [False, True, True]   # 1 of 4 is 25 % > 15 %
    summary = mushra.summarize(results)
    assert summary["listeners"] == ["good"] and summary["excluded"] == ["fair", "bad"]
    score = next(s for s in summary["scores"] if s["condition"] == "vqcodec-avq" and s["kbps"] == 8)
    assert score["mean"] == 58 and score["ratings"] == 2 and score["ci95"] == 0
    assert main(["mushra-report", *map(str, files), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "excluded by post-screening: fair, bad" in out and "| vqcodec-avq | 58.0 ± 0.0 | 82.0 ± 0.0 |" in out
    assert (tmp_path / "report" / "mushra_scores.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    assert main(["mushra-report", str(tmp_path / "other.json")]) == 2
    assert "not a vqcodec MUSHRA result file" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_mushra_page_in_headless_chromium(samples_dir, tmp_path, capsys):
    """Serve the folder, run a whole test in a real browser, export the results, report them."""
    sync_api = pytest.importorskip("playwright.sync_api")
    handler = functools.partial(_QuietHandler, directory=str(samples_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/mushra.html"
    trials = _trials(samples_dir / "mushra.html")
    ratings = {}
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_page(accept_downloads=True)
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url)
            page.fill("#listener", "tester 1")
            page.click("#start")
            for index, trial in enumerate(trials):
                page.wait_for_function("document.getElementById('loading').textContent === ''")
                assert page.text_content("#trial-title") == f"Trial {index + 1} of {len(trials)}"
                sliders = page.locator("#conditions input[type=range]")
                keys = [sliders.nth(i).get_attribute("data-key") for i in range(sliders.count())]
                assert sorted(keys) == sorted(trial["stimuli"])
                # Next before rating is refused with a message.
                page.click("#next")
                assert "Rate every sample" in page.text_content("#message")
                assert page.text_content("#trial-title") == f"Trial {index + 1} of {len(trials)}"
                page.click("#play-reference")
                assert page.evaluate("audio.state") == "running"
                for i, key in enumerate(keys):
                    page.locator("button.play").nth(i).click()   # instant switch: only this one is audible
                    assert page.evaluate(f"playback.current === {json.dumps(key)}")
                    audible = page.evaluate("Object.entries(playback.gains).filter(([k, g]) => g.gain.value > 0)"
                                            ".map(([k]) => k)")
                    assert audible == [key]
                    value = 100 if key == "hidden_reference" else 10 + 7 * i
                    sliders.nth(i).fill(str(value))
                    ratings[(trial["id"], key)] = value
                page.click("#next")
            assert "Post-screening passed" in page.text_content("#screening")
            with page.expect_download() as download:
                page.click("#download-json")
            result_file = tmp_path / "mushra_tester_1.json"
            download.value.save_as(result_file)
            with page.expect_download() as download:
                page.click("#download-csv")
            table = download.value.path().read_text()
            assert errors == []
            browser.close()
    finally:
        server.shutdown()
    result = json.loads(result_file.read_text())
    assert result["listener"] == "tester 1" and len(result["trials"]) == len(trials)
    got = {(t["id"], key): value for t in result["trials"] for key, value in t["ratings"].items()}
    assert got == ratings
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == len(ratings) and {(r["trial"], r["condition"]): int(r["rating"]) for r in rows} == ratings
    assert main(["mushra-report", str(result_file), "--out", str(tmp_path)]) == 0
    assert "| hidden_reference | 100.0 | 100.0 |" in capsys.readouterr().out


def _trials(page):
    """The trials embedded in a MUSHRA page."""
    return json.loads(page.read_text().split('id="trials">')[1].split("</script>")[0])["trials"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):   # keep the test output clean
        pass


def test_committed_samples_folder_is_complete():
    """samples/ in the repository: every file the pages point at exists and is decodable audio."""
    from pathlib import Path

    root = Path(__file__).parents[2] / "samples"
    manifest = json.loads((root / "samples.json").read_text())
    trials = _trials(root / "mushra.html")
    files = {c["file"] for clip in manifest["clips"] for c in clip["conditions"]}
    files |= {clip[key] for clip in manifest["clips"] for key in ("reference", "anchor")}
    assert files == {f for t in trials for f in [t["reference"], *t["stimuli"].values()]}
    for name in files:
        assert name in (root / "index.html").read_text()
        assert sf.info(root / name).samplerate == 16000
    assert {c["kbps"] for clip in manifest["clips"] for c in clip["conditions"]} == {8, 9.6, 13.2, 16.4, 24.4, 32}


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_mushra_page_opened_from_a_file_says_it_needs_a_server(samples_dir):
    """Browsers do not let a file:// page fetch its audio; the page says so instead of 'loading' forever."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto((samples_dir / "mushra.html").as_uri())
        assert "needs a local web server" in page.text_content("#loading")
        assert "python -m http.server" in page.text_content("#loading")
        browser.close()

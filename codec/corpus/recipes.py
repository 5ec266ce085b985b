"""Where speech comes from: the Debian packages behind ``vqcodec prepare demo | wide | dev``.

Every voice is named ``PACKAGE-FOLDER`` (one folder of these packages is one
volunteer's recording, so a voice is also a recording condition). The
development set (``DEV_VOICES``) holds out whole packages and whole voices:

- ``festvox-ru`` (all of it: one male studio voice reading Russian sentences) and
  ``kajongg`` (all of it: four English and four German voices, labelled male and
  female by the package) are never trained on: packages whose recording
  conditions the training corpus does not contain at all;
- four klettres voices (English and French male, Dutch and Ukrainian female) are
  held back from the package whose other voices train;
- the LibriVox clips of ``tests/data`` (a male English reader; the single
  4 s ARCTIC sentence is too short for a development clip).

Sex is the package's label where it has one (kajongg), else the median pitch
measured on the voice (below 165 Hz: male; festvox-ru 139, klettres en 137,
fr 125, nl 230, uk 244, LibriVox 100 Hz).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from .prepare import PrepareError, Source

DEMO_PACKAGES = ("tuxpaint-stamps-default", "fillets-ng-data-cs")
WIDE_PACKAGES = ("klettres-data", "ktuberling-data", "qabcs-data", "gcin-voice")
DEV_PACKAGES = ("festvox-ru",)        # installed; kajongg is only downloaded and unpacked (its dependencies are Qt)
MIN_RATE = 16000                      # narrowband files (ktuberling's 8 kHz ones) cannot teach a wideband codec


@dataclass(frozen=True)
class DevVoice:
    sex: str
    language: str


DEV_VOICES = {
    "festvox-ru": DevVoice("male", "ru"),
    **{f"kajongg-{lang}-{who}": DevVoice(who.rstrip("12"), lang)
       for lang in ("en", "de") for who in ("male1", "male2", "female1", "female2")},
    "klettres-en": DevVoice("male", "en"),
    "klettres-fr": DevVoice("male", "fr"),
    "klettres-nl": DevVoice("female", "nl"),
    "klettres-uk": DevVoice("female", "uk"),
    "librivox-austen": DevVoice("male", "en"),
}


# ------------------------------------------------------------------ packages
def install_packages(packages: tuple[str, ...]) -> None:
    """apt-get install the packages that are missing (root only; otherwise a one-line hint)."""
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise PrepareError("this corpus needs Debian's apt-get (packages: " + ", ".join(missing) + ")")
    if os.geteuid() != 0:
        raise PrepareError("installing the corpus needs root: sudo apt-get install " + " ".join(missing))
    subprocess.run(["apt-get", "update", "-q"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def unpacked_package(package: str, cache: Path) -> Path:
    """``apt-get download`` a package and unpack it under ``cache`` without installing it; returns its root."""
    root = cache / package
    if (root / ".complete").exists():
        return root
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)
        debs = list(Path(tmp).glob("*.deb"))
        if done.returncode != 0 or not debs:
            raise PrepareError(f"apt-get download {package} failed: {done.stderr.strip().splitlines()[-1:]}")
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    (root / ".complete").touch()
    return root


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file())


def _wideband(path: Path) -> bool:
    try:
        return sf.info(str(path)).samplerate >= MIN_RATE
    except RuntimeError:
        return True   # unreadable: let conversion report it in skipped.txt


# ------------------------------------------------------------------ voices
def _package_files(package: str) -> list[Path]:
    listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True).stdout
    return sorted(Path(line) for line in listing.splitlines() if line.endswith(".ogg"))


def demo_sources() -> list[Source]:
    """The demo corpus (docs/training.md).

    - tuxpaint-stamps-default: spoken stamp descriptions ``*_desc_LANG.ogg``;
      the speaker proxy is the language. Catalan ones are low-passed: left out.
    - fillets-ng-data-cs: Czech dialogue ``sound/**/cs/*.ogg``; ``level-CHAR-line``
      names the character (m = small fish, v = big fish: the two main actors;
      other characters are grouped); names containing ``-x-`` are effects: left out.
    """
    sources = []
    for path in _package_files("tuxpaint-stamps-default"):
        if "_desc_" not in path.stem:
            continue
        lang = path.stem.rsplit("_desc_", 1)[1] or "unknown"
        if lang != "ca":
            rel = path.relative_to("/usr/share/tuxpaint/stamps")
            sources.append(Source(path, f"tuxpaint/{rel.with_suffix('')}", f"tuxpaint-{lang}", lang))
    for path in _package_files("fillets-ng-data-cs"):
        if path.parent.name != "cs" or "-x-" in path.name:
            continue
        parts = path.stem.split("-")
        character = parts[1] if len(parts) > 2 and parts[1] in ("m", "v") else "other"
        rel = path.relative_to("/usr/share/games/fillets-ng/sound")
        sources.append(Source(path, f"fillets/{rel.with_suffix('')}", f"fillets-{character}", "cs"))
    return sources


def _by_folder(package: str, root: Path, pattern: str) -> list[Source]:
    """One source per file under ``root`` matching ``pattern``; the first folder is the voice (a language)."""
    sources = []
    for path in _files(root, pattern):
        rel = path.relative_to(root)
        lang = rel.parts[0]
        if _wideband(path):
            sources.append(Source(path, f"{package}/{rel.with_suffix('')}", f"{package}-{lang}", lang.split("_")[0]))
    return sources


def all_voices(kajongg_cache: Path | None = None) -> list[Source]:
    """Every file of the wide corpus and of the development packages, voices named as in ``DEV_VOICES``.

    klettres: words and syllables per language folder. ktuberling: words per
    language folder (files under 16 kHz dropped; the four Serbian folders hold the
    same files, which ``prepare_corpus`` drops as duplicates). qabcs: letters and
    words per language (the shared ``all/noises`` are not speech). gcin-voice:
    Mandarin syllables, one voice. festvox-ru: the msu_ru_nsh sentences.
    kajongg (with a cache folder): its eight voices.
    """
    sources = demo_sources()
    sources += _by_folder("klettres", Path("/usr/share/klettres"), "*/*/*.ogg")
    sources += _by_folder("ktuberling", Path("/usr/share/ktuberling/sounds"), "*/*.[ow][ga][gv]")
    sources += _by_folder("qabcs", Path("/usr/share/qabcs/abcs"), "*/sounds/**/*.ogg")
    sources = [s for s in sources if s.speaker != "qabcs-all"]
    gcin = Path("/usr/share/gcin-voice/ogg")
    sources += [Source(p, f"gcin/{p.relative_to(gcin).with_suffix('')}", "gcin-voice", "zh")
                for p in _files(gcin, "*/*.ogg")]
    festvox = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav")
    sources += [Source(p, f"festvox-ru/{p.stem}", "festvox-ru", "ru") for p in _files(festvox, "*.wav")]
    if kajongg_cache is not None:
        voices = unpacked_package("kajongg", kajongg_cache) / "usr/share/kajongg/voices"
        for path in _files(voices, "**/*.ogg"):
            rel = path.relative_to(voices)
            lang, who = (rel.parts[0], rel.parts[1]) if len(rel.parts) == 3 else ("en", rel.parts[0])
            sources.append(Source(path, f"kajongg/{lang}/{who}/{path.stem}", f"kajongg-{lang}-{who}", lang))
    return sources


def wide_sources() -> list[Source]:
    """The wide training corpus: every voice of the demo and wide packages except ``DEV_VOICES``."""
    install_packages(DEMO_PACKAGES + WIDE_PACKAGES)
    return [s for s in all_voices() if s.speaker not in DEV_VOICES]


def dev_sources(cache: Path, librivox: Path | None = None) -> list[Source]:
    """The development voices: those of the Debian packages (kajongg unpacked under ``cache``), and the
    LibriVox clips of the folder ``librivox`` (the repository's ``tests/data``) when given."""
    install_packages(WIDE_PACKAGES + DEV_PACKAGES)
    sources = [s for s in all_voices(cache) if s.speaker in DEV_VOICES]
    if librivox is not None:
        sources += [Source(p, f"librivox/{p.stem}", "librivox-austen", "en")
                    for p in _files(librivox, "sense_and_sensibility_*.wav")]
    return sources

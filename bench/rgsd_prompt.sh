#!/bin/sh
# The teacher-prompt experiment (issue 14; docs/rgsd.md): a tiny model of the
# rubric world SFT'd for a conditioning gap (as bench/rgsd_clip.sh), then RGSD
# with each teacher prompt -- rgsd's default or the paper's Figure 10 wording,
# the rubric in the user or the system message -- from the same start, same
# seeds. Reported per run: the teacher's own score (the base shown the rubric
# that way), the judge-free held-out gap measured with that run's prompt
# (rgsd gap --samples 4), and the rule-judge score and mean response length of
# the student without the rubric (rgsd eval --samples 2). Not a test.
#   sh bench/rgsd_prompt.sh [STEPS] [SEEDS]
set -eu
R=${RGSD_BIN:-build/rgsd}
STEPS=${1:-60}
SEEDS=${2:-"1 2 3"}
T=${RGSD_PROMPT_DIR:-$(mktemp -d /tmp/rgsd-prompt-XXXXXX)}
export OMP_NUM_THREADS=1
. bench/lib/world_base.sh
world_base "$T"
HELD=$T/world/heldout.jsonl
gap() { # model, prompt flags...
    m=$1; shift
    $R gap --model "$m" --data "$HELD" --max-new 48 --seed 7 --samples 4 "$@" 2>/dev/null | tail -1 \
        | sed 's/.*"gap": \([-0-9.e]*\), "gap_se": \([-0-9.e]*\).*/\1 +- \2/'
}
judged() { # model, out, eval flags... -> "score S +- SE, length L"
    m=$1; out=$2; shift 2
    $R eval --model "$m" --data "$HELD" --judge rule --max-new 48 --seed 7 --samples 2 --out "$out" "$@" >/dev/null 2>&1
    /usr/bin/python3 -c "
import json; r = json.load(open('$out/report.json'))
print('score %.3f +- %.3f, length %.1f' % (r['healthbench']['mean'], r['healthbench']['std_error'], r['response_tokens']['mean']))"
}
echo "base without the rubric: $(judged "$T/base" "$T/eval-base")"
for tmpl in default paper; do
    for where in user system; do
        P="--teacher-template $tmpl --rubric-in $where"
        echo "$tmpl/$where: teacher (base + rubric): $(judged "$T/base" "$T/eval-teacher-$tmpl-$where" --with-rubric $P); base gap $(gap "$T/base" $P)"
        for seed in $SEEDS; do
            run=$T/run-$tmpl-$where-$seed
            $R train --model "$T/base" --data "$T/world/train.jsonl" --out "$run" --batch 8 --steps "$STEPS" \
                --lr 1e-3 --max-new 48 --seed "$seed" $P --no-progress 2>"$run.log"
            echo "$tmpl/$where seed $seed: gap $(gap "$run" $P); student $(judged "$run" "$run-eval")"
        done
    done
done

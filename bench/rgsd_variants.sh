#!/bin/sh
# Issue 14's RGSD variants on the rubric world, from the same SFT'd start with
# the same seeds and budget as bench/rgsd_clip.sh (60 steps of 8 prompts, full
# fine-tuning, lr 1e-3, beta 0.5, --max-new 48): teacher frozen / ema / live,
# top-16 supports (teacher, student, union; tail bucket or renormalised) vs the
# full vocabulary, the sequence mean and the importance weight. Reported per
# run: the judge-free held-out gap (rgsd gap), the rule-judge score without the
# rubric and the mean held-out response length (rgsd eval). Not a test.
#   sh bench/rgsd_variants.sh [STEPS] [SEEDS] [NAMES]
set -eu
R=${RGSD_BIN:-build/rgsd}
STEPS=${1:-60}
SEEDS=${2:-"1 2 3"}
NAMES=${3:-"frozen ema ema0.9 live top16_teacher top16_student top16_union top16_union_renorm top16_teacher_renorm seqmean isw"}
T=${RGSD_VARIANTS_DIR:-$(mktemp -d /tmp/rgsd-variants-XXXXXX)}
export OMP_NUM_THREADS=1
. bench/lib/world_base.sh
world_base "$T"
flags() {
    case $1 in
        frozen) echo "" ;;
        ema) echo "--teacher ema" ;;
        ema0.9) echo "--teacher ema --teacher-ema-decay 0.9" ;;
        live) echo "--teacher live" ;;
        top16_teacher) echo "--topk 16" ;;
        top16_student) echo "--topk 16 --topk-from student" ;;
        top16_union) echo "--topk 16 --topk-from union" ;;
        top16_union_renorm) echo "--topk 16 --topk-from union --topk-tail renorm" ;;
        top16_teacher_renorm) echo "--topk 16 --topk-tail renorm" ;;
        seqmean) echo "--loss-mean sequence" ;;
        isw) echo "--is-weight token" ;;
        *) echo "unknown variant $1" >&2; exit 2 ;;
    esac
}
gap() { $R gap --model "$1" --data "$T/world/heldout.jsonl" --max-new 48 --seed 7 2>/dev/null | tail -1 | sed 's/.*"gap": \([-0-9.e]*\).*/\1/'; }
score() { # "score S len L": the rule-judge score and mean response tokens of the held-out report
    $R eval --model "$1" --data "$T/world/heldout.jsonl" --judge rule --max-new 48 --seed 7 --out "$1-eval" >/dev/null 2>&1
    /usr/bin/python3 -c "
import json, sys
r = json.load(open('$1-eval/report.json'))
print('score %.3f +- %.3f len %.1f' % (r['healthbench']['mean'], r['healthbench']['std_error'], r['response_tokens']['mean']))" \
        2>/dev/null || echo "score ? len ?"
}
echo "base: gap $(gap "$T/base") $(score "$T/base")"
for name in $NAMES; do
    for seed in $SEEDS; do
        out="$T/run-$name-$seed"
        [ -f "$out/metrics.jsonl" ] || $R train --model "$T/base" --data "$T/world/train.jsonl" --out "$out" --batch 8 \
            --steps "$STEPS" --lr 1e-3 --max-new 48 --seed "$seed" $(flags "$name") --no-progress 2>"$T/log-$name-$seed"
        echo "$name seed $seed: gap $(gap "$out") $(score "$out")"
    done
done

#!/bin/sh
# The --clip-mode experiment behind the default (docs/rgsd.md): a tiny model of
# the rubric world SFT'd for a conditioning gap, then RGSD with each clip mode
# (none, token, entry; tau 0.05) from the same start, same seeds; reported: the
# judge-free gap on held-out prompts (rgsd gap) and the rule-judge score of the
# student without the rubric (rgsd eval), before and after. Not a test.
#   sh bench/rgsd_clip.sh [STEPS] [SEEDS]
set -eu
R=${RGSD_BIN:-build/rgsd}
STEPS=${1:-60}
SEEDS=${2:-"1 2 3"}
T=${RGSD_CLIP_DIR:-$(mktemp -d /tmp/rgsd-clip-XXXXXX)}
export OMP_NUM_THREADS=1
. bench/lib/world_base.sh
world_base "$T"
gap() { $R gap --model "$1" --data "$T/world/heldout.jsonl" --max-new 48 --seed 7 2>/dev/null | tail -1 | sed 's/.*"gap": \([-0-9.e]*\).*/\1/'; }
score() { $R eval --model "$1" --data "$T/world/heldout.jsonl" --judge rule --max-new 48 --seed 7 2>/dev/null \
    | grep -i -m1 "score" ; }
echo "base: gap $(gap "$T/base")"; echo "base: $(score "$T/base")"
for mode in none token entry; do
    for seed in $SEEDS; do
        $R train --model "$T/base" --data "$T/world/train.jsonl" --out "$T/run-$mode-$seed" --batch 8 --steps "$STEPS" \
            --lr 1e-3 --max-new 48 --clip-mode $mode --clip 0.05 --seed "$seed" --no-progress 2>"$T/log-$mode-$seed"
        clipped=$(/usr/bin/python3 -c "
import json,sys
v=[json.loads(l)['clip_fraction'] for l in open('$T/run-$mode-$seed/metrics.jsonl')]
print('%.4f' % (sum(v)/len(v)))")
        echo "$mode seed $seed: gap $(gap "$T/run-$mode-$seed"), mean clipped fraction $clipped; $(score "$T/run-$mode-$seed")"
    done
done

#!/bin/sh
# make demo: the main job on the built-in default.
# The rubric world (issue 7) is not built yet; until it lands this runs the
# parts of the pipeline that exist, on real data from ../shared when present.
set -e
RGSD=build/rgsd
echo "== rgsd demo =="
$RGSD --help
DATA=${RGSD_SHARED:-../shared}/data
if [ -d "$DATA" ] && $RGSD data --help >/dev/null 2>&1; then
    echo; echo "== rgsd data check on the shared rubric data =="
    $RGSD data check "$DATA"/healthbench/*.jsonl "$DATA"/rubrichub/*.jsonl "$DATA"/rar/*.jsonl
fi
echo
echo "Still to come: the rubric world, RGSD vs GRPO training and evaluation (issues 3-7)."

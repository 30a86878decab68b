#!/usr/bin/env bash
# A site's conversion on a Slurm cluster: plan once, convert N parts as a job array, merge
# when every part has succeeded. Every node must see the same paths (a shared filesystem):
# the export, --out and --state.
#
#   deploy/slurm/convert-site.sh            # after editing the settings below (or exporting them)
#   medcil convert status --out "$OUT" --state "$STATE"     # while it runs
#
# A part that fails or is killed is rerun alone (`sbatch --array=I deploy/slurm/convert-part.sbatch`);
# it reuses what it had finished. Then submit deploy/slurm/merge.sbatch again.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KIND="${KIND:-echo}"                                   # echo or mr
export CONFIG="${CONFIG:-$PWD/converters/phantom-echo-a.yaml}" # the site's converter
export INPUT="${INPUT:-/shared/exports/site-a}"                # the export (read only)
export OUT="${OUT:-/shared/medcil/shards}"                     # shareable outputs
export STATE="${STATE:-/shared/medcil/state}"                  # private: salt, plan, records (never share it)
PARTS="${PARTS:-16}"
mkdir -p logs

# 1. The plan: headers and label sources only (minutes for millions of frames), on the login
#    node or as a short job; it fixes splits and identifiers for every part.
medcil convert "$KIND" --config "$CONFIG" --input "$INPUT" --out "$OUT" --state "$STATE" --plan-only --progress lines

# 2. The parts, one array task each; 3. the merge, once all parts succeeded.
array=$(sbatch --parsable --array="1-$PARTS" --export=ALL deploy/slurm/convert-part.sbatch)
merge=$(sbatch --parsable --dependency="afterok:$array" --export=ALL deploy/slurm/merge.sbatch)
echo "parts: job $array (array 1-$PARTS); merge: job $merge (runs when every part succeeded)"

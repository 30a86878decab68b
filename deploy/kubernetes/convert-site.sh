#!/usr/bin/env bash
# Applies the three Jobs of deploy/kubernetes/convert-site.yaml in order: the plan, the parts
# (an Indexed Job), and the merge once every part has completed.
#   kubectl exec ... medcil convert status --out /shared/medcil/shards --state /shared/medcil/state   # progress
set -euo pipefail
manifest="$(dirname "$0")/convert-site.yaml"
kubectl apply -f "$manifest" -l step=plan
kubectl wait --for=condition=complete job/medcil-plan --timeout=2h
kubectl apply -f "$manifest" -l step=parts
kubectl wait --for=condition=complete job/medcil-convert --timeout=48h
kubectl apply -f "$manifest" -l step=merge
kubectl wait --for=condition=complete job/medcil-merge --timeout=2h
kubectl logs job/medcil-merge

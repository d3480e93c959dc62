#!/bin/sh
# Deliver desired/ to the reconciler from any CI system: validate on every branch, and on the main
# branch sync it to the set's S3 prefix. The new generation.json starts a run of the Lambda; a
# commit that changed nothing in desired/ writes nothing and starts nothing.
#
# Needs `ecs-reconciler` on PATH (cargo install --git <where your team keeps it> --bin
# ecs-reconciler ecs-reconciler; there are no prebuilt release binaries) and, for the sync, AWS
# credentials from the standard AWS environment (AWS_REGION plus keys, a profile, or your CI's
# OIDC role). The sync role needs only this (fill in BUCKET and PREFIX):
#
#   {"Version": "2012-10-17", "Statement": [
#     {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
#      "Resource": ["arn:aws:s3:::BUCKET/PREFIX/generation.json", "arn:aws:s3:::BUCKET/PREFIX/manifests/*"]},
#     {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::BUCKET"}]}
#
# Settings (environment):
#   BUCKET          the manifest bucket (template.yaml's ManifestBucket)         required
#   PREFIX          the set's prefix, one of the function's SETS, e.g. prod      required
#   DESIRED         the manifest folder                                          desired
#   COMMIT          the commit recorded in generation.json                       git rev-parse HEAD
#   BRANCH          the branch being built                                       git rev-parse --abbrev-ref HEAD
#                   CI systems often build a detached HEAD, which is no branch: pass it, e.g.
#                   BRANCH=$CI_COMMIT_BRANCH (GitLab), $BRANCH_NAME (Jenkins), $BUILDKITE_BRANCH,
#                   $CIRCLE_BRANCH
#   SYNC_BRANCH     the branch whose commits are synced                          main
#   ECS_RECONCILER  the CLI                                                      ecs-reconciler
#
# Run the main branch's jobs one at a time, in commit order (GitLab `resource_group`, Jenkins
# `disableConcurrentBuilds`, ...): the last sync wins, and it should be the newest commit's.
set -eu

: "${BUCKET:?set BUCKET to the manifest bucket}"
: "${PREFIX:?set PREFIX to the set's prefix, e.g. prod}"
DESIRED=${DESIRED:-desired}
SYNC_BRANCH=${SYNC_BRANCH:-main}
ECS_RECONCILER=${ECS_RECONCILER:-ecs-reconciler}
if [ -z "${COMMIT:-}" ]; then
    COMMIT=$(git rev-parse HEAD) || { echo "sync.sh: not in a git work tree: set COMMIT" >&2; exit 1; }
fi
if [ -z "${BRANCH:-}" ]; then
    BRANCH=$(git rev-parse --abbrev-ref HEAD) || { echo "sync.sh: not in a git work tree: set BRANCH" >&2; exit 1; }
fi

"$ECS_RECONCILER" validate "$DESIRED"

if [ "$BRANCH" != "$SYNC_BRANCH" ]; then
    echo "sync.sh: $DESIRED is valid; branch '$BRANCH' is not '$SYNC_BRANCH', so nothing was synced"
    exit 0
fi
"$ECS_RECONCILER" sync "$DESIRED" "s3://$BUCKET/$PREFIX" --commit "$COMMIT"

#!/bin/sh
# Runs migration-gate on this example project the way it runs on a pull request.
#
# The gate compares a branch with its base, so this builds a throwaway git repository from
# this folder: `main` holds migrations/ V001..V008 (what production already ran), the branch
# `feature/user-profiles` adds the files of branch/ (some of them risky, one failing, one
# misnamed). Then it runs `migration-gate check` there, with the embedded ephemeral
# PostgreSQL unless --no-verify is given. Extra arguments go to `migration-gate check`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if command -v migration-gate >/dev/null 2>&1; then
    gate=migration-gate
elif [ -x "$here/../.venv/bin/migration-gate" ]; then
    gate="$here/../.venv/bin/migration-gate"
else
    echo "demo.sh: migration-gate is not installed (pip install -e '.[postgres]')" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/migration-gate-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

git_quiet() {
    git -C "$work/shop" -c user.name=demo -c user.email=demo@example.com "$@" >/dev/null
}

mkdir "$work/shop"
cp "$here/refinery.toml" "$here/.migration-gate.yaml" "$work/shop/"
cp -R "$here/migrations" "$work/shop/migrations"
git_quiet init -q -b main
git_quiet add -A
git_quiet commit -q -m "V001..V008: what production already ran"
git_quiet checkout -q -b feature/user-profiles
cp "$here/branch/"* "$work/shop/migrations/"
git_quiet add -A
git_quiet commit -q -m "Add user profiles"

echo "\$ migration-gate check $*    # in a repository whose branch adds:"
(cd "$work/shop" && git diff --name-only main... | sed 's/^/    /')
echo
status=0
(cd "$work/shop" && "$gate" check "$@") || status=$?
exit "$status"

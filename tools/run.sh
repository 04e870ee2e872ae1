#!/bin/sh
# The README's two commands land here: `npm run demo` → `tools/run.sh demo`,
# `npm test` → `tools/run.sh test`. Each does its own set-up on a machine that
# has only Node 20 + npm: it installs pnpm 10 (the newest pnpm that runs on
# Node 20) and node_modules, then runs the job through turbo.
set -eu
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1

want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want" ]; then
  echo "setup: installing pnpm@$want"
  if ! npm install -g "pnpm@$want" --no-fund --no-audit --loglevel=error; then
    # No write access to npm's global prefix: install under the repo instead.
    npm install --prefix .tools "pnpm@$want" --no-fund --no-audit --loglevel=error
    PATH="$PWD/.tools/node_modules/.bin:$PATH"
  fi
fi
pnpm install --frozen-lockfile --reporter=silent

case "${1:-}" in
  demo)
    # The reference program, then a real training run (flags go to apps/mnist,
    # e.g. `npm run demo -- --backend webgpu --epochs 2`).
    shift
    pnpm turbo run build --filter=@refs/notebook... --filter=@refs/mnist... --output-logs=errors-only
    node apps/notebook/dist/main.js
    echo
    node apps/mnist/dist/main.js "$@"
    ;;
  bench)
    shift
    pnpm turbo run build --filter=@refs/bench... --output-logs=errors-only
    node apps/bench/dist/main.js "$@"
    ;;
  test)
    # Each package's vitest writes .vitest-report.json; .ci/run sums them.
    find packages apps tools -name .vitest-report.json -not -path '*/node_modules/*' -delete 2>/dev/null || true
    pnpm turbo run typecheck test --continue --output-logs=new-only
    ;;
  *)
    echo "usage: tools/run.sh demo|test" >&2
    exit 2
    ;;
esac

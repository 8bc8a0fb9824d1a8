#!/usr/bin/env bash
# MedDistill's one entry point: set-up, build, tests, benchmarks, publishing. ./build.sh --help for usage.
# Works on a fresh Debian 12: as root it installs what is missing with apt-get; otherwise it says what to install.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Containers and CI jobs sometimes run without a HOME; dotnet and NuGet need one for their caches.
if [ -z "${HOME:-}" ] || [ ! -w "${HOME}" ]; then export HOME="$root/.dotnet-home"; mkdir -p "$HOME"; fi

config=Release
sln=MedDistill.sln
# Touched after every successful build; ./meddistill rebuilds when a source is newer than this.
build_stamp="src/MedDistill.Cli/bin/$config/net10.0/.meddistill-built"
bench_python="${BENCH_PYTHON:-/usr/bin/python3}"

usage() {
  cat <<'EOF'
Usage: ./build.sh [COMMAND] [OPTIONS]

Commands:
  (none) [--paper all|affinity-kd] [--profile phantom|smoke|paper|nightly]
         [--target all|table1|table2|table3|table4|sensitivity|prepare|plan]
         [--dry-run] [--jobs N] [--seeds N] [--seed-rows enet|students|all|'ROW|ROW']
                    The main job: set up, build everything (Release), ./meddistill info, then for every paper
                    (./meddistill papers; --paper picks one) its tables without runs (Affinity-KD's Table 1) and its
                    reproduction graph build/pipeline.proj (fetch or generate the data, preprocess, train the
                    teachers, train and distil the students, evaluate, write paper-tables/<paper>/<profile>/).
                    Profile: phantom when no real data is present (data/multisite-prostate), else paper.
                    Finished runs are skipped; --dry-run lists what would run and why; --jobs parallel runs
                    (default: the number of cores). --seeds N repeats chosen cells with N run seeds (default 1)
                    and writes <table>.seeds.csv (mean +- std across seeds); --seed-rows chooses them (default
                    enet: ENet w/o and w/ KD; see docs/pipeline.md).
         [--scheduler local|slurm] [--partition P] [--gres gpu:1|none] [--time HH:MM:SS] [--account A]
                    --scheduler slurm: fetch, prepare and plan here, then every unfinished run becomes one sbatch job
                    (students after their teacher, afterok; one GPU each unless --gres none; --requeue), and a last
                    job writes the tables when the runs are done. The checkout, the runs folder ($MEDDISTILL_RUNS) and
                    the data ($MEDDISTILL_DATA) must be on a file system the nodes share (README, "Running on a Slurm
                    cluster"). With --dry-run: the sbatch commands. Follow with ./meddistill pipeline status --plan-dir
                    build/obj/<paper>/<profile>.
  build             Set up and build everything (Release).
  test [ARGS...]    Set up, build, run every test of MedDistill.sln; the last line is
                    "N passed, M failed, K skipped". Extra ARGS go to dotnet test (e.g. --filter Name~Core).
  bench engine [--steps N] [--warmup N] [--threads T] [--device cpu|cuda] [--rounds 5]
                    Time one training step in MedDistill and in PyTorch, in interleaved rounds (PyTorch, MedDistill,
                    PyTorch, ...); the last line is "engine-step-ms=<median> pytorch-step-ms=<median>
                    ratio=<median of the rounds' ours/pytorch> ratio-min=.. ratio-max=.. rounds=N".
  bench distill [--steps N] [--warmup N] [--threads T] [--device cpu|cuda] [--breakdown] [--rounds 5]
                    Time one Affinity-KD step (ENet <- DeepLabV3+, LM+KMM+AAM, batch 8 of 1x128x128) in
                    MedDistill and in PyTorch (bench/distill_step.py), compare their first losses; --breakdown
                    also times the teacher's forward, the student's, each loss term and backward+step. The last
                    line is "distill-step-ms=<median> pytorch-step-ms=<median> ratio=<median> ratio-min=..
                    ratio-max=.. rounds=N" (interleaved rounds, as bench engine).
  bench latency [--batch 1,16] [--iters N] [--warmup N] [--threads T] [--device cpu|cuda] [--models a,b] [--size S]
                    Inference ms/image of each network at 1x384x384 (1 channel, 2 classes), eval + no_grad,
                    median of N passes: one "latency model=... batch=..." line each, then a summary table.
  bench train [--models a,b] [--teachers a,b] [--student S] [--sizes 96,384] [--batch 8] [--large-batch 2]
              [--steps 2] [--warmup 1] [--threads T] [--device cpu|cuda]
                    Training images/s (forward, Dice+focal, backward, Adam; random data) of each network and of
                    ENet distilled (Affinity-KD, all terms) from each teacher, at each size: one "train config=..."
                    line each, then a table. The defaults (UNet++/DeepLabV3+ at batch 2 from side 256, 2 timed
                    steps) finish in about 10 minutes on 2 CPU cores; ask for more with the options.
  publish [--rid RID]
                    Self-contained publish of the CLI and the benchmarks into publish/RID (default linux-x64)
                    and publish/meddistill-RID.tar.gz, for machines without a .NET SDK. The native shim is
                    not included: build it on the target with
                      src/MedDistill.Torch/native/build-shim.sh "$PWD/publish/RID"   (or publish/native/build-shim.sh)
  help, -h, --help  This text.

Set-up (every command): needs the .NET 10 SDK, g++, make and libtorch ($LIBTORCH, else Debian's libtorch-dev).
As root, missing packages are installed with apt-get (libtorch-dev g++ make, libopenblas0-pthread for speed;
bench engine/distill also python3-torch).
Environment: LIBTORCH=/path/to/libtorch (or a PyTorch wheel's torch/ folder) to build against another libtorch,
e.g. a CUDA one; BENCH_PYTHON (default /usr/bin/python3) for the PyTorch half of the benchmark.
EOF
}

say() { printf '==> %s\n' "$*"; }
die() { local code="$1"; shift; printf 'build.sh: %s\n' "$*" >&2; exit "$code"; }

# ---- set-up -------------------------------------------------------------------------------------

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1 && [ -x "$HOME/.dotnet/dotnet" ]; then
    export DOTNET_ROOT="$HOME/.dotnet" PATH="$HOME/.dotnet:$PATH"
  fi
  if ! command -v dotnet >/dev/null 2>&1 || ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
    die 2 "the .NET 10 SDK is required: install it (https://dotnet.microsoft.com/download/dotnet/10.0, or: curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --channel 10.0 && export PATH=\$HOME/.dotnet:\$PATH) and rerun"
  fi
}

have_libtorch() {
  # A set LIBTORCH is taken as the user's choice; build-shim.sh checks it and explains what is wrong with it.
  [ -n "${LIBTORCH:-}" ] && return 0
  [ -f /usr/include/torch/csrc/api/include/torch/torch.h ] && compgen -G '/usr/lib/*/libtorch.so' >/dev/null
}

have_python_torch() { "$bench_python" -c 'import torch' >/dev/null 2>&1; }

# Installs (as root) or names (otherwise) the Debian packages missing for the native build, plus the
# extra packages given as arguments (already known to be missing).
ensure_native_deps() {
  local missing=() wanted=()
  have_libtorch || missing+=(libtorch-dev)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v make >/dev/null 2>&1 || missing+=(make)
  # The report's charts: SkiaSharp's native library loads libfontconfig, and the charts name DejaVu Sans.
  compgen -G '/usr/lib/*/libfontconfig.so.1' >/dev/null || missing+=(libfontconfig1)
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  missing+=("$@")
  [ "${#missing[@]}" -eq 0 ] && return 0

  # Ask for the whole set so the command stays right whatever else is missing; apt skips what is there.
  [ -n "${LIBTORCH:-}" ] || wanted+=(libtorch-dev)
  wanted+=(g++ make libfontconfig1 fonts-dejavu-core "$@")
  if [ "$(id -u)" -ne 0 ]; then
    die 2 "missing ${missing[*]}: run 'sudo apt-get install -y ${wanted[*]}'$([ -n "${LIBTORCH:-}" ] || echo " (or set LIBTORCH=/path/to/libtorch)"), then rerun"
  fi
  command -v apt-get >/dev/null 2>&1 || die 2 "missing ${missing[*]} and there is no apt-get: install ${wanted[*]} (or set LIBTORCH=/path/to/libtorch)"

  say "installing ${missing[*]} with apt-get"
  local log; log="$(mktemp)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 </dev/null; then
    tail -n 30 "$log" >&2; rm -f "$log"
    die 2 "apt-get install ${missing[*]} failed (output above)"
  fi
  rm -f "$log"
}

have_openblas() { compgen -G '/usr/lib/*/openblas*/libblas.so.3' >/dev/null; }

# Debian's libtorch multiplies matrices through the system's libblas.so.3. The reference BLAS it pulls in makes 1×1 and
# transposed convolutions crawl (DeepLabV3+ 34 s → 3.3 s per 384² image with OpenBLAS), so as root we add OpenBLAS, which
# takes over libblas.so.3 through Debian's alternatives. Optional: without root we only say so. Skipped with $LIBTORCH,
# whose libraries bring their own BLAS.
ensure_openblas() {
  [ -n "${LIBTORCH:-}" ] && return 0
  have_openblas && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "note: 'sudo apt-get install -y libopenblas0-pthread' makes CPU training several times faster"
    return 0
  fi
  say "installing libopenblas0-pthread with apt-get (fast BLAS for libtorch on the CPU)"
  export DEBIAN_FRONTEND=noninteractive
  # Without package lists (a fresh container) the first try fails: refresh them once and retry.
  { apt-get install -y -qq --no-install-recommends libopenblas0-pthread \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends libopenblas0-pthread; }; } \
    >/dev/null 2>&1 </dev/null \
    || say "note: installing libopenblas0-pthread failed; continuing with the reference BLAS (slower)"
}

setup() {
  ensure_dotnet
  ensure_native_deps "$@"
  ensure_openblas
}

# ---- build --------------------------------------------------------------------------------------

build_all() {
  say "building $sln ($config; the first build compiles the native shim, a minute or two)"
  dotnet build "$sln" -c "$config" -v:minimal -nologo
  touch "$build_stamp"
}

cmd_build() {
  [ "$#" -eq 0 ] || die 2 "build takes no arguments (got: $*)"
  setup
  build_all
}

# The main job. Later this runs the whole experiment pipeline; today: the engine's report, the data sets' status, the
# built-in phantom (the default data when no real data is present) and its slice cache, and the Affinity-KD Table 1.
# Every step is idempotent: a rerun finds the phantom and the cache up to date.
cmd_main() {
  local profile="" target=all dry=0 jobs="" targets seeds="" seed_rows="" seed_props=() paper=all scheduler=local slurm_args=()
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --paper|--profile|--target|--jobs|--seeds|--seed-rows|--scheduler)
        [ "$#" -ge 2 ] || die 2 "$1 needs a value"
        case "$1" in --paper) paper="$2" ;; --profile) profile="$2" ;; --target) target="$2" ;; --jobs) jobs="$2" ;; --seeds) seeds="$2" ;; --seed-rows) seed_rows="$2" ;; --scheduler) scheduler="$2" ;; esac
        shift 2 ;;
      # Slurm's job options go to meddistill pipeline submit as they are.
      --partition|--gres|--time|--account)
        [ "$#" -ge 2 ] || die 2 "$1 needs a value"
        slurm_args+=("$1" "$2"); shift 2 ;;
      --partition=*|--gres=*|--time=*|--account=*) slurm_args+=("${1%%=*}" "${1#*=}"); shift ;;
      --scheduler=*) scheduler="${1#*=}"; shift ;;
      --seeds=*) seeds="${1#*=}"; shift ;;
      --seed-rows=*) seed_rows="${1#*=}"; shift ;;
      --profile=*) profile="${1#*=}"; shift ;;
      --paper=*) paper="${1#*=}"; shift ;;
      --target=*) target="${1#*=}"; shift ;;
      --jobs=*) jobs="${1#*=}"; shift ;;
      --dry-run) dry=1; shift ;;
      *) die 2 "unknown argument: $1 (see ./build.sh --help)" ;;
    esac
  done
  # Without --profile each paper runs its default: the built-in data's, or the paper's own once its real data is there.
  case "$profile" in ""|phantom|smoke|paper|nightly) ;; *) die 2 "--profile $profile: use phantom, smoke, paper or nightly" ;; esac
  case "$target" in
    all) targets=Tables ;; table1) targets=Table1 ;; table2) targets=Table2 ;; table3) targets=Table3 ;; table4) targets=Table4 ;;
    prepare) targets=Prepare ;; plan) targets=Plan ;; sensitivity) targets=Study ;;
    *) die 2 "--target $target: use all, table1, table2, table3, table4, sensitivity, prepare or plan" ;;
  esac
  case "$scheduler" in local|slurm) ;; *) die 2 "--scheduler $scheduler: use local or slurm" ;; esac
  [ "$scheduler" = slurm ] || [ "${#slurm_args[@]}" -eq 0 ] || die 2 "${slurm_args[0]} needs --scheduler slurm"
  # One worker per core (each run uses one libtorch thread in the phantom profile), unless --jobs says otherwise.
  [ -n "$jobs" ] || jobs="$(nproc 2>/dev/null || echo 2)"
  [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die 2 "--jobs $jobs: a positive number"
  # Seeds reach both the plan and the tables through MSBuild properties (rows are |-separated: commas split -p: values).
  if [ -n "$seeds" ]; then [[ "$seeds" =~ ^[1-9][0-9]*$ ]] || die 2 "--seeds $seeds: a positive number"; seed_props+=("-p:Seeds=$seeds"); fi
  [ -z "$seed_rows" ] || seed_props+=("-p:SeedRows=$seed_rows")

  setup
  build_all
  local md="$root/meddistill" papers p
  say "./meddistill info"; "$md" info
  if [ "$paper" = all ]; then papers="$("$md" papers --ids)"; else
    "$md" papers --ids | grep -qx -- "$paper" || die 2 "--paper $paper: use all or one of: $("$md" papers --ids | tr '\n' ' ')"
    papers="$paper"
  fi
  local study_props=()
  [ "$target" = sensitivity ] && study_props+=("-p:Study=sensitivity")
  local named="$profile" chosen=() plans=() graph_props=()
  # Each paper's profile (its default unless --profile names one it has) and whether it has the target's table.
  for p in $papers; do
    if [ -z "$named" ]; then profile="$("$md" papers --default-profile "$p")"
    elif ! "$md" papers --profiles "$p" | grep -qx -- "$named"; then
      say "paper $p has no profile $named ($("$md" papers --profiles "$p" | tr '\n' ' ')): skipped"; continue
    else profile="$named"; fi
    case "$target" in all|prepare|plan) ;;
      *) "$md" papers --tables "$p" | grep -qx -- "$target" || { say "paper $p has no $target: skipped"; continue; } ;;
    esac
    chosen+=("$p:$profile")
  done
  # Several papers: plan them all first and give their runs one progress manifest, so the progress line covers the job.
  if [ "$scheduler" = local ] && [ "$dry" != 1 ] && [ "${#chosen[@]}" -gt 1 ] && [ "$target" = all ]; then
    for pp in "${chosen[@]}"; do
      dotnet msbuild build/pipeline.proj -nologo -v:quiet -clp:NoSummary -t:Plan -p:Paper="${pp%%:*}" -p:Profile="${pp#*:}" -p:Jobs="$jobs" "${seed_props[@]}"
      plans+=("$root/build/obj/${pp%%:*}/${pp#*:}")
    done
    "$md" pipeline graph --out "$root/build/obj/main-job" --jobs "$jobs" "${plans[@]}"
    graph_props+=("-p:PlanArgs=--graph-dir $root/build/obj/main-job")
  fi
  if [ "$scheduler" = slurm ]; then
    for pp in "${chosen[@]}"; do slurm_main "${pp%%:*}" "${pp#*:}"; done
    return 0
  fi
  for pp in "${chosen[@]}"; do
    p="${pp%%:*}"; profile="${pp#*:}"
    if [ "$dry" = 1 ]; then
      say "dry run: paper $p, profile $profile, target $target (nothing is trained)"
      dotnet msbuild build/pipeline.proj -nologo -v:minimal -clp:NoSummary -t:DryRun -p:Paper="$p" -p:Profile="$profile" \
        $(tables_of "$target") "${seed_props[@]}"
      continue
    fi
    if [ "$target" = all ] || [ "$target" = table1 ]; then
      local t
      for t in $("$md" papers --static "$p"); do
        say "./meddistill tables $p $t (a table without runs; Affinity-KD's Table 1 counts the full-size networks: about a minute)"
        "$md" tables "$p" "$t"
      done
    fi
    [ "$target" = table1 ] && continue
    local started=$SECONDS
    say "pipeline: paper $p, profile $profile, target $target, $jobs parallel runs (build/pipeline.proj)"
    dotnet msbuild build/pipeline.proj -nologo -v:minimal -clp:NoSummary -m:"$jobs" -t:"$targets" -p:Paper="$p" -p:Profile="$profile" \
      -p:Jobs="$jobs" $(tables_of "$target") "${study_props[@]}" "${seed_props[@]}" "${graph_props[@]}"
    say "pipeline $p done in $((SECONDS - started)) s; tables in paper-tables/$p/$profile/"
  done
  [ "$dry" = 1 ] || [ "$target" = table1 ] || "$md" runs list | tail -n +1 | awk 'NR == 1 || /Failed|Interrupted|Running/' | head -n 20
}

# One paper's graph on Slurm (--scheduler slurm): data and plan here (this machine must see the shared file system),
# then every unfinished run as an sbatch job through meddistill pipeline submit; a dry run plans without the data and
# prints the sbatch commands. Uses cmd_main's locals (md, target, dry, seeds, seed_rows, seed_props, slurm_args).
slurm_main() {
  local p="$1" profile="$2" plan_dir="$root/build/obj/$1/$2" table_prop="" plan_args=()
  case "$target" in table2|table3|table4) table_prop="$target" ;; sensitivity) table_prop=sensitivity ;; esac
  if [ "$dry" = 1 ]; then
    [ -z "$table_prop" ] || plan_args+=(--tables "$table_prop")
    [ -z "$seeds" ] || plan_args+=(--seeds "$seeds")
    [ -z "$seed_rows" ] || plan_args+=(--seed-rows "$seed_rows")
    say "dry run on Slurm: paper $p, profile $profile, target $target (nothing is submitted)"
    "$md" pipeline plan --paper "$p" --profile "$profile" --out "$plan_dir" "${plan_args[@]}"
    "$md" pipeline submit --plan-dir "$plan_dir" --dry-run "${slurm_args[@]}"
    return 0
  fi
  if [ "$target" = all ] || [ "$target" = table1 ]; then
    local t
    for t in $("$md" papers --static "$p"); do say "./meddistill tables $p $t (a table without runs)"; "$md" tables "$p" "$t"; done
  fi
  [ "$target" = table1 ] && return 0
  say "pipeline on Slurm: paper $p, profile $profile, target $target: data and plan here, then sbatch"
  dotnet msbuild build/pipeline.proj -nologo -v:minimal -clp:NoSummary -t:Plan -p:Paper="$p" -p:Profile="$profile" \
    ${table_prop:+"-p:Tables=$table_prop"} "${seed_props[@]}"
  case "$target" in prepare|plan) return 0 ;; esac
  "$md" pipeline submit --plan-dir "$plan_dir" "${slurm_args[@]}"
}

# One table as an MSBuild property; all three are the project's default (a comma would split -p: values).
tables_of() {
  case "$1" in table2|table3|table4) echo "-p:Tables=$1" ;; *) echo "" ;; esac
}

# ---- test ---------------------------------------------------------------------------------------

# Sums the outcome counters of every TRX file in $1 and prints "passed failed skipped".
count_trx() {
  local passed=0 failed=0 skipped=0 f counters p fl sk
  for f in "$1"/*.trx; do
    [ -e "$f" ] || continue
    counters="$(grep -o '<Counters [^>]*>' "$f" | head -n 1)"
    attr() { printf '%s\n' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
    p="$(attr passed)"
    fl=$(( $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted) ))
    # Ignored tests show up neither in passed nor failed (nor reliably in notExecuted): the rest is skipped.
    sk=$(( $(attr total) - p - fl )); [ "$sk" -ge 0 ] || sk=0
    passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + sk))
  done
  echo "$passed $failed $skipped"
}

cmd_test() {
  setup
  build_all
  local results="$root/artifacts/test-results" rc=0
  rm -rf "$results"; mkdir -p "$results"
  say "dotnet test $sln"
  dotnet test "$sln" -c "$config" --no-build --logger trx --results-directory "$results" "$@" || rc=$?
  if ! compgen -G "$results/*.trx" >/dev/null; then
    die 1 "the test run produced no results (dotnet test exit code $rc)"
  fi
  local passed failed skipped
  read -r passed failed skipped <<<"$(count_trx "$results")"
  echo "$passed passed, $failed failed, $skipped skipped"
  if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then exit 1; fi
}

# ---- bench --------------------------------------------------------------------------------------

cmd_bench() {
  local what="${1:-}"
  [ "$#" -gt 0 ] && shift
  case "$what" in
    engine) bench_twin engine bench/engine_step.py engine-step-ms "$@" ;;
    distill) bench_twin distill bench/distill_step.py distill-step-ms "$@" ;;
    latency) bench_latency "$@" ;;
    train) bench_train "$@" ;;
    *) die 2 "usage: ./build.sh bench engine [--steps N] [--warmup N] [--threads T] [--device cpu|cuda] [--rounds N]
       ./build.sh bench distill [--steps N] [--warmup N] [--threads T] [--device cpu|cuda] [--breakdown] [--rounds N]
       ./build.sh bench latency [--batch 1,16] [--iters N] [--warmup N] [--threads T] [--device cpu|cuda] [--models a,b] [--size S]
       ./build.sh bench train [--models a,b] [--sizes 96,384] [--batch N] [--teacher-batch N] [--steps N] [--warmup N] [--threads T] [--device cpu|cuda]" ;;
  esac
}

# Compares two comma-separated lists of numbers, each optionally "name:value": "(identical)" when the strings are
# equal, else the largest absolute difference and where it is.
compare_values() {
  [ "$1" = "$2" ] && { echo "(identical)"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, ","); m = split(b, y, ",")
    if (n != m) { print "(DIFFERENT: " n " against " m " values)"; exit }
    worst = -1
    for (i = 1; i <= n; i++) {
      name = x[i]; sub(/:.*/, "", name); if (name == x[i]) name = "#" i
      u = x[i]; v = y[i]; sub(/^[^:]*:/, "", u); sub(/^[^:]*:/, "", v)
      d = u - v; if (d < 0) d = -d
      if (d > worst) { worst = d; at = name }
    }
    printf "(DIFFERENT: largest |difference| %.6f at %s)\n", worst, at
  }'
}

# A benchmark with a PyTorch twin, in interleaved rounds: each round runs the script, then MedDistill.Bench NAME with the
# same options (A B A B ...), so both sides see the same neighbours on a shared machine. The first round's output is
# printed whole (first losses compared, breakdown side by side); each round then prints its ratio, and the last line
# is "<metric>=<median ours> pytorch-step-ms=<median theirs> ratio=<median of the rounds' ratios> ratio-min=.. ratio-max=.. rounds=N".
bench_twin() {
  local name="$1" script="$2" metric="$3"; shift 3
  local args=() rounds=5 threads=1
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --steps|--warmup|--threads|--device|--seed)
        [ "$#" -ge 2 ] || die 2 "$1 needs a value"
        [ "$1" = --threads ] && threads="$2"
        args+=("$1" "$2"); shift 2 ;;
      --steps=*|--warmup=*|--threads=*|--device=*|--seed=*)
        [ "${1%%=*}" = --threads ] && threads="${1#*=}"
        args+=("${1%%=*}" "${1#*=}"); shift ;;
      --rounds) [ "$#" -ge 2 ] || die 2 "$1 needs a value"; rounds="$2"; shift 2 ;;
      --rounds=*) rounds="${1#*=}"; shift ;;
      # Only the distillation step has parts to time.
      --breakdown) [ "$name" = distill ] || die 2 "bench $name: unknown argument $1"; args+=("$1"); shift ;;
      *) die 2 "bench $name: unknown argument $1" ;;
    esac
  done
  [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die 2 "--rounds $rounds: a positive number"

  local extra=()
  # Only Debian's interpreter is ours to provision; a custom BENCH_PYTHON must come with torch.
  if ! have_python_torch; then
    [ "$bench_python" = /usr/bin/python3 ] || die 2 "$bench_python cannot import torch (BENCH_PYTHON)"
    extra+=(python3-torch)
  fi
  setup "${extra[@]}"
  have_python_torch || die 2 "$bench_python still cannot import torch"

  say "building bench/MedDistill.Bench ($config)"
  dotnet build bench/MedDistill.Bench -c "$config" -v:quiet -nologo -clp:NoSummary

  local py_out ours_out py ours round pys=() ourss=() ratios=()
  for ((round = 1; round <= rounds; round++)); do
    say "round $round/$rounds: PyTorch ($bench_python $script ${args[*]}), then MedDistill (MedDistill.Bench $name ${args[*]})"
    # Both sides get OpenBLAS's pool at the torch thread count: our binding sets it itself, PyTorch does not, and its
    # idle workers would otherwise spin beside the PyTorch side only.
    py_out="$(OPENBLAS_NUM_THREADS="$threads" "$bench_python" "$script" "${args[@]}")"
    ours_out="$(OPENBLAS_NUM_THREADS="$threads" dotnet "bench/MedDistill.Bench/bin/$config/net10.0/MedDistill.Bench.dll" "$name" "${args[@]}")"
    py="$(printf '%s\n' "$py_out" | sed -n 's/^pytorch-step-ms=//p' | tail -n 1)"
    ours="$(printf '%s\n' "$ours_out" | sed -n "s/^$metric=//p" | tail -n 1)"
    [ -n "$py" ] || die 1 "$script printed no pytorch-step-ms line"
    [ -n "$ours" ] || die 1 "MedDistill.Bench printed no $metric line"
    if [ "$round" = 1 ]; then
      printf '%s\n' "$py_out"
      printf '%s\n' "$ours_out"
      bench_twin_first_round "$py_out" "$ours_out"
    fi
    pys+=("$py"); ourss+=("$ours")
    ratios+=("$(awk -v a="$ours" -v b="$py" 'BEGIN { printf "%.3f", a / b }')")
    echo "round $round: $metric=$ours pytorch-step-ms=$py ratio=${ratios[-1]}"
  done
  local median_py median_ours summary
  median_py="$(printf '%s\n' "${pys[@]}" | median_of)"
  median_ours="$(printf '%s\n' "${ourss[@]}" | median_of)"
  summary="$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "ratio=%.3f ratio-min=%.3f ratio-max=%.3f", m, v[1], v[NR] }')"
  echo "$metric=$median_ours pytorch-step-ms=$median_py $summary rounds=$rounds"
}

# Median of numbers, one per line on stdin.
median_of() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The first round's comparisons: equal first losses (same seed, same kernels: the timings compare equal work) and,
# with --breakdown, each part side by side.
bench_twin_first_round() {
  local py_out="$1" ours_out="$2" line py_v ours_v
  for line in first-terms first-losses; do
    py_v="$(printf '%s\n' "$py_out" | sed -n "s/^$line=//p" | tail -n 1)"
    ours_v="$(printf '%s\n' "$ours_out" | sed -n "s/^$line=//p" | tail -n 1)"
    if [ -n "$py_v" ] && [ -n "$ours_v" ]; then
      echo "$line pytorch=$py_v meddistill=$ours_v $(compare_values "$py_v" "$ours_v")"
    fi
  done
  if printf '%s\n' "$ours_out" | grep -q '^breakdown part='; then
    awk '
      FNR == 1 { side++ }
      /^breakdown part=/ { split($2, p, "="); split($3, m, "="); ms[side, p[2]] = m[2]; if (side == 1) order[++n] = p[2] }
      END {
        for (i = 1; i <= n; i++) {
          k = order[i]; r = (ms[1, k] > 0 && (2, k) in ms) ? sprintf("%.3f", ms[2, k] / ms[1, k]) : "-"
          printf "breakdown-compare part=%s pytorch-ms=%s meddistill-ms=%s ratio=%s\n", k, ms[1, k], ms[2, k], r
        }
      }' <(printf '%s\n' "$py_out") <(printf '%s\n' "$ours_out")
  fi
}

# Inference latency of the zoo's networks (no PyTorch twin: the figures stand on their own).
bench_latency() { bench_ours latency '--batch|--iters|--warmup|--threads|--device|--models|--size' "$@"; }

# Training images/s of the zoo's networks and of ENet distilled from each teacher (no PyTorch twin either).
bench_train() {
  bench_ours train '--models|--teachers|--student|--sizes|--batch|--large-batch|--steps|--warmup|--threads|--device' "$@"
}

# Runs MedDistill.Bench NAME with the options named in $2 ("--a|--b"), each taking a value.
bench_ours() {
  local name="$1" known="$2"; shift 2
  local args=() flag
  while [ "$#" -gt 0 ]; do
    flag="${1%%=*}"
    [[ "$flag" == --* && "|$known|" == *"|$flag|"* ]] || die 2 "bench $name: unknown argument $1"
    if [ "$flag" != "$1" ]; then args+=("$flag" "${1#*=}"); shift
    else
      [ "$#" -ge 2 ] || die 2 "$1 needs a value"
      args+=("$1" "$2"); shift 2
    fi
  done
  setup
  say "building bench/MedDistill.Bench ($config)"
  dotnet build bench/MedDistill.Bench -c "$config" -v:quiet -nologo -clp:NoSummary
  say "MedDistill: MedDistill.Bench $name ${args[*]}"
  dotnet "bench/MedDistill.Bench/bin/$config/net10.0/MedDistill.Bench.dll" "$name" "${args[@]}"
}

# ---- publish ------------------------------------------------------------------------------------

cmd_publish() {
  local rid=linux-x64
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --rid) [ "$#" -ge 2 ] || die 2 "--rid needs a value"; rid="$2"; shift 2 ;;
      --rid=*) rid="${1#*=}"; shift ;;
      *) die 2 "publish: unknown argument $1" ;;
    esac
  done
  # The Torch project ships the shim it builds here, so the set-up is the same as for a build.
  setup
  local out="publish/$rid" p
  rm -rf "$out" publish/native "publish/meddistill-$rid.tar.gz"
  for p in src/MedDistill.Cli bench/MedDistill.Bench; do
    say "publishing $p for $rid (self-contained)"
    dotnet publish "$p" -c "$config" -r "$rid" --self-contained -o "$out" -v:minimal -nologo \
      -p:SatelliteResourceLanguages=en
  done
  # The shim from this machine is linked to this machine's libtorch; the target builds its own.
  rm -f "$out/libmeddistill_torch.so"
  mkdir -p publish/native
  cp src/MedDistill.Torch/native/build-shim.sh src/MedDistill.Torch/native/Makefile \
     src/MedDistill.Torch/native/*.h src/MedDistill.Torch/native/*.cpp publish/native/
  tar -C publish -czf "publish/meddistill-$rid.tar.gz" "$rid" native
  say "published to $out and publish/meddistill-$rid.tar.gz ($(du -sh "publish/meddistill-$rid.tar.gz" | cut -f1))"
  cat <<EOF
On the target (no .NET SDK needed; g++, make and a libtorch are):
  tar xzf meddistill-$rid.tar.gz
  LIBTORCH=/path/to/libtorch native/build-shim.sh "\$PWD/$rid"   # in a checkout: src/MedDistill.Torch/native/build-shim.sh "\$PWD/publish/$rid"
  $rid/meddistill info
  $rid/MedDistill.Bench engine --device cuda
EOF
}

# ---- dispatch -----------------------------------------------------------------------------------

case "${1:-}" in
  "") cmd_main ;;
  build) shift; cmd_build "$@" ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  publish) shift; cmd_publish "$@" ;;
  help|-h|--help) usage ;;
  -*) cmd_main "$@" ;;
  *) die 2 "unknown command: $1 (see ./build.sh --help)" ;;
esac

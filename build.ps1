#!/usr/bin/env pwsh
# MedDistill's entry point for PowerShell: the same commands as build.sh (./build.ps1 help).
# The native shim (C++ over libtorch) builds on Linux only for now: the Torch project's MSBuild target runs
# src/MedDistill.Torch/native/build-shim.sh with bash. On Linux this script works like build.sh (and installs
# missing Debian packages when run as root); elsewhere it stops and points to Linux or WSL2.
# Arguments are read from $args (no param block) so that options such as --steps reach the commands unchanged.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Root = $PSScriptRoot
Set-Location $Root
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'

$Config = 'Release'
$Sln = 'MedDistill.sln'
$CliOut = "src/MedDistill.Cli/bin/$Config/net10.0"
$BenchPython = if ($env:BENCH_PYTHON) { $env:BENCH_PYTHON } else { '/usr/bin/python3' }
$OnLinux = [System.Runtime.InteropServices.RuntimeInformation]::IsOSPlatform([System.Runtime.InteropServices.OSPlatform]::Linux)
$Invariant = [System.Globalization.CultureInfo]::InvariantCulture

function Show-Usage {
    @'
Usage: ./build.ps1 [COMMAND] [OPTIONS]     (same commands as ./build.sh)

Commands:
  (none) [--paper all|affinity-kd] [--profile phantom|smoke|paper|nightly]
         [--target all|table1|table2|table3|table4|sensitivity|prepare|plan]
         [--dry-run] [--jobs N] [--seeds N] [--seed-rows enet|students|all|'ROW|ROW']
                    The main job: set up, build everything (Release), meddistill info, Table 1, then the
                    reproduction graph build/pipeline.proj for the profile (phantom when no real data is
                    present) into paper-tables/<paper>/<profile>/, for every paper or the one --paper names. Finished runs are skipped. --seeds N
                    repeats chosen cells with N run seeds (<table>.seeds.csv; see docs/pipeline.md).
         [--scheduler local|slurm] [--partition P] [--gres gpu:1|none] [--time HH:MM:SS] [--account A]
                    --scheduler slurm: data and plan here, then one sbatch job per unfinished run (students after
                    their teacher; --requeue) and a tables job; --dry-run prints the sbatch commands (README,
                    "Running on a Slurm cluster").
  build             Set up and build everything (Release).
  test [ARGS...]    Build and run every test; the last line is "N passed, M failed, K skipped".
                    Extra ARGS go to dotnet test.
  bench engine [--steps N] [--warmup N] [--threads T] [--device cpu|cuda] [--rounds 5]
                    Time one training step in MedDistill and in PyTorch; the last line is
                    "engine-step-ms=<median> pytorch-step-ms=<median> ratio=<ours/pytorch>".
  bench distill [--steps N] [--warmup N] [--threads T] [--device cpu|cuda] [--breakdown] [--rounds 5]
                    Time one Affinity-KD step (ENet <- DeepLabV3+, batch 8 of 1x128x128) in MedDistill and in
                    PyTorch; the last line is "distill-step-ms=<median> pytorch-step-ms=<median> ratio=<ours/pytorch>".
  bench latency [--batch 1,16] [--iters N] [--warmup N] [--threads T] [--device cpu|cuda] [--models a,b] [--size S]
                    Inference ms/image of every network at 1x384x384.
  bench train [--models a,b] [--teachers a,b] [--student S] [--sizes 96,384] [--batch 8] [--large-batch 2]
              [--steps 2] [--warmup 1] [--threads T] [--device cpu|cuda]
                    Training images/s of each network and of ENet distilled from each teacher.
  publish [--rid RID]
                    Self-contained publish of the CLI and the benchmarks into publish/RID (default linux-x64);
                    build the native shim on the target with native/build-shim.sh "<absolute path to RID folder>".
  help              This text.

The native shim builds on Linux only for now (use Linux or WSL2). Environment: LIBTORCH, BENCH_PYTHON (see README.md).
'@ | Write-Host
}

function Say([string]$Message) { Write-Host "==> $Message" }

function Stop-Build([int]$Code, [string]$Message) {
    [Console]::Error.WriteLine("build.ps1: $Message")
    exit $Code
}

# Runs an external program and stops the script with its exit code when it fails.
function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

# ---- set-up -------------------------------------------------------------------------------------

function Assert-Dotnet {
    $found = Get-Command dotnet -ErrorAction SilentlyContinue
    $sdk10 = $false
    if ($found) {
        try { $sdk10 = [bool](& dotnet --list-sdks 2>$null | Where-Object { $_ -match '^10\.' }) } catch { $sdk10 = $false }
    }
    if (-not $sdk10) {
        Stop-Build 2 'the .NET 10 SDK is required: install it from https://dotnet.microsoft.com/download/dotnet/10.0 and rerun'
    }
}

function Test-Libtorch {
    if ($env:LIBTORCH) { return $true }   # build-shim.sh checks it and explains what is wrong with it
    if (-not (Test-Path /usr/include/torch/csrc/api/include/torch/torch.h)) { return $false }
    return [bool](Get-ChildItem -Path /usr/lib/*/libtorch.so -ErrorAction SilentlyContinue)
}

function Test-PythonTorch {
    if (-not (Get-Command $BenchPython -ErrorAction SilentlyContinue)) { return $false }
    # try/catch: Windows PowerShell turns a native program's stderr into an error under 'Stop'.
    try { & $BenchPython -c 'import torch' 2>$null | Out-Null; return $LASTEXITCODE -eq 0 } catch { return $false }
}

function Assert-NativeDeps([string[]]$Extra = @()) {
    if (-not $OnLinux) {
        Stop-Build 2 'the native shim (libmeddistill_torch) builds on Linux only for now: run ./build.sh on Linux or in WSL2'
    }
    $missing = @()
    if (-not (Test-Libtorch)) { $missing += 'libtorch-dev' }
    if (-not (Get-Command g++ -ErrorAction SilentlyContinue)) { $missing += 'g++' }
    if (-not (Get-Command make -ErrorAction SilentlyContinue)) { $missing += 'make' }
    # The report's charts: SkiaSharp's native library loads libfontconfig, and the charts name DejaVu Sans.
    if (-not (Get-ChildItem /usr/lib/*/libfontconfig.so.1 -ErrorAction SilentlyContinue)) { $missing += 'libfontconfig1' }
    if (-not (Test-Path /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)) { $missing += 'fonts-dejavu-core' }
    $missing += $Extra
    if ($missing.Count -eq 0) { return }

    $wanted = @()
    if (-not $env:LIBTORCH) { $wanted += 'libtorch-dev' }
    $wanted += @('g++', 'make', 'libfontconfig1', 'fonts-dejavu-core') + $Extra
    $isRoot = (& id -u) -eq '0'
    if (-not $isRoot) {
        $hint = if ($env:LIBTORCH) { '' } else { ' (or set LIBTORCH=/path/to/libtorch)' }
        Stop-Build 2 "missing $($missing -join ' '): run 'sudo apt-get install -y $($wanted -join ' ')'$hint, then rerun"
    }
    if (-not (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Stop-Build 2 "missing $($missing -join ' ') and there is no apt-get: install $($wanted -join ' ') (or set LIBTORCH)"
    }
    Say "installing $($missing -join ' ') with apt-get"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & apt-get update -qq | Out-Null
    if ($LASTEXITCODE -ne 0) { Stop-Build 2 'apt-get update failed' }
    & apt-get install -y -qq --no-install-recommends @missing | Out-Null
    if ($LASTEXITCODE -ne 0) { Stop-Build 2 "apt-get install $($missing -join ' ') failed" }
}

# Debian's libtorch multiplies matrices through the system's libblas.so.3; OpenBLAS makes 1x1 and transposed convolutions
# many times faster than the reference BLAS. Optional: installed as root, otherwise only suggested (see build.sh).
function Initialize-OpenBlas {
    if ($env:LIBTORCH) { return }
    if (Get-ChildItem -Path '/usr/lib/*/openblas*/libblas.so.3' -ErrorAction SilentlyContinue) { return }
    $isRoot = (& id -u) -eq '0'
    if (-not $isRoot -or -not (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Say "note: 'sudo apt-get install -y libopenblas0-pthread' makes CPU training several times faster"
        return
    }
    Say 'installing libopenblas0-pthread with apt-get (fast BLAS for libtorch on the CPU)'
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & apt-get install -y -qq --no-install-recommends libopenblas0-pthread 2>&1 | Out-Null
    if ($LASTEXITCODE -ne 0) {
        & apt-get update -qq 2>&1 | Out-Null
        & apt-get install -y -qq --no-install-recommends libopenblas0-pthread 2>&1 | Out-Null
    }
    if ($LASTEXITCODE -ne 0) { Say 'note: installing libopenblas0-pthread failed; continuing with the reference BLAS (slower)' }
}

function Initialize-Build([string[]]$Extra = @()) {
    Assert-Dotnet
    Assert-NativeDeps $Extra
    Initialize-OpenBlas
}

# ---- commands -----------------------------------------------------------------------------------

function Build-All {
    Say "building $Sln ($Config; the first build compiles the native shim, a minute or two)"
    Invoke-Checked dotnet @('build', $Sln, '-c', $Config, '-v:minimal', '-nologo')
    # Same stamp as build.sh, so ./meddistill knows the build is current.
    New-Item -ItemType File -Force -Path "$CliOut/.meddistill-built" | Out-Null
}

function Invoke-Main([string[]]$Arguments) {
    # Options as in build.sh: --paper all|<id>, --profile phantom|smoke|paper|nightly, --target all|table1..table4|sensitivity|prepare|plan, --dry-run,
    # --jobs N, --seeds N, --seed-rows enet|students|all|'ROW|ROW'.
    $profile = ''; $target = 'all'; $dry = $false; $jobs = ''; $seedProps = @(); $paper = 'all'
    $scheduler = 'local'; $slurmArgs = @(); $seedCli = @()
    for ($i = 0; $i -lt $Arguments.Count; $i++) {
        $a = $Arguments[$i]
        switch -Regex ($a) {
            '^--(paper|profile|target|jobs)$' {
                if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 "$a needs a value" }
                $v = $Arguments[++$i]
                if ($a -eq '--paper') { $paper = $v } elseif ($a -eq '--profile') { $profile = $v } elseif ($a -eq '--target') { $target = $v } else { $jobs = $v }
            }
            '^--(paper|profile|target|jobs)=' {
                $name, $v = $a.Substring(2).Split('=', 2)
                if ($name -eq 'paper') { $paper = $v } elseif ($name -eq 'profile') { $profile = $v } elseif ($name -eq 'target') { $target = $v } else { $jobs = $v }
            }
            '^--scheduler$' {
                if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 "$a needs a value" }
                $scheduler = $Arguments[++$i]
            }
            '^--scheduler=' { $scheduler = $a.Substring('--scheduler='.Length) }
            # Slurm's job options go to meddistill pipeline submit as they are.
            '^--(partition|gres|time|account)$' {
                if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 "$a needs a value" }
                $slurmArgs += @($a, $Arguments[++$i])
            }
            '^--(partition|gres|time|account)=' { $name, $v = $a.Split('=', 2); $slurmArgs += @($name, $v) }
            '^--dry-run$' { $dry = $true }
            '^--seeds$' {
                if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 "$a needs a value" }
                $v = $Arguments[++$i]
                if ("$v" -notmatch '^[1-9][0-9]*$') { Stop-Build 2 "--seeds ${v}: a positive number" }
                $seedProps += "-p:Seeds=$v"; $seedCli += @('--seeds', $v)
            }
            '^--seed-rows$' {
                if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 "$a needs a value" }
                $v = $Arguments[++$i]
                $seedProps += "-p:SeedRows=$v"; $seedCli += @('--seed-rows', $v)
            }
            default { Stop-Build 2 "unknown argument: $a (see ./build.ps1 help)" }
        }
    }
    $dataRoot = if ($env:MEDDISTILL_DATA) { $env:MEDDISTILL_DATA } else { Join-Path $Root 'data' }
    # Without --profile each paper runs its default (meddistill papers --default-profile).
    if ($profile -and $profile -notin @('phantom', 'smoke', 'paper', 'nightly')) { Stop-Build 2 "--profile ${profile}: use phantom, smoke, paper or nightly" }
    $named = $profile
    $targets = @{ all = 'Tables'; table1 = 'Table1'; table2 = 'Table2'; table3 = 'Table3'; table4 = 'Table4'; prepare = 'Prepare'; plan = 'Plan'; sensitivity = 'Study' }
    if (-not $targets.ContainsKey($target)) { Stop-Build 2 "--target ${target}: use all, table1, table2, table3, table4, sensitivity, prepare or plan" }
    if ($scheduler -notin @('local', 'slurm')) { Stop-Build 2 "--scheduler ${scheduler}: use local or slurm" }
    if ($scheduler -ne 'slurm' -and $slurmArgs.Count -gt 0) { Stop-Build 2 "$($slurmArgs[0]) needs --scheduler slurm" }
    if (-not $jobs) { $jobs = [Environment]::ProcessorCount }
    if ("$jobs" -notmatch '^[1-9][0-9]*$') { Stop-Build 2 "--jobs ${jobs}: a positive number" }
    # One table as an MSBuild property; all three are the project's default (a comma would split -p: values).
    $tables = if ($target -in @('table2', 'table3', 'table4')) { @("-p:Tables=$target") } else { @() }
    $tables += $seedProps

    Initialize-Build
    Build-All
    $md = "$CliOut/meddistill.dll"
    Say 'meddistill info'; Invoke-Checked dotnet @($md, 'info')
    $known = @(& dotnet $md papers --ids)
    $papers = if ($paper -eq 'all') { $known } elseif ($paper -in $known) { @($paper) } else { Stop-Build 2 "--paper ${paper}: use all or one of: $($known -join ' ')" }
    if ($target -eq 'sensitivity') { $tables += '-p:Study=sensitivity' }
    # Each paper's profile (its default unless --profile names one it has) and whether it has the target's table.
    $chosen = @()
    foreach ($p in $papers) {
        if (-not $named) { $prof = (& dotnet $md papers --default-profile $p | Select-Object -Last 1) }
        elseif ($named -notin @(& dotnet $md papers --profiles $p)) { Say "paper $p has no profile ${named}: skipped"; continue }
        else { $prof = $named }
        if ($target -notin @('all', 'prepare', 'plan') -and $target -notin @(& dotnet $md papers --tables $p)) { Say "paper $p has no ${target}: skipped"; continue }
        $chosen += , @($p, $prof)
    }
    if ($scheduler -eq 'slurm') {
        foreach ($c in $chosen) { Invoke-SlurmMain $md $c[0] $c[1] $target $dry $seedProps $seedCli $slurmArgs }
        return
    }
    # Several papers: plan them all first and give their runs one progress manifest, so the progress line covers the job.
    $graphProps = @()
    if (-not $dry -and $chosen.Count -gt 1 -and $target -eq 'all') {
        $plans = @()
        foreach ($c in $chosen) {
            Invoke-Checked dotnet (@('msbuild', 'build/pipeline.proj', '-nologo', '-v:quiet', '-clp:NoSummary', '-t:Plan', "-p:Paper=$($c[0])", "-p:Profile=$($c[1])", "-p:Jobs=$jobs") + $seedProps)
            $plans += (Join-Path $Root "build/obj/$($c[0])/$($c[1])")
        }
        $jobDir = Join-Path $Root 'build/obj/main-job'
        Invoke-Checked dotnet (@($md, 'pipeline', 'graph', '--out', $jobDir, '--jobs', "$jobs") + $plans)
        $graphProps = @("-p:PlanArgs=--graph-dir $jobDir")
    }
    foreach ($c in $chosen) {
        $p = $c[0]; $profile = $c[1]
        if ($dry) {
            Say "dry run: paper $p, profile $profile, target $target (nothing is trained)"
            Invoke-Checked dotnet (@('msbuild', 'build/pipeline.proj', '-nologo', '-v:minimal', '-clp:NoSummary', '-t:DryRun', "-p:Paper=$p", "-p:Profile=$profile") + $tables)
            continue
        }
        if ($target -in @('all', 'table1')) {
            foreach ($t in @(& dotnet $md papers --static $p)) {
                Say "meddistill tables $p $t (a table without runs; Affinity-KD's Table 1 counts the full-size networks: about a minute)"
                Invoke-Checked dotnet @($md, 'tables', $p, $t)
            }
        }
        if ($target -eq 'table1') { continue }
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        Say "pipeline: paper $p, profile $profile, target $target, $jobs parallel runs (build/pipeline.proj)"
        Invoke-Checked dotnet (@('msbuild', 'build/pipeline.proj', '-nologo', '-v:minimal', '-clp:NoSummary', "-m:$jobs", "-t:$($targets[$target])", "-p:Paper=$p", "-p:Profile=$profile", "-p:Jobs=$jobs") + $tables + $graphProps)
        Say "pipeline $p done in $([int]$watch.Elapsed.TotalSeconds) s; tables in paper-tables/$p/$profile/"
    }
}

# One paper's graph on Slurm (--scheduler slurm), as build.sh's slurm_main: data and plan here, then every unfinished run
# as an sbatch job through meddistill pipeline submit; a dry run plans without the data and prints the sbatch commands.
function Invoke-SlurmMain([string]$md, [string]$p, [string]$profile, [string]$target, [bool]$dry, [string[]]$seedProps, [string[]]$seedCli, [string[]]$slurmArgs) {
    $planDir = Join-Path $Root "build/obj/$p/$profile"
    $tableProp = if ($target -in @('table2', 'table3', 'table4', 'sensitivity')) { $target } else { '' }
    if ($dry) {
        $planArgs = @('pipeline', 'plan', '--paper', $p, '--profile', $profile, '--out', $planDir) + $seedCli
        if ($tableProp) { $planArgs += @('--tables', $tableProp) }
        Say "dry run on Slurm: paper $p, profile $profile, target $target (nothing is submitted)"
        Invoke-Checked dotnet (@($md) + $planArgs)
        Invoke-Checked dotnet (@($md, 'pipeline', 'submit', '--plan-dir', $planDir, '--dry-run') + $slurmArgs)
        return
    }
    if ($target -in @('all', 'table1')) {
        foreach ($t in @(& dotnet $md papers --static $p)) { Say "meddistill tables $p $t (a table without runs)"; Invoke-Checked dotnet @($md, 'tables', $p, $t) }
    }
    if ($target -eq 'table1') { return }
    Say "pipeline on Slurm: paper $p, profile $profile, target ${target}: data and plan here, then sbatch"
    $props = @("-p:Paper=$p", "-p:Profile=$profile") + $seedProps
    if ($tableProp) { $props += "-p:Tables=$tableProp" }
    Invoke-Checked dotnet (@('msbuild', 'build/pipeline.proj', '-nologo', '-v:minimal', '-clp:NoSummary', '-t:Plan') + $props)
    if ($target -in @('prepare', 'plan')) { return }
    Invoke-Checked dotnet (@($md, 'pipeline', 'submit', '--plan-dir', $planDir) + $slurmArgs)
}

function Invoke-Test([string[]]$Arguments) {
    Initialize-Build
    Build-All
    $results = Join-Path $Root 'artifacts/test-results'
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    New-Item -ItemType Directory -Force -Path $results | Out-Null
    Say "dotnet test $Sln"
    & dotnet test $Sln -c $Config --no-build --logger trx --results-directory $results @Arguments
    $rc = $LASTEXITCODE
    $files = @(Get-ChildItem -Path $results -Filter *.trx -ErrorAction SilentlyContinue)
    if ($files.Count -eq 0) { Stop-Build 1 "the test run produced no results (dotnet test exit code $rc)" }
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($f in $files) {
        $c = ([xml](Get-Content -Raw $f.FullName)).TestRun.ResultSummary.Counters
        $p = [int]$c.passed
        $fl = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
        # Ignored tests are counted neither as passed nor failed: the rest of the total is skipped.
        $passed += $p; $failed += $fl; $skipped += [Math]::Max(0, [int]$c.total - $p - $fl)
    }
    Write-Output "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or $rc -ne 0) { exit 1 }
}

# Reads "--flag value", "--flag=value" and bare switches from $Arguments (index 1 on; index 0 is the benchmark's name).
function Get-BenchArguments([string[]]$Arguments, [string]$Name, [string[]]$ValueFlags, [string[]]$Switches = @()) {
    $pass = @()
    $valuePattern = ($ValueFlags | ForEach-Object { [regex]::Escape($_) }) -join '|'
    for ($i = 1; $i -lt $Arguments.Count; $i++) {
        $a = $Arguments[$i]
        if ($Switches -contains $a) { $pass += $a; continue }
        if ($a -match "^--($valuePattern)=(.*)$") { $pass += @("--$($Matches[1])", $Matches[2]); continue }
        if ($a -match "^--($valuePattern)$") {
            if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 "$a needs a value" }
            $pass += @($a, $Arguments[$i + 1]); $i++; continue
        }
        Stop-Build 2 "bench ${Name}: unknown argument $a"
    }
    return , $pass
}

function Build-Bench {
    Say "building bench/MedDistill.Bench ($Config)"
    Invoke-Checked dotnet @('build', 'bench/MedDistill.Bench', '-c', $Config, '-v:quiet', '-nologo', '-clp:NoSummary')
}

# A benchmark without a PyTorch twin (latency, train): its own output is the result.
function Invoke-BenchOurs([string]$Name, [string[]]$ValueFlags, [string[]]$Arguments) {
    $pass = Get-BenchArguments $Arguments $Name $ValueFlags
    Initialize-Build
    Build-Bench
    Say "MedDistill: MedDistill.Bench $Name $($pass -join ' ')"
    Invoke-Checked dotnet (@("bench/MedDistill.Bench/bin/$Config/net10.0/MedDistill.Bench.dll", $Name) + $pass)
}

# "(identical)" when the two comma-separated lists (entries "value" or "name:value") are equal as strings, otherwise the
# largest absolute difference and where it is.
function Compare-Values([string]$Ours, [string]$Theirs) {
    if ($Ours -eq $Theirs) { return '(identical)' }
    $x = $Theirs.Split(','); $y = $Ours.Split(',')
    if ($x.Count -ne $y.Count) { return "(DIFFERENT: $($x.Count) against $($y.Count) values)" }
    $worst = -1.0; $at = ''
    for ($i = 0; $i -lt $x.Count; $i++) {
        $name = if ($x[$i].Contains(':')) { $x[$i].Split(':')[0] } else { "#$($i + 1)" }
        $u = [double]::Parse(($x[$i] -replace '^[^:]*:', ''), $Invariant)
        $v = [double]::Parse(($y[$i] -replace '^[^:]*:', ''), $Invariant)
        $d = [Math]::Abs($u - $v)
        if ($d -gt $worst) { $worst = $d; $at = $name }
    }
    return "(DIFFERENT: largest |difference| $($worst.ToString('F6', $Invariant)) at $at)"
}

# A benchmark with a PyTorch twin (engine, distill): the script, then ours with the same options; the warm-up losses
# compared; "<metric>=<ours> pytorch-step-ms=<theirs> ratio=<ours/theirs>" last.
# A benchmark with a PyTorch twin, in interleaved rounds (PyTorch, MedDistill, PyTorch, ...) as in build.sh: the first
# round's output whole, then each round's ratio, and last "<metric>=<median> pytorch-step-ms=<median> ratio=<median of the
# rounds' ratios> ratio-min=.. ratio-max=.. rounds=N".
function Invoke-BenchTwin([string]$Name, [string]$Script, [string]$Metric, [string[]]$Arguments) {
    $switches = if ($Name -eq 'distill') { @('--breakdown') } else { @() }
    $rounds = 5
    $rest = @($Arguments[0])
    for ($i = 1; $i -lt $Arguments.Count; $i++) {
        if ($Arguments[$i] -match '^--rounds=(.*)$') { $rounds = $Matches[1]; continue }
        if ($Arguments[$i] -eq '--rounds') {
            if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 '--rounds needs a value' }
            $rounds = $Arguments[$i + 1]; $i++; continue
        }
        $rest += $Arguments[$i]
    }
    if ("$rounds" -notmatch '^[1-9][0-9]*$') { Stop-Build 2 "--rounds ${rounds}: a positive number" }
    $rounds = [int]$rounds
    $pass = Get-BenchArguments $rest $Name @('steps', 'warmup', 'threads', 'device', 'seed') $switches
    $extra = @()
    if (-not (Test-PythonTorch)) {
        if ($BenchPython -ne '/usr/bin/python3') { Stop-Build 2 "$BenchPython cannot import torch (BENCH_PYTHON)" }
        $extra += 'python3-torch'
    }
    Initialize-Build $extra
    if (-not (Test-PythonTorch)) { Stop-Build 2 "$BenchPython still cannot import torch" }
    Build-Bench

    # Both sides get OpenBLAS's pool at the torch thread count (our binding sets it itself, PyTorch does not).
    $threadsAt = [Array]::IndexOf($pass, '--threads')
    $env:OPENBLAS_NUM_THREADS = if ($threadsAt -ge 0 -and $threadsAt + 1 -lt $pass.Count) { $pass[$threadsAt + 1] } else { '1' }
    $pys = @(); $ourss = @(); $ratios = @()
    for ($round = 1; $round -le $rounds; $round++) {
        Say "round $round/${rounds}: PyTorch ($BenchPython $Script $($pass -join ' ')), then MedDistill (MedDistill.Bench $Name $($pass -join ' '))"
        $pyOut = @(& $BenchPython $Script @pass)
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        $oursOut = @(& dotnet "bench/MedDistill.Bench/bin/$Config/net10.0/MedDistill.Bench.dll" $Name @pass)
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        $py = ($pyOut | Where-Object { $_ -like 'pytorch-step-ms=*' } | Select-Object -Last 1)
        $ours = ($oursOut | Where-Object { $_ -like "$Metric=*" } | Select-Object -Last 1)
        if (-not $py) { Stop-Build 1 "$Script printed no pytorch-step-ms line" }
        if (-not $ours) { Stop-Build 1 "MedDistill.Bench printed no $Metric line" }
        $py = [double]::Parse($py.Substring('pytorch-step-ms='.Length), $Invariant)
        $ours = [double]::Parse($ours.Substring("$Metric=".Length), $Invariant)
        if ($round -eq 1) {
            $pyOut | Write-Output
            $oursOut | Write-Output
            Write-BenchTwinFirstRound $pyOut $oursOut
        }
        $pys += $py; $ourss += $ours; $ratios += ($ours / $py)
        Write-Output ("round ${round}: $Metric=$($ours.ToString('F3', $Invariant)) pytorch-step-ms=$($py.ToString('F3', $Invariant)) ratio=$(($ours / $py).ToString('F3', $Invariant))")
    }
    $sorted = @($ratios | Sort-Object)
    Write-Output ("$Metric=$((Get-Median $ourss).ToString('F2', $Invariant)) pytorch-step-ms=$((Get-Median $pys).ToString('F2', $Invariant)) " +
        "ratio=$((Get-Median $ratios).ToString('F3', $Invariant)) ratio-min=$($sorted[0].ToString('F3', $Invariant)) " +
        "ratio-max=$($sorted[-1].ToString('F3', $Invariant)) rounds=$rounds")
}

function Get-Median([double[]]$Values) {
    $v = @($Values | Sort-Object)
    if ($v.Count % 2 -eq 1) { return $v[($v.Count - 1) / 2] }
    return ($v[$v.Count / 2 - 1] + $v[$v.Count / 2]) / 2
}

# The first round's comparisons: equal first losses (the timings compare equal work) and, with --breakdown, each part.
function Write-BenchTwinFirstRound([string[]]$PyOut, [string[]]$OursOut) {
    foreach ($line in @('first-terms', 'first-losses')) {
        $pv = ($PyOut | Where-Object { $_ -like "$line=*" } | Select-Object -Last 1)
        $ov = ($OursOut | Where-Object { $_ -like "$line=*" } | Select-Object -Last 1)
        if ($pv -and $ov) {
            $pv = $pv.Substring($line.Length + 1); $ov = $ov.Substring($line.Length + 1)
            Write-Output "$line pytorch=$pv meddistill=$ov $(Compare-Values $ov $pv)"
        }
    }
    $pyParts = @{}
    foreach ($l in $PyOut) { if ($l -match '^breakdown part=(\S+) ms=(\S+)') { $pyParts[$Matches[1]] = $Matches[2] } }
    foreach ($l in $OursOut) {
        if ($l -match '^breakdown part=(\S+) ms=(\S+)') {
            $part = $Matches[1]; $ms = $Matches[2]; $r = '-'
            if ($pyParts.ContainsKey($part)) {
                $den = [double]::Parse($pyParts[$part], $Invariant)
                if ($den -gt 0) { $r = ([double]::Parse($ms, $Invariant) / $den).ToString('F3', $Invariant) }
                Write-Output "breakdown-compare part=$part pytorch-ms=$($pyParts[$part]) meddistill-ms=$ms ratio=$r"
            }
        }
    }
}

function Invoke-Bench([string[]]$Arguments) {
    $what = if ($Arguments.Count -gt 0) { $Arguments[0] } else { '' }
    switch -Exact ($what) {
        'engine' { Invoke-BenchTwin 'engine' 'bench/engine_step.py' 'engine-step-ms' $Arguments }
        'distill' { Invoke-BenchTwin 'distill' 'bench/distill_step.py' 'distill-step-ms' $Arguments }
        'latency' { Invoke-BenchOurs 'latency' @('batch', 'iters', 'warmup', 'threads', 'device', 'models', 'size') $Arguments }
        'train' {
            Invoke-BenchOurs 'train' @('models', 'teachers', 'student', 'sizes', 'batch', 'large-batch', 'steps', 'warmup', 'threads', 'device') $Arguments
        }
        default { Stop-Build 2 'usage: ./build.ps1 bench engine|distill|latency|train [OPTIONS] (see ./build.ps1 help)' }
    }
}

function Invoke-Publish([string[]]$Arguments) {
    $rid = 'linux-x64'
    for ($i = 0; $i -lt $Arguments.Count; $i++) {
        $a = $Arguments[$i]
        if ($a -match '^--rid=(.+)$') { $rid = $Matches[1]; continue }
        if ($a -eq '--rid') {
            if ($i + 1 -ge $Arguments.Count) { Stop-Build 2 '--rid needs a value' }
            $rid = $Arguments[$i + 1]; $i++; continue
        }
        Stop-Build 2 "publish: unknown argument $a"
    }
    # The Torch project ships the shim it builds here, so the set-up is the same as for a build.
    Initialize-Build
    $out = "publish/$rid"
    foreach ($p in @($out, 'publish/native', "publish/meddistill-$rid.tar.gz")) {
        if (Test-Path $p) { Remove-Item -Recurse -Force $p }
    }
    foreach ($proj in @('src/MedDistill.Cli', 'bench/MedDistill.Bench')) {
        Say "publishing $proj for $rid (self-contained)"
        Invoke-Checked dotnet @('publish', $proj, '-c', $Config, '-r', $rid, '--self-contained', '-o', $out,
            '-v:minimal', '-nologo', '-p:SatelliteResourceLanguages=en')
    }
    # The shim from this machine is linked to this machine's libtorch; the target builds its own.
    Remove-Item -Force -ErrorAction SilentlyContinue "$out/libmeddistill_torch.so"
    New-Item -ItemType Directory -Force -Path publish/native | Out-Null
    Copy-Item -Path src/MedDistill.Torch/native/build-shim.sh, src/MedDistill.Torch/native/Makefile,
        src/MedDistill.Torch/native/*.h, src/MedDistill.Torch/native/*.cpp -Destination publish/native
    Invoke-Checked tar @('-C', 'publish', '-czf', "publish/meddistill-$rid.tar.gz", $rid, 'native')
    Say "published to $out and publish/meddistill-$rid.tar.gz"
    Write-Output "On the target: tar xzf meddistill-$rid.tar.gz; LIBTORCH=/path/to/libtorch native/build-shim.sh `"`$PWD/$rid`"; $rid/meddistill info"
}

# ---- dispatch -----------------------------------------------------------------------------------

$command = if ($args.Count -gt 0) { [string]$args[0] } else { '' }
$rest = @(if ($args.Count -gt 1) { $args[1..($args.Count - 1)] | ForEach-Object { [string]$_ } })
switch -Exact ($command) {
    '' { Invoke-Main @() }
    'build' { if ($rest.Count -gt 0) { Stop-Build 2 "build takes no arguments" }; Initialize-Build; Build-All }
    'test' { Invoke-Test $rest }
    'bench' { Invoke-Bench $rest }
    'publish' { Invoke-Publish $rest }
    { $_ -in @('help', '-h', '--help', '-?') } { Show-Usage }
    default {
        if ($command.StartsWith('-')) { Invoke-Main (@($command) + $rest) }
        else { Stop-Build 2 "unknown command: $command (see ./build.ps1 help)" }
    }
}
exit 0

using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MedDistill.Experiments.Runs;

namespace MedDistill.Cli.Slurm;

/// <summary>How <c>pipeline submit</c> talks to Slurm and what every job asks for.</summary>
public sealed record SlurmOptions
{
    public string? Partition { get; init; }

    /// <summary>Generic resources of each run's job (default one GPU); null: none, for CPU partitions.</summary>
    public string? Gres { get; init; } = "gpu:1";
    public string? Time { get; init; }
    public string? Account { get; init; }

    /// <summary>Further sbatch options for every job, passed as given (e.g. --qos=normal, --mem=16G).</summary>
    public IReadOnlyList<string> Extra { get; init; } = [];

    public string Sbatch { get; init; } = "sbatch";
    public string Squeue { get; init; } = "squeue";
    public bool DryRun { get; init; }

    /// <summary>Folder for the tables (default: the paper's paper-tables/&lt;paper&gt;/&lt;profile&gt;/).</summary>
    public string? TablesOut { get; init; }

    /// <summary>The program and leading arguments that run <c>meddistill</c> on a compute node.</summary>
    public required IReadOnlyList<string> Cli { get; init; }
}

/// <summary>One run's fate in a submission: submitted (a new job), queued (a job already in the queue), finished (skipped).</summary>
public sealed record SlurmJob(string Run, string Key, string Stage, string State, string? JobId, string? Log, string? Dependency);

/// <summary>slurm-jobs.json in the plan folder: what the last <c>pipeline submit</c> did.</summary>
public sealed record SlurmSubmission(DateTime SubmittedUtc, bool DryRun, IReadOnlyList<SlurmJob> Jobs, string? TablesJob, string? TablesLog)
{
    public const string FileName = "slurm-jobs.json";

    public void Write(string planDir) => AtomicFile.WriteAllText(Path.Combine(planDir, FileName), JsonSerializer.Serialize(this, Json) + "\n");

    public static SlurmSubmission? TryRead(string planDir)
    {
        var path = Path.Combine(planDir, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<SlurmSubmission>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a submission record ({e.Message})"); }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}

/// <summary>
/// Turns a plan folder into Slurm jobs: one job per unfinished run (a student's job waits for its teacher's with
/// <c>afterok</c>), then one job that reports the runs and writes the tables once every run's job has ended
/// (<c>afterany</c>, so a failed run leaves its cells empty instead of holding the tables back forever).
/// Slurm is the scheduler; this only writes job scripts and calls <c>sbatch</c>.
/// </summary>
public sealed class SlurmSubmitter(PlanFile plan, string planDir, SlurmOptions options, Action<string> say)
{
    /// <summary>Job names carry the run id, so a second submission finds the first one's jobs in the queue.</summary>
    public const string JobPrefix = "md-";

    /// <summary>
    /// <c>md-&lt;run id&gt;-&lt;runs folder tag&gt;</c>: the same spec trained into another runs folder is another run, so
    /// its queued job must not stand in for this one.
    /// </summary>
    public static string JobName(string runsDir, string runId) => $"{JobPrefix}{runId}-{RunsTag(runsDir)}";

    private static string RunsTag(string runsDir) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(runsDir))))[..8];

    public SlurmSubmission Submit()
    {
        var store = new RunStore(plan.RunsDir);
        var scripts = Path.Combine(planDir, "slurm");
        Directory.CreateDirectory(scripts);
        // Another invocation's jobs for the same runs: depend on them rather than queue a second copy.
        var queued = options.DryRun ? new Dictionary<string, string>() : QueuedRuns();
        var jobs = new List<SlurmJob>();
        var jobOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var run in plan.Runs)
        {
            var folder = store.Folder(run.Id);
            if (IsUpToDate(run, folder))
            {
                jobs.Add(new SlurmJob(run.Id, run.Key, run.Stage, "finished", null, null, null));
                continue;
            }
            if (queued.TryGetValue(run.Id, out var existing))
            {
                jobOf[run.Id] = existing;
                jobs.Add(new SlurmJob(run.Id, run.Key, run.Stage, "queued", existing, LogOf(folder, existing), null));
                say($"queued     {run.Id}  {run.Key}: job {existing} is already in the queue");
                continue;
            }
            // A finished teacher (skipped above) gives its students nothing to wait for.
            string? dependency = run.Teacher is { } t && jobOf.TryGetValue(t, out var teacherJob) ? $"afterok:{teacherJob}" : null;
            var script = Path.Combine(scripts, run.Id + ".sh");
            AtomicFile.WriteAllText(script, RunScript(run, folder));
            File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
            // Slurm opens the log before the script runs, so the run's folder must exist.
            if (!options.DryRun) Directory.CreateDirectory(folder.Path);
            var args = new List<string>
            {
                "--parsable", $"--job-name={JobName(plan.RunsDir, run.Id)}", $"--output={Path.Combine(folder.Path, "slurm-%j.log")}",
                // A requeued job (preemption, node failure, scontrol requeue) runs the script again: append, keep the first try's log.
                "--open-mode=append", "--requeue", "--kill-on-invalid-dep=yes",
            };
            AddCommon(args, gres: true);
            if (dependency is not null) args.Add($"--dependency={dependency}");
            args.Add(script);
            var id = Sbatch(args, run.Id);
            jobOf[run.Id] = id;
            jobs.Add(new SlurmJob(run.Id, run.Key, run.Stage, options.DryRun ? "would-submit" : "submitted", id, LogOf(folder, id), dependency));
        }

        var tablesScript = Path.Combine(scripts, "tables.sh");
        AtomicFile.WriteAllText(tablesScript, TablesScript());
        File.SetUnixFileMode(tablesScript, (UnixFileMode)0b111_101_101);
        var tableArgs = new List<string> { "--parsable", $"--job-name={JobPrefix}tables-{plan.Paper}-{plan.Profile}", $"--output={Path.Combine(scripts, "tables-%j.log")}" };
        AddCommon(tableArgs, gres: false);
        var waitFor = jobOf.Values.Distinct().ToList();
        if (waitFor.Count > 0) tableArgs.Add("--dependency=afterany:" + string.Join(':', waitFor));
        tableArgs.Add(tablesScript);
        var tablesJob = Sbatch(tableArgs, "tables");

        var submission = new SlurmSubmission(DateTime.UtcNow, options.DryRun, jobs, tablesJob, Path.Combine(scripts, $"tables-{tablesJob}.log"));
        if (!options.DryRun) submission.Write(planDir);
        int submitted = jobs.Count(j => j.State is "submitted" or "would-submit");
        say($"{(options.DryRun ? "dry run (nothing submitted)" : "submitted")}: {plan.Runs.Count} runs of {plan.Paper} {plan.Profile}: "
            + $"{submitted} {(options.DryRun ? "to submit" : "submitted")}, {jobs.Count(j => j.State == "queued")} already queued, "
            + $"{jobs.Count(j => j.State == "finished")} finished; tables job {tablesJob}; job scripts in {scripts}");
        if (!options.DryRun) say($"follow with: squeue --me; meddistill pipeline status --plan-dir {ShellQuote(planDir)}");
        return submission;
    }

    /// <summary>The local graph's rule (its run targets' Inputs and Outputs): the finished marker exists and is not older than the spec.</summary>
    private static bool IsUpToDate(PlanFileRun run, RunFolder folder) =>
        File.Exists(folder.FinishedMarkerPath) && File.Exists(run.Spec)
        && File.GetLastWriteTimeUtc(folder.FinishedMarkerPath) >= File.GetLastWriteTimeUtc(run.Spec);

    private static string LogOf(RunFolder folder, string jobId) => Path.Combine(folder.Path, $"slurm-{jobId}.log");

    private void AddCommon(List<string> args, bool gres)
    {
        if (options.Partition is { } p) args.Add($"--partition={p}");
        if (options.Account is { } a) args.Add($"--account={a}");
        if (options.Time is { } t) args.Add($"--time={t}");
        if (gres && options.Gres is { } g) args.Add($"--gres={g}");
        args.AddRange(options.Extra);
    }

    private string RunScript(PlanFileRun run, RunFolder folder)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append($"# Generated by `meddistill pipeline submit`: {run.Stage} {run.Key.ReplaceLineEndings(" ")} (run {run.Id}).\n");
        sb.Append("# Run again (a requeue, a resubmission) it resumes from the run's last checkpoint; a finished run exits at once.\n");
        foreach (var (name, value) in run.Environment) sb.Append($"export {name}={ShellQuote(value)}\n");
        // --wait-for-lock: another graph invocation's job holding this run is waited for, not raced.
        sb.Append(string.Join(' ', options.Cli.Concat(run.Args).Append("--wait-for-lock").Select(ShellQuote))).Append('\n');
        sb.Append("rc=$?\n");
        // The key and folder go in single quotes: bash expands nothing in them.
        var failure = $"meddistill: run {run.Id} ({run.Key}) failed with exit code ";
        sb.Append($"[ \"$rc\" -eq 0 ] || echo {ShellQuote(failure)}\"$rc\"{ShellQuote("; log: " + folder.Path + "/slurm-")}\"${{SLURM_JOB_ID:-?}}\".log >&2\n");
        sb.Append("exit \"$rc\"\n");
        return sb.ToString();
    }

    private string TablesScript()
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append($"# Generated by `meddistill pipeline submit`: the tables of {plan.Paper} {plan.Profile}, after every run's job ended.\n");
        sb.Append("rc=0\n");
        // First which runs failed and where their logs are, then the tables (their missing cells say the same per cell).
        sb.Append(string.Join(' ', options.Cli.Concat(["pipeline", "status", "--plan-dir", planDir]).Select(ShellQuote))).Append(" || rc=$?\n");
        foreach (var table in plan.Tables)
        {
            IEnumerable<string> args = options.TablesOut is { } o ? [.. table, "--out", o] : table;
            sb.Append(string.Join(' ', options.Cli.Concat(args).Select(ShellQuote))).Append(" || rc=$?\n");
        }
        sb.Append("exit \"$rc\"\n");
        return sb.ToString();
    }

    /// <summary>Submits (or, in a dry run, prints) one job; returns its id (a shell variable in a dry run).</summary>
    private string Sbatch(List<string> args, string what)
    {
        if (options.DryRun)
        {
            var variable = "JOB_" + what.Replace('-', '_');
            // Dependencies on jobs of this dry run read as the variables the printed lines assign.
            say($"{variable}=$({string.Join(' ', new[] { options.Sbatch }.Concat(args).Select(ShellQuoteKeepingVariables))})");
            return "$" + variable;
        }
        var (code, stdout, stderr) = Execute(options.Sbatch, args);
        var id = stdout.Trim().Split('\n')[^1].Split(';')[0].Trim();
        if (code != 0 || id.Length == 0 || !id.All(char.IsAsciiDigit))
            throw new IOException($"sbatch failed for {what} (exit code {code}): {FirstLine(stderr, stdout)}; command: {options.Sbatch} {string.Join(' ', args.Select(ShellQuote))}");
        say($"submitted  {what,-16}  job {id}{(args.FirstOrDefault(a => a.StartsWith("--dependency=", StringComparison.Ordinal)) is { } d ? $" ({d[2..]})" : "")}");
        return id;
    }

    /// <summary>Run ids of this user's pending or running pipeline jobs, with their job ids.</summary>
    private Dictionary<string, string> QueuedRuns()
    {
        var (code, stdout, stderr) = Execute(options.Squeue, ["--noheader", "--me", "--format=%i|%j|%T"]);
        if (code != 0) throw new IOException($"{options.Squeue} --me failed (exit code {code}): {FirstLine(stderr, stdout)}");
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            if (parts.Length < 3 || !parts[1].StartsWith(JobPrefix, StringComparison.Ordinal) || parts[1].Length < JobPrefix.Length + 16) continue;
            var run = parts[1].Substring(JobPrefix.Length, 16);
            if (RunStore.IsRunId(run) && parts[1] == JobName(plan.RunsDir, run) && parts[2] is "PENDING" or "RUNNING" or "CONFIGURING" or "SUSPENDED" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED")
                found[run] = parts[0];
        }
        return found;
    }

    private static string FirstLine(string a, string b) => (a.Trim().Length > 0 ? a : b).Trim().Split('\n')[0];

    internal static (int Code, string Stdout, string Stderr) Execute(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new IOException($"{program} did not start"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"cannot run {program}: {e.Message} (is Slurm's client installed here? Debian: apt-get install slurm-client)");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout, stderr.Result);
        }
    }

    /// <summary>A word for bash: bare when it is plainly safe, else in single quotes.</summary>
    public static string ShellQuote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    private static string ShellQuoteKeepingVariables(string s) =>
        s.Contains('$') && s.StartsWith("--dependency=", StringComparison.Ordinal) ? s : ShellQuote(s);
}

using System.CommandLine;
using System.Text.RegularExpressions;
using MedDistill.Experiments.Runs;

namespace MedDistill.Cli.Slurm;

/// <summary>
/// <c>meddistill pipeline submit</c> (a plan folder's runs as Slurm jobs) and <c>meddistill pipeline status</c> (each
/// run's state, with the log of a failed one), the cluster path of the reproduction graph; docs/pipeline.md, "Slurm".
/// </summary>
public static partial class SlurmCommands
{
    public static Command Submit()
    {
        var planDir = PlanDirOption();
        var partition = new Option<string?>("--partition") { Description = "Slurm partition of every job" };
        var gres = new Option<string>("--gres") { Description = "Generic resources of each run's job ('none' for CPU partitions)", DefaultValueFactory = _ => "gpu:1" };
        var time = new Option<string?>("--time") { Description = "Time limit of each job, Slurm's format (HH:MM:SS, D-HH:MM:SS); a run stopped by it resumes when resubmitted" };
        var account = new Option<string?>("--account") { Description = "Slurm account to charge" };
        var extra = new Option<string[]>("--sbatch-option") { Description = "Another sbatch option for every job, e.g. --sbatch-option=--qos=high (repeatable)", AllowMultipleArgumentsPerToken = false };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the sbatch commands (and write the job scripts); submit nothing" };
        var tablesOut = new Option<string?>("--tables-out") { Description = "Folder for the tables (default: paper-tables/<paper>/<profile>/)" };
        var sbatch = new Option<string>("--sbatch") { Description = "The sbatch program", DefaultValueFactory = _ => "sbatch" };
        var squeue = new Option<string>("--squeue") { Description = "The squeue program (finds jobs of another submission for the same runs)", DefaultValueFactory = _ => "squeue" };
        var cli = new Option<string?>("--cli") { Description = "The meddistill program the compute nodes run (default: this one, through dotnet; it must be on the shared file system)" };
        var command = new Command("submit", "Submit a plan folder's unfinished runs as Slurm jobs (students after their teacher), then the tables")
        {
            planDir, partition, gres, time, account, extra, dryRun, tablesOut, sbatch, squeue, cli,
        };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var dir = Path.GetFullPath(parse.GetValue(planDir)!);
            var plan = PlanFile.Read(dir);
            if (parse.GetValue(time) is { } t && !TimeFormat().IsMatch(t))
                throw new ArgumentException($"--time '{t}': use Slurm's format, e.g. 02:00:00 or 1-00:00:00");
            var g = parse.GetValue(gres)!;
            var options = new SlurmOptions
            {
                Partition = parse.GetValue(partition), Gres = g is "none" or "" ? null : g, Time = parse.GetValue(time), Account = parse.GetValue(account),
                Extra = parse.GetValue(extra) ?? [], DryRun = parse.GetValue(dryRun),
                TablesOut = parse.GetValue(tablesOut) is { } o ? Path.GetFullPath(o) : null,
                Sbatch = parse.GetValue(sbatch)!, Squeue = parse.GetValue(squeue)!,
                Cli = parse.GetValue(cli) is { } c ? [Path.GetFullPath(c)] : DefaultCli(),
            };
            new SlurmSubmitter(plan, dir, options, Console.WriteLine).Submit();
            return CliHost.ExitOk;
        }));
        return command;
    }

    public static Command Status()
    {
        var planDir = PlanDirOption();
        var command = new Command("status", "Each run of a plan folder: finished, running, failed (with its log) or waiting; exit 1 unless all are finished") { planDir };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var dir = Path.GetFullPath(parse.GetValue(planDir)!);
            var plan = PlanFile.Read(dir);
            var submission = SlurmSubmission.TryRead(dir);
            var store = new RunStore(plan.RunsDir);
            var failed = new HashSet<string>(StringComparer.Ordinal);
            int finished = 0, open = 0;
            foreach (var run in plan.Runs)
            {
                var folder = store.Folder(run.Id);
                var job = submission?.Jobs.FirstOrDefault(j => j.Run == run.Id);
                var log = LatestLog(folder, job);
                var state = folder.ReadState();
                var logText = $"log {log ?? "(none yet)"}";
                (string word, string detail) = folder.EffectiveStatus() switch
                {
                    RunStatus.Finished when folder.IsFinished => ("finished", ""),
                    RunStatus.Failed => ("FAILED", $"{state.Error}; {logText}"),
                    RunStatus.Running => ("running", $"step {state.Step}/{state.TotalSteps}; {logText}"),
                    RunStatus.Interrupted => ("interrupted", $"at step {state.Step}/{state.TotalSteps} (resumes when resubmitted); {logText}"),
                    _ when run.Teacher is { } t && failed.Contains(t) => ("not-run", $"its teacher {t} failed"),
                    // A job that failed before the run wrote its state (a missing teacher, a bad path) has only its log to show.
                    _ when log is not null && ScriptFailure(log) is { } why => ("FAILED", $"{why}; {logText}"),
                    _ when log is not null => ("started", logText),
                    _ => ("waiting", job?.JobId is { } id ? $"job {id}" : ""),
                };
                if (word == "finished") finished++;
                else
                {
                    open++;
                    if (word == "FAILED") failed.Add(run.Id);
                }
                Console.WriteLine($"{word,-12} {run.Id}  {run.Key}{(detail.Length > 0 ? "  " + detail : "")}");
            }
            Console.WriteLine($"status {plan.Paper} {plan.Profile}: {plan.Runs.Count} runs: {finished} finished, {failed.Count} failed, {open - failed.Count} not finished"
                + (submission?.TablesLog is { } tl && File.Exists(tl) ? $"; tables log {tl}" : ""));
            return open == 0 ? CliHost.ExitOk : CliHost.ExitFailure;
        }));
        return command;
    }

    private static Option<string> PlanDirOption() =>
        new("--plan-dir") { Description = "Plan folder written by pipeline plan (build/obj/<paper>/<profile>)", Required = true };

    /// <summary>The log of the run's job in the last submission, else the newest Slurm log in its folder.</summary>
    private static string? LatestLog(RunFolder folder, SlurmJob? job)
    {
        if (job?.Log is { } l && File.Exists(l)) return l;
        if (!Directory.Exists(folder.Path)) return null;
        return Directory.EnumerateFiles(folder.Path, "slurm-*.log").OrderBy(File.GetLastWriteTimeUtc).LastOrDefault();
    }

    /// <summary>The job script's own failure line (it names the exit code), with the CLI's error line before it when there is one.</summary>
    private static string? ScriptFailure(string log)
    {
        var lines = File.ReadAllLines(log);
        int at = Array.FindLastIndex(lines, l => l.Contains(" failed with exit code ", StringComparison.Ordinal) && l.StartsWith("meddistill: run ", StringComparison.Ordinal));
        if (at < 0) return null;
        var cause = Array.FindLastIndex(lines, at, l => l.StartsWith("meddistill: ", StringComparison.Ordinal) && !l.StartsWith("meddistill: run ", StringComparison.Ordinal));
        return cause >= 0 ? lines[cause]["meddistill: ".Length..] : lines[at]["meddistill: ".Length..];
    }

    /// <summary>This CLI as a compute node starts it: the published program itself, or dotnet with this meddistill.dll.</summary>
    internal static IReadOnlyList<string> DefaultCli()
    {
        var process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "meddistill") return [process];
        var dll = Path.Combine(AppContext.BaseDirectory, "meddistill.dll");
        var host = process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        return [host, dll];
    }

    [GeneratedRegex(@"^(\d+-)?\d+(:\d{1,2}){0,2}$")]
    private static partial Regex TimeFormat();
}

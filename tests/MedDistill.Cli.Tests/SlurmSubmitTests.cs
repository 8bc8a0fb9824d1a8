using System.Text.Json;
using MedDistill.Cli.Slurm;
using MedDistill.Experiments.Runs;

namespace MedDistill.Cli.Tests;

/// <summary>
/// <c>pipeline submit</c> and <c>pipeline status</c> without a cluster: stand-in sbatch and squeue scripts record every
/// call and hand out job ids, so the tests read exactly what Slurm would have been asked. (SlurmClusterTests runs the
/// same commands against a real one-node Slurm.)
/// </summary>
[NonParallelizable]
[Category("Slurm")]
public class SlurmSubmitTests
{
    private string root = "";
    private string PlanDir => Path.Combine(root, "plan");
    private string RunsDir => Path.Combine(root, "runs");
    private string Fake => Path.Combine(root, "fake");

    [SetUp]
    public void Plan()
    {
        root = Directory.CreateTempSubdirectory("md-slurm-submit-").FullName;
        Directory.CreateDirectory(Fake);
        // Each call: its arguments NUL-separated in call-<id>, then the id (from 101) on stdout, as sbatch --parsable does.
        WriteScript("sbatch", """
            #!/bin/bash
            dir="$(dirname "$0")"
            [ -f "$dir/fail" ] && { echo "sbatch: error: invalid partition specified" >&2; exit 1; }
            n=$(( $(cat "$dir/count" 2>/dev/null || echo 100) + 1 )); echo "$n" > "$dir/count"
            printf '%s\0' "$@" > "$dir/call-$n"
            echo "$n"
            """);
        WriteScript("squeue", """
            #!/bin/bash
            cat "$(dirname "$0")/queue" 2>/dev/null; exit 0
            """);
        // The ACW-SKD smoke profile's FLARE table: a U-Net teacher, students distilled from it and students without one.
        var (code, _, stderr) = CliRunner.Run("pipeline", "plan", "--paper", "acw-skd", "--profile", "smoke", "--tables", "flare",
            "--out", PlanDir, "--runs-dir", RunsDir, "--data-dir", Path.Combine(root, "data"));
        Assert.That(code, Is.EqualTo(0), stderr);
    }

    [TearDown]
    public void Remove() => Directory.Delete(root, recursive: true);

    private void WriteScript(string name, string text)
    {
        var path = Path.Combine(Fake, name);
        File.WriteAllText(path, text.Replace("\r\n", "\n") + "\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
    }

    private (int code, string stdout, string stderr) Submit(params string[] extra) =>
        CliRunner.Run(["pipeline", "submit", "--plan-dir", PlanDir, "--sbatch", Path.Combine(Fake, "sbatch"), "--squeue", Path.Combine(Fake, "squeue"), .. extra]);

    /// <summary>The recorded sbatch calls, by job id.</summary>
    private SortedDictionary<int, string[]> Calls() => new(Directory.EnumerateFiles(Fake, "call-*").ToDictionary(
        f => int.Parse(Path.GetFileName(f)["call-".Length..], System.Globalization.CultureInfo.InvariantCulture),
        f => File.ReadAllText(f).TrimEnd('\0').Split('\0')));

    private static string? Dependency(string[] call) => call.FirstOrDefault(a => a.StartsWith("--dependency=", StringComparison.Ordinal))?["--dependency=".Length..];

    [Test]
    public void EveryRunIsOneJob_StudentsAfterTheirTeacher_TablesAfterAll()
    {
        var plan = PlanFile.Read(PlanDir);
        Assert.That(plan.Runs.Count(r => r.Teacher is not null), Is.GreaterThan(0), "the table has distilled students");
        var (code, stdout, stderr) = Submit("--partition", "debug", "--time", "00:10:00", "--account", "lab", "--sbatch-option=--qos=low", "--tables-out", Path.Combine(root, "tables"));
        Assert.That(code, Is.EqualTo(0), stderr);
        var calls = Calls();
        Assert.That(calls, Has.Count.EqualTo(plan.Runs.Count + 1), "one job per run and the tables' job");
        var jobOf = new Dictionary<string, int>();
        foreach (var (run, (job, call)) in plan.Runs.Zip(calls))
        {
            jobOf[run.Id] = job;
            Assert.That(call, Does.Contain("--parsable").And.Contain("--requeue").And.Contain($"--job-name={SlurmSubmitter.JobName(RunsDir, run.Id)}")
                .And.Contain("--partition=debug").And.Contain("--time=00:10:00").And.Contain("--account=lab").And.Contain("--qos=low")
                .And.Contain("--gres=gpu:1").And.Contain($"--output={Path.Combine(RunsDir, run.Id, "slurm-%j.log")}"), run.Key);
            Assert.That(Dependency(call), Is.EqualTo(run.Teacher is { } t ? $"afterok:{jobOf[t]}" : null), run.Key);
            var script = File.ReadAllText(call[^1]);
            Assert.That(call[^1], Is.EqualTo(Path.Combine(PlanDir, "slurm", run.Id + ".sh")));
            Assert.That(script, Does.Contain(run.Args[0] + " " + run.Spec).And.Contain("--wait-for-lock").And.Contain("export OPENBLAS_NUM_THREADS=1")
                .And.Contain($"--runs-dir {RunsDir}"), run.Key);
            Assert.That(Directory.Exists(Path.Combine(RunsDir, run.Id)), "Slurm writes the log there");
        }
        var tables = calls.Last().Value;
        Assert.That(Dependency(tables), Is.EqualTo("afterany:" + string.Join(':', jobOf.Values)));
        Assert.That(tables, Does.Not.Contain("--gres=gpu:1").And.Not.Contain("--requeue"));
        var tablesScript = File.ReadAllText(tables[^1]);
        Assert.That(tablesScript, Does.Contain($"pipeline status --plan-dir {PlanDir}").And.Contain($"tables acw-skd flare --profile smoke --runs-dir {RunsDir}")
            .And.Contain($"--out {Path.Combine(root, "tables")}"));
        Assert.That(stdout, Does.Contain($"submitted: {plan.Runs.Count} runs of acw-skd smoke: {plan.Runs.Count} submitted, 0 already queued, 0 finished"));

        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(PlanDir, SlurmSubmission.FileName)));
        Assert.That(record.RootElement.GetProperty("jobs").GetArrayLength(), Is.EqualTo(plan.Runs.Count));
        Assert.That(record.RootElement.GetProperty("tablesJob").GetString(), Is.EqualTo(calls.Last().Key.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void FinishedRunsAreNotResubmitted_TheirStudentsWaitForNothing_QueuedRunsAreNotQueuedTwice()
    {
        var plan = PlanFile.Read(PlanDir);
        var teacher = plan.Runs.First(r => plan.Runs.Any(s => s.Teacher == r.Id));
        // The local graph's rule: a finished marker not older than the spec.
        Directory.CreateDirectory(Path.Combine(RunsDir, teacher.Id));
        File.WriteAllText(Path.Combine(RunsDir, teacher.Id, RunFolder.FinishedMarker), "");
        var queuedStudent = plan.Runs.First(r => r.Teacher == teacher.Id);
        // Only a job of this runs folder stands in for a run: the same run id queued for another folder does not.
        var other = plan.Runs.Last(r => r.Id != queuedStudent.Id && r.Id != teacher.Id);
        File.WriteAllText(Path.Combine(Fake, "queue"), $"555|{SlurmSubmitter.JobName(RunsDir, queuedStudent.Id)}|RUNNING\n"
            + $"556|{SlurmSubmitter.JobName(Path.Combine(root, "elsewhere"), other.Id)}|PENDING\n557|someone-else|PENDING\n");

        var (code, stdout, stderr) = Submit("--gres", "none");
        Assert.That(code, Is.EqualTo(0), stderr);
        var calls = Calls().Values.ToList();
        Assert.That(calls, Has.Count.EqualTo(plan.Runs.Count - 2 + 1));
        Assert.That(calls.SelectMany(c => c).Any(a => a.Contains(teacher.Id, StringComparison.Ordinal) || a.Contains(queuedStudent.Id, StringComparison.Ordinal)), Is.False);
        Assert.That(calls.Take(calls.Count - 1).Select(Dependency), Is.All.Null, "the finished teacher gives its students nothing to wait for");
        Assert.That(calls.SelectMany(c => c), Has.None.StartsWith("--gres"));
        Assert.That(Dependency(calls[^1]), Does.StartWith("afterany:").And.Contain("555"));
        Assert.That(stdout, Does.Contain($"queued     {queuedStudent.Id}").And.Contain("1 already queued, 1 finished"));
    }

    [Test]
    public void DryRunPrintsTheSbatchCommands_AndSubmitsNothing()
    {
        var plan = PlanFile.Read(PlanDir);
        var (code, stdout, stderr) = Submit("--dry-run", "--partition", "gpu");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(Calls(), Is.Empty);
        Assert.That(File.Exists(Path.Combine(PlanDir, SlurmSubmission.FileName)), Is.False);
        var student = plan.Runs.First(r => r.Teacher is not null);
        Assert.That(stdout, Does.Contain($"JOB_{student.Teacher}=$(").And.Contain($"--dependency=afterok:$JOB_{student.Teacher}")
            .And.Contain("--partition=gpu").And.Contain("--dependency=afterany:$JOB_").And.Contain("dry run (nothing submitted)"));
    }

    [Test]
    public void ASlurmErrorNamesTheCommand_AndABadTimeIsAUsageError()
    {
        File.WriteAllText(Path.Combine(Fake, "fail"), "");
        var (code, _, stderr) = Submit("--partition", "nowhere");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("sbatch failed").And.Contain("invalid partition specified").And.Contain("--partition=nowhere"));
        (code, _, stderr) = Submit("--time", "two hours");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--time 'two hours'"));
        (code, _, stderr) = CliRunner.Run("pipeline", "submit", "--plan-dir", Path.Combine(root, "nowhere"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("plan.json does not exist"));
    }

    [Test]
    public void StatusReportsAFailedRunWithItsLog_AndTheStudentsItHeldBack()
    {
        var plan = PlanFile.Read(PlanDir);
        Assert.That(Submit("--gres", "none").code, Is.EqualTo(0));
        var teacher = plan.Runs.First(r => plan.Runs.Any(s => s.Teacher == r.Id));
        var folder = new RunStore(RunsDir).Folder(teacher.Id);
        folder.WriteState(new RunState { Status = RunStatus.Failed, Error = "CUDA out of memory", Step = 2, TotalSteps = 3 });
        var job = Calls().First(c => c.Value.Contains($"--job-name={SlurmSubmitter.JobName(RunsDir, teacher.Id)}")).Key;
        var log = Path.Combine(folder.Path, $"slurm-{job}.log");
        File.WriteAllText(log, "meddistill: CUDA out of memory\n");

        var (code, stdout, _) = CliRunner.Run("pipeline", "status", "--plan-dir", PlanDir);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stdout, Does.Contain($"FAILED       {teacher.Id}  {teacher.Key}  CUDA out of memory; log {log}"));
        foreach (var student in plan.Runs.Where(r => r.Teacher == teacher.Id))
            Assert.That(stdout, Does.Contain($"not-run      {student.Id}").And.Contain($"its teacher {teacher.Id} failed"));
        Assert.That(stdout, Does.Contain($"{plan.Runs.Count} runs: 0 finished, 1 failed"));
    }
}

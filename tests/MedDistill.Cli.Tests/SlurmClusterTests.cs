using System.Diagnostics;
using MedDistill.Cli.Slurm;
using MedDistill.Experiments.Runs;

namespace MedDistill.Cli.Tests;

/// <summary>
/// The cluster path against a real one-node Slurm started here (<see cref="SlurmCluster"/>): a smoke profile's graph
/// through sbatch, and a job cancelled mid-run and resubmitted, or requeued by Slurm, that ends with the bytes of an
/// uninterrupted run. Skipped,
/// with the reason, where Slurm cannot start (not root, no packages).
/// </summary>
[NonParallelizable]
[Category("Slurm")]
public class SlurmClusterTests
{
    // The smallest honest graph: ACW-SKD's FLARE table on the smoke profile, a teacher with students distilled from it
    // (afterok) beside students without one, then the table.
    private const string Paper = "acw-skd", Table = "flare";

    private SlurmCluster? cluster;
    private string whyNot = "";
    private string root = "";

    [OneTimeSetUp]
    public void StartSlurm()
    {
        var clock = Stopwatch.StartNew();
        cluster = SlurmCluster.TryStart(out whyNot);
        TestContext.Progress.WriteLine(cluster is null ? $"Slurm: not started: {whyNot}" : $"Slurm: one node up in {clock.Elapsed.TotalSeconds:0} s ({cluster.Conf})");
        root = Directory.CreateTempSubdirectory("md-slurm-cluster-").FullName;
    }

    [OneTimeTearDown]
    public void StopSlurm()
    {
        cluster?.Dispose();
        Directory.Delete(root, recursive: true);
    }

    private SlurmCluster Cluster => cluster ?? throw new IgnoreException($"no Slurm on this machine: {whyNot}");

    private static void Ok((int code, string stdout, string stderr) r, string what) => Assert.That(r.code, Is.EqualTo(0), $"{what}: {r.stderr}{r.stdout}");

    private void WaitForQueue(TimeSpan timeout) =>
        Assert.That(Cluster.WaitForEmptyQueue(timeout), $"the jobs did not end within {timeout}: {Cluster.Describe()}");

    /// <summary>A tiny prostate phantom and its 32×32 cache, made once for the tests that train single runs.</summary>
    private string ProstateData()
    {
        var data = Path.Combine(root, "prostate");
        if (Directory.Exists(Path.Combine(data, "cache"))) return data;
        Ok(CliRunner.Run("data", "phantom", "--data-dir", data, "--cases-per-site", "2", "--min-slices", "6", "--max-slices", "8", "--matrix-scale", "0.35"), "phantom");
        Ok(CliRunner.Run("data", "preprocess", "phantom-prostate", "--data-dir", data, "--size", "32"), "preprocess");
        return data;
    }

    [Test]
    public void AFailedRunIsReportedWithItsLog_ItsStudentIsNotRun_AndAnUnrelatedRunFinishes()
    {
        _ = Cluster;
        var data = ProstateData();
        var (plan, runs) = (Path.Combine(root, "failing"), Path.Combine(root, "failing-runs"));
        string[] quick = ["train", "--model", "enet", "--width", "0.25", "--epochs", "1", "--batch-size", "16", "--target", "S2", "--workers", "0", "--data-dir", data];
        var printed = CliRunner.Run([.. quick, "--print-spec"]);
        Ok(printed, "print-spec");
        var unrelated = printed.stdout.Trim().Split('\n')[^1]["run id: ".Length..];
        Directory.CreateDirectory(plan);
        var spec = Path.Combine(plan, "spec.json");
        File.WriteAllText(spec, "{}");
        const string teacher = "00000000000000aa", student = "00000000000000bb";
        var environment = new Dictionary<string, string>();
        new PlanFile
        {
            Paper = "affinity-kd", Profile = "smoke", RunsDir = runs, DataDir = data, Tables = [],
            Runs =
            [
                // A teacher whose spec names no network: the CLI stops with exit code 2 before training.
                new PlanFileRun(teacher, "teacher/broken", "teacher", null, spec, ["train", "--model", "no-such-net", "--runs-dir", runs, "--data-dir", data], environment),
                new PlanFileRun(student, "distill/after-broken", "student", teacher, spec, ["train", "--print-spec"], environment),
                new PlanFileRun(unrelated, "student/enet/S2", "student", null, spec, [.. quick, "--runs-dir", runs], environment),
            ],
        }.Write(plan);
        Ok(CliRunner.Run("pipeline", "submit", "--plan-dir", plan, "--gres", "none"), "submit");
        // The student's job can never start: Slurm cancels it (--kill-on-invalid-dep) instead of keeping it pending.
        WaitForQueue(TimeSpan.FromMinutes(2));

        var (code, stdout, _) = CliRunner.Run("pipeline", "status", "--plan-dir", plan);
        Assert.That(code, Is.EqualTo(1));
        var log = SlurmSubmission.TryRead(plan)!.Jobs.First(j => j.Run == teacher).Log;
        Assert.That(stdout, Does.Contain($"FAILED       {teacher}  teacher/broken  model.name: unknown model 'no-such-net'").And.Contain($"log {log}"));
        Assert.That(stdout, Does.Contain($"not-run      {student}").And.Contain($"finished     {unrelated}"));
        Assert.That(Directory.EnumerateFiles(Path.Combine(runs, student)), Is.Empty, "the student's job never ran");
        Assert.That(File.ReadAllText(SlurmSubmission.TryRead(plan)!.TablesLog!), Does.Contain("1 failed"), "the tables job ran after all and listed it");
    }

    [Test]
    public void TheSmokeGraphRunsThroughSbatch_StudentsAfterTheirTeacher_ThenTheTable()
    {
        _ = Cluster;
        var clock = Stopwatch.StartNew();
        var (data, runs, plan, tables) = (Path.Combine(root, "data"), Path.Combine(root, "runs"), Path.Combine(root, "plan"), Path.Combine(root, "tables"));
        string[] paper = ["--paper", Paper, "--profile", "smoke"];
        Ok(CliRunner.Run(["pipeline", "fetch", .. paper, "--data-dir", data]), "fetch");
        Ok(CliRunner.Run(["pipeline", "prepare", .. paper, "--data-dir", data]), "prepare");
        Ok(CliRunner.Run(["pipeline", "plan", .. paper, "--tables", Table, "--out", plan, "--runs-dir", runs, "--data-dir", data]), "plan");
        var planned = PlanFile.Read(plan);
        Assert.That(planned.Runs.Count(r => r.Teacher is not null), Is.GreaterThan(0));

        var submit = CliRunner.Run("pipeline", "submit", "--plan-dir", plan, "--gres", "none", "--time", "00:20:00", "--tables-out", tables);
        Ok(submit, "submit");
        Assert.That(submit.stdout, Does.Contain($"{planned.Runs.Count} submitted, 0 already queued, 0 finished"));
        WaitForQueue(TimeSpan.FromMinutes(5));

        var status = CliRunner.Run("pipeline", "status", "--plan-dir", plan);
        Assert.That(status.code, Is.EqualTo(0), status.stdout);
        Assert.That(status.stdout, Does.Contain($"{planned.Runs.Count} runs: {planned.Runs.Count} finished, 0 failed"));
        var store = new RunStore(runs);
        foreach (var student in planned.Runs.Where(r => r.Teacher is not null))
        {
            // environment.json is written when a training session starts: after the teacher's finished marker.
            var started = File.GetLastWriteTimeUtc(store.Folder(student.Id).EnvironmentPath);
            Assert.That(started, Is.GreaterThanOrEqualTo(File.GetLastWriteTimeUtc(store.Folder(student.Teacher!).FinishedMarkerPath)), student.Key);
        }
        var record = SlurmSubmission.TryRead(plan)!;
        Assert.That(File.ReadAllText(record.TablesLog!), Does.Contain("wrote ").And.Contain($"{Table}.csv"));
        Assert.That(File.Exists(Path.Combine(tables, $"{Table}.csv")));

        // Submitted again: every run is finished, so only the table's job goes to Slurm.
        var again = CliRunner.Run("pipeline", "submit", "--plan-dir", plan, "--gres", "none", "--tables-out", tables);
        Ok(again, "second submit");
        Assert.That(again.stdout, Does.Contain($"0 submitted, 0 already queued, {planned.Runs.Count} finished"));
        WaitForQueue(TimeSpan.FromMinutes(1));
        TestContext.Progress.WriteLine($"Slurm smoke graph ({planned.Runs.Count} runs of {Paper} {Table}): {clock.Elapsed.TotalSeconds:0} s");
    }

    [Test]
    public void AJobCancelledMidRunAndSubmittedAgain_OrRequeued_EndsWithTheBytesOfAnUninterruptedRun()
    {
        var slurm = Cluster;
        var data = ProstateData();
        // Long enough (several seconds of steps) for a cancel to land mid-run; a resume point after every step.
        string[] train = ["train", "--model", "enet", "--width", "0.25", "--epochs", "30", "--batch-size", "16", "--target", "S3",
            "--workers", "0", "--checkpoint-every", "1", "--threads", "1", "--data-dir", data];
        var printed = CliRunner.Run([.. train, "--print-spec"]);
        Ok(printed, "print-spec");
        var id = printed.stdout.Trim().Split('\n')[^1]["run id: ".Length..];

        string PlanFor(string name)
        {
            var dir = Path.Combine(root, name);
            Directory.CreateDirectory(dir);
            var spec = Path.Combine(dir, "spec.json");
            File.WriteAllText(spec, printed.stdout[..printed.stdout.LastIndexOf("run id:", StringComparison.Ordinal)]);
            var runs = Path.Combine(root, name + "-runs");
            new PlanFile
            {
                Paper = "affinity-kd", Profile = "smoke", RunsDir = runs, DataDir = data, Tables = [],
                // Not --quiet: the job's log then says where the run resumed.
                Runs = [new PlanFileRun(id, "teacher/enet/S3", "teacher", null, spec, [.. train, "--runs-dir", runs], new Dictionary<string, string> { ["OPENBLAS_NUM_THREADS"] = "1" })],
            }.Write(dir);
            return dir;
        }
        var (cancelled, whole, requeued) = (PlanFor("cancelled"), PlanFor("whole"), PlanFor("requeued"));
        Ok(CliRunner.Run("pipeline", "submit", "--plan-dir", whole, "--gres", "none"), "submit the uninterrupted run");
        Ok(CliRunner.Run("pipeline", "submit", "--plan-dir", cancelled, "--gres", "none"), "submit the run to cancel");
        var job = SlurmSubmission.TryRead(cancelled)!.Jobs.Single().JobId!;
        var folder = new RunStore(Path.Combine(root, "cancelled-runs")).Folder(id);

        Assert.That(SlurmCluster.WaitFor(() => File.Exists(folder.LastCheckpointPath), TimeSpan.FromMinutes(2)), $"no checkpoint: {slurm.Describe()}");
        Assert.That(SlurmCluster.Run("scancel", [job], false).Code, Is.EqualTo(0));
        Assert.That(SlurmCluster.WaitFor(() => !slurm.Queue().Contains(job), TimeSpan.FromMinutes(1)), $"job {job} was not cancelled: {slurm.Describe()}");
        Assert.That(File.Exists(folder.ModelPath), Is.False, "the run ended before the cancel landed: make it longer");
        var stoppedAt = folder.ReadState().Step;
        Assert.That(folder.EffectiveStatus(), Is.EqualTo(RunStatus.Interrupted));

        var resubmit = CliRunner.Run("pipeline", "submit", "--plan-dir", cancelled, "--gres", "none");
        Ok(resubmit, "resubmit");
        var second = SlurmSubmission.TryRead(cancelled)!.Jobs.Single().JobId!;
        Assert.That(second, Is.Not.EqualTo(job));
        WaitForQueue(TimeSpan.FromMinutes(4));

        Assert.That(File.ReadAllText(Path.Combine(folder.Path, $"slurm-{second}.log")), Does.Contain("resuming at step"));
        var wholeDir = Path.Combine(root, "whole-runs", id);
        foreach (var file in new[] { "model.safetensors", "checkpoints/last.safetensors", "metrics.json" })
            Assert.That(File.ReadAllBytes(Path.Combine(folder.Path, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(wholeDir, file))), file);
        TestContext.Progress.WriteLine($"cancelled at step {stoppedAt} of {folder.ReadState().TotalSteps}, resumed by job {second}: byte-identical");

        // The scheduler's own restart (preemption, node failure): the same job, requeued, runs its script again.
        Ok(CliRunner.Run("pipeline", "submit", "--plan-dir", requeued, "--gres", "none"), "submit the run to requeue");
        var third = SlurmSubmission.TryRead(requeued)!.Jobs.Single().JobId!;
        var again = new RunStore(Path.Combine(root, "requeued-runs")).Folder(id);
        Assert.That(SlurmCluster.WaitFor(() => File.Exists(again.LastCheckpointPath), TimeSpan.FromMinutes(2)), $"no checkpoint: {slurm.Describe()}");
        var requeue = SlurmCluster.Run("scontrol", ["requeue", third], false);
        Assert.That(requeue.Code, Is.EqualTo(0), requeue.Stderr);
        // Slurm holds a requeued job back (its begin time moves on by minutes); make it eligible now.
        var requeuedAt = Stopwatch.StartNew();
        SlurmCluster.WaitFor(() => SlurmCluster.Run("squeue", ["--noheader", "--job", third, "--format=%T"], false).Stdout.Trim() == "PENDING", TimeSpan.FromSeconds(30));
        SlurmCluster.Run("scontrol", ["update", $"JobId={third}", "StartTime=now"], false);
        WaitForQueue(TimeSpan.FromMinutes(4));
        TestContext.Progress.WriteLine($"requeued job {third} ran again and finished {requeuedAt.Elapsed.TotalSeconds:0} s after the requeue");
        Assert.That(File.ReadAllText(Path.Combine(again.Path, $"slurm-{third}.log")), Does.Contain("resuming at step"), "one log, appended by both tries");
        foreach (var file in new[] { "model.safetensors", "checkpoints/last.safetensors", "metrics.json" })
            Assert.That(File.ReadAllBytes(Path.Combine(again.Path, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(wholeDir, file))), "requeued: " + file);
    }
}

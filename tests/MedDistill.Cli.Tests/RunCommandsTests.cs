using System.Text.Json;

namespace MedDistill.Cli.Tests;

/// <summary>train / distill / evaluate / runs through the real command tree, on a tiny phantom made by the CLI itself.</summary>
[NonParallelizable]
public class RunCommandsTests
{
    private string root = "";
    private string DataDir => Path.Combine(root, "data");
    private string RunsDir => Path.Combine(root, "runs");

    private string[] Where(params string[] args) => [.. args, "--data-dir", DataDir, "--runs-dir", RunsDir];

    // A 1-epoch quarter-width run on the 32×32 phantom: a couple of seconds.
    private static readonly string[] Quick = ["--width", "0.25", "--epochs", "1", "--batch-size", "16", "--target", "S2", "--workers", "0"];

    [OneTimeSetUp]
    public void MakeData()
    {
        root = Directory.CreateTempSubdirectory("md-cli-runs-").FullName;
        var phantom = CliRunner.Run("data", "phantom", "--data-dir", DataDir, "--cases-per-site", "2", "--min-slices", "6", "--max-slices", "8", "--matrix-scale", "0.35");
        Assert.That(phantom.code, Is.EqualTo(0), phantom.stderr);
        var cache = CliRunner.Run("data", "preprocess", "phantom-prostate", "--data-dir", DataDir, "--size", "32");
        Assert.That(cache.code, Is.EqualTo(0), cache.stderr);
    }

    [OneTimeTearDown]
    public void Remove() => Directory.Delete(root, recursive: true);

    private static string IdOf(string stdout) =>
        JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("run").GetString()!;

    [Test]
    public void TrainThenDistillThenEvaluate_AndRerunsDoNothing()
    {
        var teacher = CliRunner.Run(Where(["train", "--model", "unet", "--width", "0.125", "--epochs", "1", "--batch-size", "16", "--target", "S2", "--workers", "0", "--json"]));
        Assert.That(teacher.code, Is.EqualTo(0), teacher.stderr);
        var teacherId = IdOf(teacher.stdout);
        Assert.That(File.Exists(Path.Combine(RunsDir, teacherId, "metrics.json")));

        var student = CliRunner.Run(Where(["distill", "--teacher", teacherId, "--model", "enet", "--terms", "lm+aam", .. Quick, "--json"]));
        Assert.That(student.code, Is.EqualTo(0), student.stderr);
        using (var doc = JsonDocument.Parse(student.stdout.Trim().Split('\n')[^1]))
        {
            Assert.That(doc.RootElement.GetProperty("outcome").GetString(), Is.EqualTo("Finished"));
            Assert.That(doc.RootElement.GetProperty("sites").TryGetProperty("BMC", out _), "target S2 is BMC");
        }
        var studentId = IdOf(student.stdout);
        Assert.That(File.ReadAllLines(Path.Combine(RunsDir, studentId, "log.csv"))[0], Does.EndWith("dice,focal,lm,aam"));

        var again = CliRunner.Run(Where(["distill", "--teacher", teacherId, "--model", "enet", "--terms", "lm+aam", .. Quick]));
        Assert.That(again.code, Is.EqualTo(0));
        Assert.That(again.stderr, Does.Contain("nothing to do"));
        Assert.That(again.stdout, Does.Contain($"run {studentId}: alreadyfinished"));

        var evaluate = CliRunner.Run(Where(["evaluate", studentId, "--force"]));
        Assert.That(evaluate.code, Is.EqualTo(0), evaluate.stderr);
        Assert.That(evaluate.stdout, Does.Contain("BMC").And.Contain("hd95"));

        var list = CliRunner.Run("runs", "list", "--runs-dir", RunsDir);
        Assert.That(list.stdout, Does.Contain(teacherId).And.Contain(studentId).And.Contain("affinity-kd"));
    }

    [Test]
    public void AProcessKilledMidRunResumesToTheSameWeights()
    {
        string[] args = ["train", "--model", "enet", "--width", "0.25", "--epochs", "12", "--batch-size", "16", "--target", "S3",
            "--workers", "0", "--checkpoint-every", "1", "--data-dir", DataDir];
        var killedRuns = Path.Combine(root, "killed-runs");
        var cli = Path.Combine(AppContext.BaseDirectory, "meddistill.dll");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args.Concat(["--runs-dir", killedRuns])) psi.ArgumentList.Add(a);
        psi.ArgumentList.Insert(0, cli);
        using (var child = System.Diagnostics.Process.Start(psi)!)
        {
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, _) => { };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            // SIGKILL as soon as the first resume point exists: mid-epoch, with no chance to clean up.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!Directory.Exists(killedRuns) || !Directory.EnumerateFiles(killedRuns, "last.safetensors", SearchOption.AllDirectories).Any())
            {
                Assert.That(child.HasExited, Is.False, "the child finished or failed before it could be killed");
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMinutes(2)));
                Thread.Sleep(10);
            }
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        var runDir = Directory.GetDirectories(killedRuns).Single();
        Assert.That(File.Exists(Path.Combine(runDir, "model.safetensors")), Is.False, "killed before the end");
        var status = CliRunner.Run("runs", "list", "--runs-dir", killedRuns);
        Assert.That(status.stdout, Does.Contain("Interrupted"));

        var resumed = CliRunner.Run([.. args, "--runs-dir", killedRuns]);
        Assert.That(resumed.code, Is.EqualTo(0), resumed.stderr);
        Assert.That(resumed.stderr, Does.Contain("resuming at step"));
        var whole = CliRunner.Run([.. args, "--runs-dir", Path.Combine(root, "whole-runs")]);
        Assert.That(whole.code, Is.EqualTo(0), whole.stderr);
        var wholeDir = Directory.GetDirectories(Path.Combine(root, "whole-runs")).Single();
        Assert.That(Path.GetFileName(runDir), Is.EqualTo(Path.GetFileName(wholeDir)), "same spec, same run id");
        foreach (var file in new[] { "model.safetensors", "checkpoints/last.safetensors", "metrics.json" })
            Assert.That(File.ReadAllBytes(Path.Combine(runDir, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(wholeDir, file))), file);
    }

    [Test]
    public void PrintSpecShowsTheIdAndDoesNoWork()
    {
        var r = CliRunner.Run(Where(["train", "--model", "erfnet", .. Quick, "--print-spec"]));
        Assert.That(r.code, Is.EqualTo(0), r.stderr);
        Assert.That(r.stdout, Does.Contain("\"name\": \"erfnet\"").And.Contain("run id: "));
        var id = r.stdout.Trim().Split('\n')[^1]["run id: ".Length..];
        Assert.That(Directory.Exists(Path.Combine(RunsDir, id)), Is.False);
    }

    [Test]
    public void BadSpecsFailWithExitCode2NamingTheField()
    {
        var model = CliRunner.Run(Where(["train", "--model", "resnet50", .. Quick]));
        Assert.That(model.code, Is.EqualTo(2));
        Assert.That(model.stderr, Does.Contain("model.name: unknown model 'resnet50'"));
        var teacher = CliRunner.Run(Where(["distill", "--model", "enet", .. Quick]));
        Assert.That(teacher.code, Is.EqualTo(2));
        Assert.That(teacher.stderr, Does.Contain("teacher"));
        var set = CliRunner.Run(Where(["train", .. Quick, "--set", "schedule.optimiser=adam"]));
        Assert.That(set.code, Is.EqualTo(2));
        Assert.That(set.stderr, Does.Contain("optimiser"));
        var noData = CliRunner.Run(["train", .. Quick, "--data-dir", Path.Combine(root, "empty"), "--runs-dir", RunsDir]);
        Assert.That(noData.code, Is.EqualTo(2));
        Assert.That(noData.stderr, Does.Contain("data preprocess phantom-prostate"));
    }
}

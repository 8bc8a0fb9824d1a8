using System.Diagnostics;
using System.Text.Json;

namespace MedDistill.Cli.Tests;

/// <summary>
/// Two graph invocations over one runs folder (two shells, two cluster submissions) start the same run in two
/// processes at once: the run lock lets exactly one train it. Without --wait-for-lock the other stops with "in use"
/// (or finds it finished); with it (the cluster jobs' way) the other waits and then finds the run finished.
/// </summary>
[NonParallelizable]
[Category("Slurm")]
public class RunLockProcessTests
{
    private string root = "";
    private string DataDir => Path.Combine(root, "data");

    [OneTimeSetUp]
    public void MakeData()
    {
        root = Directory.CreateTempSubdirectory("md-run-lock-").FullName;
        var phantom = CliRunner.Run("data", "phantom", "--data-dir", DataDir, "--cases-per-site", "2", "--min-slices", "6", "--max-slices", "8", "--matrix-scale", "0.35");
        Assert.That(phantom.code, Is.EqualTo(0), phantom.stderr);
        var cache = CliRunner.Run("data", "preprocess", "phantom-prostate", "--data-dir", DataDir, "--size", "32");
        Assert.That(cache.code, Is.EqualTo(0), cache.stderr);
    }

    [OneTimeTearDown]
    public void Remove() => Directory.Delete(root, recursive: true);

    /// <summary>Starts the CLI as its own process (the lock is the OS's, per process).</summary>
    private static Process Start(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "meddistill.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static (int code, string stdout, string stderr) Finish(Process p)
    {
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        Assert.That(p.WaitForExit(TimeSpan.FromMinutes(3)), "the run finished");
        return (p.ExitCode, stdout, stderr.Result);
    }

    private string[] Args(string runs, long seed, bool wait) =>
        ["train", "--model", "enet", "--width", "0.25", "--epochs", "6", "--batch-size", "16", "--target", "S3", "--workers", "0",
         "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", DataDir, "--runs-dir", runs, "--json",
         .. wait ? new[] { "--wait-for-lock" } : []];

    [TestCase(false, 11)]
    [TestCase(true, 12)]
    public void TwoProcessesOnOneRun_TrainItOnce(bool wait, long seed)
    {
        var runs = Path.Combine(root, $"runs-{wait}");
        using var first = Start(Args(runs, seed, wait));
        using var second = Start(Args(runs, seed, wait));
        var results = new[] { Finish(first), Finish(second) };

        var outcomes = results.Select(r => r.code == 0 ? JsonDocument.Parse(r.stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("outcome").GetString() : "exit " + r.code).ToList();
        Assert.That(outcomes.Count(o => o == "Finished"), Is.EqualTo(1), string.Join(" | ", results.Select(r => r.stderr)));
        var other = results[outcomes.FindIndex(o => o != "Finished")];
        if (wait) Assert.That(outcomes, Does.Contain("AlreadyFinished"), "the waiting process found the run finished");
        else if (other.code != 0) Assert.That(other.stderr, Does.Contain("is in use by another process"));
        else Assert.That(outcomes, Does.Contain("AlreadyFinished"));

        // A training session appends to environment.json; the run was trained in one session, and its step log has each step once.
        var run = Directory.GetDirectories(runs).Single();
        using var sessions = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "environment.json")));
        Assert.That(sessions.RootElement.GetArrayLength(), Is.EqualTo(1));
        var steps = File.ReadAllLines(Path.Combine(run, "log.csv")).Skip(1).Select(l => l.Split(',')[0]).ToList();
        Assert.That(steps, Is.Unique);
    }
}

using System.Diagnostics;

namespace MedDistill.Cli.Tests;

/// <summary>
/// <c>meddistill diff</c> end to end: two folders, and two commits of a throwaway git repository (the nightly's
/// "compare with the last good tables" and "diff HEAD~1 HEAD"). Exit codes: 0 no regression, 1 regression, 2 cannot compare.
/// </summary>
public class DiffCommandTests
{
    private const string Good =
        "model,S1,S2,mean\n" +
        "ENet,0.8000,0.7000,0.7500\n" +
        "ERFNet,0.6000,n/r,\n";

    // ENet S1 −0.0050 (changed), S2 −0.0200 (regressed), mean −0.0125 (regressed); ERFNet S1 +0.0500 (improved).
    private const string Worse =
        "model,S1,S2,mean\n" +
        "ENet,0.7950,0.6800,0.7375\n" +
        "ERFNet,0.6500,n/r,\n";

    private const string Table1 = "method,params\nENet,353761\n";

    private string root = "";

    [SetUp]
    public void MakeRoot() => root = Directory.CreateTempSubdirectory("md-diff-").FullName;

    [TearDown]
    public void RemoveRoot()
    {
        // git marks its objects read-only; clear that so the folder can be deleted on every OS.
        foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)) File.SetAttributes(f, FileAttributes.Normal);
        Directory.Delete(root, recursive: true);
    }

    private string Folder(string name, params (string File, string Csv)[] files)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        foreach (var (file, csv) in files) File.WriteAllText(Path.Combine(dir, file), csv);
        return dir;
    }

    [Test]
    public void Folders_WithoutRegression_ExitZero_AndPrintTheSummary()
    {
        var a = Folder("a", ("table2.csv", Good), ("table1.csv", Table1));
        var b = Folder("b", ("table2.csv", Good.Replace("0.8000", "0.8050")), ("table1.csv", "method,params\nENet,300000\n"),
            ("table2.compare.csv", "row,column,published,reproduced,delta\n"));

        var (code, stdout, stderr) = CliRunner.Run("diff", a, b);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain("| ENet | S1 | 0.8000 | 0.8050 | +0.0050 | changed |"));
            // Table 1 is informational: a big drop in parameters is a change, not a regression.
            Assert.That(stdout, Does.Contain("## table1 (informational)"));
            Assert.That(stdout, Does.Contain("| ENet | params | 353761 | 300000 | -53761 | changed |"));
            Assert.That(stdout, Does.Not.Contain("## table2.compare"), "the .compare.csv beside a table is not a table");
            // table1: 1 cell; table2: 2 rows × 3 columns.
            Assert.That(stdout, Does.Contain("**7 cells compared, 2 changed, 0 regressions**"));
            Assert.That(stderr, Is.Empty);
        });
    }

    [Test]
    public void Folders_WithRegression_ExitOne_LoudOnStderr()
    {
        var a = Folder("last-good", ("table2.csv", Good));
        var b = Folder("nightly", ("table2.csv", Worse));

        var (code, stdout, stderr) = CliRunner.Run("diff", a, b);
        Assert.That(code, Is.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain("| ENet | S2 | 0.7000 | 0.6800 | -0.0200 | **REGRESSED** |"));
            Assert.That(stdout, Does.Contain("| ENet | mean | 0.7500 | 0.7375 | -0.0125 | **REGRESSED** |"));
            Assert.That(stdout, Does.Contain("| ERFNet | S1 | 0.6000 | 0.6500 | +0.0500 | improved |"));
            Assert.That(stdout, Does.Contain("**6 cells compared, 4 changed, 2 regressions**"));
            Assert.That(stderr, Does.Contain("2 regressions"));
        });

        // A looser tolerance forgives the −0.02 drop.
        Assert.That(CliRunner.Run("diff", a, b, "--tolerance", "0.025").code, Is.EqualTo(0));
        // Restricting to the table that regressed keeps the failure.
        Assert.That(CliRunner.Run("diff", a, b, "--tables", "table2").code, Is.EqualTo(1));
    }

    [Test]
    public void LostCell_IsARegression()
    {
        var a = Folder("a", ("table2.csv", Good));
        var b = Folder("b", ("table2.csv", Good.Replace("ENet,0.8000", "ENet,")));
        var (code, stdout, _) = CliRunner.Run("diff", a, b, "--format", "csv");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stdout, Is.EqualTo("table,row,column,a,b,delta,status,regression\ntable2,ENet,S1,0.8000,,,removed,1\n"));
    }

    [Test]
    public void CsvFormat_ToAFile_AllCells()
    {
        var a = Folder("a", ("table2.csv", Good));
        var b = Folder("b", ("table2.csv", Worse));
        var report = Path.Combine(root, "out", "diff.csv");

        var (code, stdout, _) = CliRunner.Run("diff", a, b, "--format", "csv", "--all", "--out", report);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stdout, Is.EqualTo("6 cells compared, 4 changed, 2 regressions" + Environment.NewLine));
        Assert.That(File.ReadAllText(report), Is.EqualTo(
            "table,row,column,a,b,delta,status,regression\n" +
            "table2,ENet,S1,0.8000,0.7950,-0.0050,changed,0\n" +
            "table2,ENet,S2,0.7000,0.6800,-0.0200,regressed,1\n" +
            "table2,ENet,mean,0.7500,0.7375,-0.0125,regressed,1\n" +
            "table2,ERFNet,S1,0.6000,0.6500,+0.0500,improved,0\n" +
            "table2,ERFNet,S2,n/r,n/r,,same,0\n" +
            "table2,ERFNet,mean,,,,same,0\n"));
    }

    [Test]
    public void BadUsage_ExitsTwo_NamingTheProblem()
    {
        var a = Folder("a", ("table2.csv", Good));
        var notRepo = Folder("plain");

        var (code, _, stderr) = CliRunner.Run("diff", a, a, "--format", "xml");
        Assert.That(code, Is.EqualTo(2), "format outside markdown|csv");

        (code, _, stderr) = CliRunner.Run("diff", a, a, "--tolerance=-0.1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("tolerance"));

        (code, _, stderr) = CliRunner.Run("diff", a, a, "--tables", "table7");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("'table7'"));

        // Not a folder, so a revision; outside a repository that is an error naming the place, not a crash.
        (code, _, stderr) = CliRunner.Run("diff", a, Path.Combine(root, "no-such-folder"), "--repo", notRepo);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("not inside a git repository"));

        var broken = Folder("broken", ("table2.csv", "model,S1\nENet,0.5,0.6\n"));
        (code, _, stderr) = CliRunner.Run("diff", a, broken);
        Assert.That(code, Is.EqualTo(2), "an unreadable table is not a regression");
        Assert.That(stderr, Does.Contain("table2.csv"));
    }

    [Test]
    public void FolderDiff_NeedsNoRepository()
    {
        var a = Folder("a", ("table2.csv", Good));
        var (code, _, stderr) = CliRunner.Run("diff", a, a, "--repo", Folder("plain"));
        Assert.That(code, Is.EqualTo(0), stderr);
    }

    [Test]
    public void GitRevisions_HeadTildeOneAgainstHead()
    {
        var repo = Folder("repo");
        Git(repo, "init", "-q");
        Git(repo, "config", "user.name", "MedDistill Test");
        Git(repo, "config", "user.email", "test@meddistill.invalid");
        Git(repo, "config", "commit.gpgsign", "false");
        var tables = Path.Combine(repo, "paper-tables", "affinity-kd", "nightly");
        Directory.CreateDirectory(tables);
        File.WriteAllText(Path.Combine(tables, "table2.csv"), Good);
        File.WriteAllText(Path.Combine(tables, "table2.notes.md"), "notes\n");
        Git(repo, "add", "-A");
        Git(repo, "commit", "-q", "-m", "good tables");
        File.WriteAllText(Path.Combine(tables, "table2.csv"), Worse);
        Git(repo, "commit", "-q", "-am", "worse tables");

        const string path = "paper-tables/affinity-kd/nightly";
        var (code, stdout, stderr) = CliRunner.Run("diff", "HEAD~1", "HEAD", "--path", path, "--repo", repo);
        Assert.That(code, Is.EqualTo(1), stderr);
        Assert.That(stdout, Does.Contain("| ENet | S2 | 0.7000 | 0.6800 | -0.0200 | **REGRESSED** |"));
        Assert.That(stdout, Does.Contain("- A: revision HEAD~1 ("));
        Assert.That(stdout, Does.Contain("**6 cells compared, 4 changed, 2 regressions**"));

        // The other way round the drops are improvements and the 0.05 rise of ERFNet is now the only regression.
        (code, stdout, _) = CliRunner.Run("diff", "HEAD", "HEAD~1", "--path", path, "--repo", repo, "--format", "csv");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stdout, Does.Contain("table2,ERFNet,S1,0.6500,0.6000,-0.0500,regressed,1\n"));
        Assert.That(stdout, Does.Contain("table2,ENet,S2,0.6800,0.7000,+0.0200,improved,0\n"));

        // REV:path overrides --path; --repo may be any folder inside the repository.
        (code, _, stderr) = CliRunner.Run("diff", $"HEAD~1:{path}", $"HEAD~1:{path}/", "--repo", tables);
        Assert.That(code, Is.EqualTo(0), stderr);

        // WORKTREE reads the working copy: restoring the good table there makes HEAD~1 and WORKTREE equal.
        File.WriteAllText(Path.Combine(tables, "table2.csv"), Good);
        (code, stdout, stderr) = CliRunner.Run("diff", "HEAD~1", "WORKTREE", "--path", path, "--repo", repo);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("- B: working tree paper-tables/affinity-kd/nightly"));
        Assert.That(stdout, Does.Contain("**6 cells compared, 0 changed, 0 regressions**"));

        (code, _, stderr) = CliRunner.Run("diff", "no-such-rev", "HEAD", "--path", path, "--repo", repo);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("'no-such-rev'"));

        (code, _, stderr) = CliRunner.Run("diff", "HEAD~1", "HEAD", "--path", "paper-tables/other", "--repo", repo);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("paper-tables/other does not exist in revision HEAD~1"));

        (code, _, stderr) = CliRunner.Run("diff", "HEAD~1", "HEAD", "--path", $"{path}/table2.csv", "--repo", repo);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("is a file, not a folder"));
    }

    private static void Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(0), $"git {string.Join(' ', args)}: {err.Result}");
    }
}

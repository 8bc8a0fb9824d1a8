namespace MedDistill.Cli.Tests;

/// <summary>
/// The paper interface as the graph and build.sh use it: <c>papers</c> lists what the main job loops over, and the
/// pipeline steps and table commands take <c>--paper</c>, failing with the known papers and profiles for a wrong name.
/// </summary>
public class PaperCommandsTests
{
    private string dataDir = "";
    private string runsDir = "";

    [OneTimeSetUp]
    public void SmallPhantom()
    {
        dataDir = Directory.CreateTempSubdirectory("md-paper-data-").FullName;
        runsDir = Directory.CreateTempSubdirectory("md-paper-runs-").FullName;
        var (code, _, stderr) = CliRunner.Run("data", "phantom", "--data-dir", dataDir, "--cases-per-site", "1",
            "--min-slices", "4", "--max-slices", "5", "--matrix-scale", "0.5");
        Assert.That(code, Is.EqualTo(0), stderr);
    }

    [OneTimeTearDown]
    public void Clean()
    {
        Directory.Delete(dataDir, recursive: true);
        Directory.Delete(runsDir, recursive: true);
    }

    [Test]
    public void Papers_ListsIdsAndStaticTables_TheWayBuildShReadsThem()
    {
        var (code, stdout, _) = CliRunner.Run("papers", "--ids");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Does.Contain("affinity-kd"));

        (code, stdout, _) = CliRunner.Run("papers", "--static", "affinity-kd");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout.Trim(), Is.EqualTo("table1"));

        (code, stdout, _) = CliRunner.Run("papers");
        Assert.That(stdout, Does.Contain("profiles: phantom, smoke, paper, nightly (default phantom)"));
        Assert.That(stdout, Does.Contain("table1, table2, table3, table4; studies: sensitivity"));
    }

    [Test]
    public void AnUnknownPaperOrProfile_IsASetupError_NamingWhatIsKnown()
    {
        var (code, _, stderr) = CliRunner.Run("papers", "--static", "no-such-paper");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("'no-such-paper' is not known; known: affinity-kd"));

        (code, _, stderr) = CliRunner.Run("pipeline", "plan", "--paper", "no-such-paper", "--dry-run", "--runs-dir", runsDir, "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("known: affinity-kd"));

        (code, _, stderr) = CliRunner.Run("pipeline", "plan", "--paper", "affinity-kd", "--profile", "huge", "--dry-run", "--runs-dir", runsDir, "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("'huge' is not a profile of affinity-kd; known: phantom, smoke, paper, nightly"));
    }

    [Test]
    public void PrepareThenDryRun_GoThroughThePaper_AndCountItsRuns()
    {
        var (code, stdout, stderr) = CliRunner.Run("pipeline", "prepare", "--paper", "affinity-kd", "--profile", "smoke", "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("phantom-prostate-32: built 6, reused 0"));

        (code, stdout, stderr) = CliRunner.Run("pipeline", "plan", "--paper", "affinity-kd", "--profile", "smoke", "--dry-run",
            "--runs-dir", runsDir, "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(0), stderr);
        // Six targets: 2 teachers + 3 students w/o + 6 students w/ Affinity-KD (Table 2), EMKD and MSKD (Table 3) and
        // six more ablation rows (Table 4) per target: 19 runs each.
        Assert.That(stdout, Does.Contain("dry run: 114 runs: 114 to run, 0 to resume, 0 finished; then the tables of affinity-kd, profile smoke"));
        Assert.That(stdout, Does.Contain("cache").And.Contain("exists (6 cases)"));

        (code, stdout, stderr) = CliRunner.Run("pipeline", "plan", "--paper", "affinity-kd", "--profile", "smoke", "--tables", "table2", "--dry-run",
            "--runs-dir", runsDir, "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("dry run: 66 runs"));
    }

    [Test]
    public void ATableWithoutFinishedRuns_SaysWhichCellsAreMissing_AndExitsOne()
    {
        var output = Directory.CreateTempSubdirectory("md-paper-tables-").FullName;
        try
        {
            var (code, stdout, stderr) = CliRunner.Run("tables", "affinity-kd", "table4", "--profile", "smoke", "--runs-dir", runsDir,
                "--data-dir", dataDir, "--out", output);
            Assert.That(code, Is.EqualTo(1), stderr);
            Assert.That(stderr, Does.Contain("table4:").And.Contain("cells have no finished run").And.Contain("--paper affinity-kd --profile smoke"));
            Assert.That(stdout, Does.Contain("wrote ").And.Contain("table4.csv"));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>
    /// The graph is XML MSBuild loads before anything runs: it must parse, keep its targets, and hand every pipeline
    /// step and table command the paper, so that a second paper is a property, not an edit.
    /// </summary>
    [Test]
    public void ThePipelineProject_Parses_AndPassesThePaperToEveryStep()
    {
        var project = System.Xml.Linq.XDocument.Load(DataCommandsTests.RepoFile("build/pipeline.proj"));
        var targets = project.Root!.Elements("Target").Select(t => (string)t.Attribute("Name")!).ToList();
        Assert.That(targets, Is.SupersetOf(new[] { "Fetch", "Prepare", "Plan", "Runs", "Tables", "Study", "Sensitivity", "DryRun", "Table2" }));
        var commands = project.Descendants("Exec").Select(e => (string)e.Attribute("Command")!).ToList();
        Assert.That(commands.Where(c => c.Contains("pipeline ", StringComparison.Ordinal)), Has.All.Contains("$(PaperArgs)"));
        Assert.That(commands.Where(c => c.Contains(" tables ", StringComparison.Ordinal)), Has.All.Contains("tables $(Paper) "));
        Assert.That(string.Concat(commands), Does.Not.Contain("affinity-kd"), "no paper is named in the graph itself");
    }

    /// <summary>
    /// The main job's papers share one progress manifest: `pipeline graph` joins their plans' manifests, and a plan made
    /// with `--graph-dir` points every run's progress at it.
    /// </summary>
    [Test]
    public void SeveralPlans_ShareOneProgressManifest()
    {
        var work = Directory.CreateTempSubdirectory("md-paper-graph-").FullName;
        try
        {
            string affinity = Path.Combine(work, "affinity"), acw = Path.Combine(work, "acw"), job = Path.Combine(work, "job");
            var (code, _, stderr) = CliRunner.Run("pipeline", "plan", "--paper", "affinity-kd", "--profile", "smoke", "--tables", "table3",
                "--out", affinity, "--runs-dir", runsDir, "--data-dir", dataDir, "--graph-dir", job);
            Assert.That(code, Is.EqualTo(0), stderr);
            (code, _, stderr) = CliRunner.Run("pipeline", "plan", "--paper", "acw-skd", "--profile", "smoke", "--out", acw, "--runs-dir", runsDir, "--data-dir", dataDir);
            Assert.That(code, Is.EqualTo(0), stderr);
            var (merged, stdout, err) = CliRunner.Run("pipeline", "graph", "--out", job, "--jobs", "2", affinity, acw);
            Assert.That(merged, Is.EqualTo(0), err);
            // Table 3 alone: T1, ENet w/o, ENet w/ Affinity-KD, EMKD, MSKD = 5 runs per target, 30 for six; ACW-SKD: 11 per
            // data set (Synapse, FLARE22, M2caiSeg), 33.
            Assert.That(stdout, Does.Contain("graph: 63 runs of 2 plans"));
            var manifest = MedDistill.Experiments.Runs.GraphManifest.TryRead(job)!;
            Assert.That((manifest.Runs.Count, manifest.Jobs), Is.EqualTo((63, 2)));
            var project = File.ReadAllText(Directory.GetFiles(Path.Combine(affinity, "runs"), "*.proj")[0]);
            Assert.That(project, Does.Contain($"--graph &quot;{job}&quot;"), "runs report against the shared manifest");
            (code, _, stderr) = CliRunner.Run("pipeline", "graph", "--out", job, Path.Combine(work, "nowhere"));
            Assert.That(code, Is.EqualTo(2));
            Assert.That(stderr, Does.Contain("no plan's graph.json"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

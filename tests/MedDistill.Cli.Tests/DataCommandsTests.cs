using System.Text.Json;

namespace MedDistill.Cli.Tests;

/// <summary>
/// The data path a new user takes on a machine without real data: status lists every manifest dataset, the phantom is
/// generated, inspected through the same readers as real data, and preprocessed into the cache.
/// </summary>
public class DataCommandsTests
{
    private string dataDir = "";

    [OneTimeSetUp]
    public void GenerateSmallPhantom()
    {
        dataDir = Directory.CreateTempSubdirectory("md-cli-").FullName;
        var (code, stdout, stderr) = CliRunner.Run("data", "phantom", "--data-dir", dataDir, "--cases-per-site", "1",
            "--min-slices", "4", "--max-slices", "5", "--matrix-scale", "0.5");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("wrote 6 cases of 6 sites"));
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(dataDir, recursive: true);

    [Test]
    public void Status_ListsEveryManifestDataset_AndThePhantomAsPresent()
    {
        var manifestDatasets = File.ReadLines(RepoFile("data-manifest.csv")).Skip(1)
            .Select(l => l.Split(',')[0]).Distinct().ToList();
        Assert.That(manifestDatasets, Has.Count.GreaterThanOrEqualTo(12));

        var (code, stdout, stderr) = CliRunner.Run("data", "status", "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(0), stderr);
        foreach (var d in manifestDatasets)
            Assert.That(stdout, Does.Match($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(d)}\s+missing\b"), d);
        Assert.That(stdout, Does.Match(@"(?m)^\s*phantom-prostate\s+present\b"));
    }

    [Test]
    public void Phantom_RerunWithSameOptions_WritesNothing()
    {
        var (code, stdout, _) = CliRunner.Run("data", "phantom", "--data-dir", dataDir, "--cases-per-site", "1",
            "--min-slices", "4", "--max-slices", "5", "--matrix-scale", "0.5");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("is up to date"));
    }

    [Test]
    public void Inspect_PhantomLabel_ReportsBinaryLabelCountsThatSumToTheVoxels()
    {
        var label = Directory.GetFiles(Path.Combine(dataDir, "phantom-prostate", "RUNMC"), "*_Segmentation.nii.gz").Single();
        var (code, stdout, stderr) = CliRunner.Run("inspect", label);
        Assert.That(code, Is.EqualTo(0), stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("nifti"));
        var shape = root.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.That(shape, Has.Length.EqualTo(3));
        long voxels = shape.Aggregate(1L, (a, b) => a * b);
        var labels = root.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.That(labels.Keys, Is.EquivalentTo(new[] { "0", "1" }));
        Assert.That(labels.Values.Sum(), Is.EqualTo(voxels));
        Assert.That(root.GetProperty("sum").GetDouble(), Is.EqualTo(labels["1"]));
    }

    [Test]
    public void Inspect_NotAnImage_FailsWithOneLineNamingTheFile()
    {
        var bogus = Path.Combine(dataDir, "notes.txt");
        File.WriteAllText(bogus, "not an image");
        var (code, stdout, stderr) = CliRunner.Run("inspect", bogus);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.Contain(bogus));
    }

    [Test]
    public void Preprocess_Phantom_BuildsThenReuses()
    {
        var cache = Path.Combine(dataDir, "cache-test");
        var first = CliRunner.Run("data", "preprocess", "phantom-prostate", "--data-dir", dataDir, "--cache", cache, "--size", "32", "--json");
        Assert.That(first.code, Is.EqualTo(0), first.stderr);
        using (var json = JsonDocument.Parse(first.stdout))
        {
            Assert.That(json.RootElement.GetProperty("cases").GetInt32(), Is.EqualTo(6));
            Assert.That(json.RootElement.GetProperty("built").GetInt32(), Is.EqualTo(6));
        }
        Assert.That(File.Exists(Path.Combine(cache, "index.json")));
        var second = CliRunner.Run("data", "preprocess", "phantom-prostate", "--data-dir", dataDir, "--cache", cache, "--size", "32", "--json");
        using (var json = JsonDocument.Parse(second.stdout))
        {
            Assert.That(json.RootElement.GetProperty("built").GetInt32(), Is.EqualTo(0));
            Assert.That(json.RootElement.GetProperty("reused").GetInt32(), Is.EqualTo(6));
        }
    }

    [TestCase("abdomen", 30)]
    [TestCase("flare", 4)]
    public void Preprocess_AbdomenPhantoms_AreBuiltInAndBuildACache(string kind, int cases)
    {
        var dir = Path.Combine(dataDir, "abdomen-cli");
        var extra = kind == "flare" ? new[] { "--cases", "4" } : [];
        var made = CliRunner.Run(["data", "phantom", kind, "--data-dir", dir, "--size", "16", "--slices", "4", .. extra]);
        Assert.That(made.code, Is.EqualTo(0), made.stderr);
        var status = CliRunner.Run("data", "status", "--data-dir", dir);
        Assert.That(status.stdout, Does.Match($@"(?m)^\s*phantom-{kind}\s+present\b"));
        var run = CliRunner.Run("data", "preprocess", $"phantom-{kind}", "--data-dir", dir, "--size", "16", "--json");
        Assert.That(run.code, Is.EqualTo(0), run.stderr);
        using var json = JsonDocument.Parse(run.stdout);
        Assert.That(json.RootElement.GetProperty("cases").GetInt32(), Is.EqualTo(cases));
    }

    [Test]
    public void Preprocess_TheLaparoscopyPhantom_CachesEveryFrameWithThreeChannels()
    {
        var dir = Path.Combine(dataDir, "laparoscopy-cli");
        var made = CliRunner.Run("data", "phantom", "laparoscopy", "--data-dir", dir, "--size", "32", "--frames", "6");
        Assert.That(made.code, Is.EqualTo(0), made.stderr);
        var run = CliRunner.Run("data", "preprocess", "phantom-laparoscopy", "--data-dir", dir, "--size", "16", "--json");
        Assert.That(run.code, Is.EqualTo(0), run.stderr);
        using var json = JsonDocument.Parse(run.stdout);
        Assert.That(json.RootElement.GetProperty("cases").GetInt32(), Is.EqualTo(6 + 2 + 1), "train, test (a third) and trainval (a sixth)");
        var index = MedDistill.Data.Preprocessing.CacheIndex.Read(Path.Combine(dir, "cache", "phantom-laparoscopy"));
        Assert.That(index.Cases.Select(c => c.ImageChannels), Is.All.EqualTo(3));
        Assert.That(index.Lists!["test"], Is.EqualTo(new[] { "test/1", "test/2" }));
    }

    [Test]
    public void Preprocess_UnknownDataset_IsAUsageError()
    {
        var (code, _, stderr) = CliRunner.Run("data", "preprocess", "no-such-set", "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("phantom-prostate"));
    }

    internal static string RepoFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, name)) && File.Exists(Path.Combine(dir.FullName, "MedDistill.sln")))
                return Path.Combine(dir.FullName, name);
        throw new FileNotFoundException($"{name} not found above {AppContext.BaseDirectory}");
    }
}

using System.Text.Json;

namespace MedDistill.Cli.Tests;

/// <summary><c>meddistill data phantom fundus</c>, <c>data status</c> listing it, and <c>inspect</c> on its PPM.gz, TIFF and GIF files.</summary>
public class FundusPhantomCommandTests
{
    private string dataDir = "";

    [OneTimeSetUp]
    public void Generate()
    {
        dataDir = Directory.CreateTempSubdirectory("md-cli-fundus-").FullName;
        var (code, stdout, stderr) = CliRunner.Run(["data", "phantom", "fundus", "--scale", "0.0625", "--data-dir", dataDir]);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.StartWith("wrote 216 files"), "28 × 2 CHASE_DB1 + 20 × 2 STARE + 40 × 3 DRIVE");
        (code, stdout, _) = CliRunner.Run(["data", "phantom", "fundus", "--scale", "0.0625", "--data-dir", dataDir]);
        Assert.That(stdout, Does.Contain("up to date"));
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(dataDir, recursive: true);

    [TestCase("STARE/stare-images/im0044.ppm.gz", "ppm", new[] { 38, 44, 3 })]
    [TestCase("DRIVE/test/images/20_test.tif", "tiff", new[] { 36, 35, 3 })]
    [TestCase("DRIVE/training/1st_manual/40_manual1.gif", "gif", new[] { 36, 35 })]
    [TestCase("CHASE_DB1/Image_14R_1stHO.png", "png", new[] { 60, 62 })]
    public void Inspect_ReadsEveryFormat(string file, string format, int[] shape)
    {
        var (code, stdout, stderr) = CliRunner.Run(["inspect", Path.Combine(dataDir, "phantom-fundus", file)]);
        Assert.That(code, Is.EqualTo(0), stderr);
        var info = JsonDocument.Parse(stdout).RootElement;
        Assert.That(info.GetProperty("format").GetString(), Is.EqualTo(format));
        Assert.That(info.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(shape));
    }

    [Test]
    public void DataStatus_ListsTheFundusPhantom()
    {
        var (code, stdout, stderr) = CliRunner.Run(["data", "status", "--data-dir", dataDir]);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("phantom-fundus"));
    }

    [Test]
    public void ScaleOnAnotherPhantom_IsRefused()
    {
        var (code, _, stderr) = CliRunner.Run(["data", "phantom", "abdomen", "--scale", "0.5", "--data-dir", dataDir]);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr, Does.Contain("--scale"));
    }

    [Test]
    public void Preprocess_BuildsTheCacheWithItsLists()
    {
        var (code, stdout, stderr) = CliRunner.Run(["data", "preprocess", "phantom-fundus", "--data-dir", dataDir, "--size", "32", "--json"]);
        Assert.That(code, Is.EqualTo(0), stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.That(report.GetProperty("cases").GetInt32(), Is.EqualTo(88));
        var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dataDir, "cache", "phantom-fundus", "index.json"))).RootElement;
        Assert.That(index.GetProperty("lists").GetProperty("train").GetArrayLength(), Is.GreaterThan(0));
    }
}

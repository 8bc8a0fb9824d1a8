using System.Text.Json;

namespace MedDistill.Cli.Tests;

/// <summary><c>meddistill data phantom liver</c>, <c>data status</c> listing it, and <c>inspect</c> on its DICOM, PNG and NIfTI files.</summary>
public class LiverPhantomCommandTests
{
    private string dataDir = "";

    [OneTimeSetUp]
    public void Generate()
    {
        dataDir = Directory.CreateTempSubdirectory("md-cli-liver-").FullName;
        var (code, stdout, stderr) = CliRunner.Run(["data", "phantom", "liver", "--size", "32", "--slices", "4", "--cases", "2", "--data-dir", dataDir]);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.StartWith("wrote 20 files"), "2 CHAOS patients × 4 slices × (dcm + png) + 2 LiTS × 2 NIfTI");
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(dataDir, recursive: true);

    [TestCase("CHAOS/Train_Sets/CT/2/DICOM_anon/i0003,0000b.dcm", "dicom", new[] { 32, 32 })]
    [TestCase("CHAOS/Train_Sets/CT/1/Ground/liver_GT_001.png", "png", new[] { 32, 32 })]
    [TestCase("LiTS/segmentation-1.nii", "nifti", new[] { 4, 32, 32 })]
    public void Inspect_ReadsEveryFormat(string file, string format, int[] shape)
    {
        var (code, stdout, stderr) = CliRunner.Run(["inspect", Path.Combine(dataDir, "phantom-liver", file)]);
        Assert.That(code, Is.EqualTo(0), stderr);
        var info = JsonDocument.Parse(stdout).RootElement;
        Assert.That(info.GetProperty("format").GetString(), Is.EqualTo(format));
        Assert.That(info.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(shape));
    }

    [Test]
    public void DataStatus_ListsTheLiverPhantom()
    {
        var (code, stdout, stderr) = CliRunner.Run(["data", "status", "--data-dir", dataDir]);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("phantom-liver"));
    }

    [Test]
    public void Preprocess_BuildsTheCacheWithItsLists()
    {
        var (code, stdout, stderr) = CliRunner.Run(["data", "preprocess", "phantom-liver", "--data-dir", dataDir, "--size", "32", "--json"]);
        Assert.That(code, Is.EqualTo(0), stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.That(report.GetProperty("cases").GetInt32(), Is.EqualTo(4));
        var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dataDir, "cache", "phantom-liver", "index.json"))).RootElement;
        Assert.That(index.GetProperty("lists").GetProperty("train").GetArrayLength(), Is.GreaterThan(0));
    }
}

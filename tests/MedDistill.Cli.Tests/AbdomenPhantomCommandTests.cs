using System.Text.Json;

namespace MedDistill.Cli.Tests;

/// <summary>
/// <c>meddistill data phantom abdomen|flare|laparoscopy</c> and <c>meddistill inspect</c> on what they write: the npz
/// slices, the Synapse .npy.h5 volumes, FLARE's NIfTI pairs and M2caiSeg's JPEG frames with colour-coded PNG masks.
/// </summary>
public class AbdomenPhantomCommandTests
{
    private string dataDir = "";

    [OneTimeSetUp]
    public void Generate()
    {
        dataDir = Directory.CreateTempSubdirectory("md-cli-abd-").FullName;
        foreach (var args in new[]
        {
            new[] { "abdomen", "--size", "32", "--slices", "6" },
            ["flare", "--size", "32", "--slices", "6", "--cases", "3"],
            ["laparoscopy", "--size", "64", "--frames", "6"],
        })
        {
            var (code, stdout, stderr) = CliRunner.Run(["data", "phantom", .. args, "--data-dir", dataDir]);
            Assert.That(code, Is.EqualTo(0), stderr);
            Assert.That(stdout, Does.StartWith("wrote "), args[0]);
        }
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(dataDir, recursive: true);

    private static JsonElement Inspect(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(["inspect", .. args]);
        Assert.That(code, Is.EqualTo(0), stderr);
        return JsonDocument.Parse(stdout).RootElement;
    }

    [Test]
    public void Inspect_NpzSlice_PrintsShapeDtypeRangeAndLabels()
    {
        var file = Path.Combine(dataDir, "phantom-abdomen", "train_npz", "case0005_slice003.npz");
        var image = Inspect(file, "--key", "image");
        Assert.That(image.GetProperty("format").GetString(), Is.EqualTo("npz"));
        Assert.That(image.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 32, 32 }));
        Assert.That(image.GetProperty("dtype").GetString(), Is.EqualTo("float32"));
        Assert.That(image.GetProperty("min").GetDouble(), Is.EqualTo(0));
        Assert.That(image.GetProperty("max").GetDouble(), Is.LessThanOrEqualTo(1));
        var label = Inspect(file, "--key", "label");
        var classes = label.GetProperty("labels").EnumerateObject().Select(p => int.Parse(p.Name)).ToArray();
        Assert.That(classes, Does.Contain(0).And.Contain(5), "background and liver in a mid slice");
        Assert.That(classes.Max(), Is.LessThanOrEqualTo(8));
    }

    [Test]
    public void Inspect_SynapseH5_PrintsVolumeShapeAndAllEightOrgans()
    {
        var label = Inspect(Path.Combine(dataDir, "phantom-abdomen", "test_vol_h5", "case0008.npy.h5"), "--key", "label");
        Assert.That(label.GetProperty("format").GetString(), Is.EqualTo("hdf5"));
        Assert.That(label.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 6, 32, 32 }));
        Assert.That(label.GetProperty("labels").EnumerateObject().Count(), Is.GreaterThanOrEqualTo(6));
    }

    [Test]
    public void Inspect_FlareLabel_CountsOrgansUpTo13()
    {
        var label = Inspect(Path.Combine(dataDir, "phantom-flare", "labelsTr", "FLARE22_Tr_0001.nii.gz"));
        Assert.That(label.GetProperty("dtype").GetString(), Is.EqualTo("uint8"));
        Assert.That(label.GetProperty("labels").EnumerateObject().Select(p => int.Parse(p.Name)).Max(), Is.InRange(1, 13));
        Assert.That(label.GetProperty("labels").TryGetProperty("1", out _), Is.True, "liver");
    }

    [Test]
    public void Inspect_LaparoscopyFrameAndMask()
    {
        var frame = Inspect(Path.Combine(dataDir, "phantom-laparoscopy", "train", "images", "1.jpg"));
        Assert.That(frame.GetProperty("format").GetString(), Is.EqualTo("jpeg"));
        Assert.That(frame.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 36, 64, 3 }));
        Assert.That(frame.GetProperty("dtype").GetString(), Is.EqualTo("uint8"));
        var mask = Inspect(Path.Combine(dataDir, "phantom-laparoscopy", "train", "groundtruth", "1_gt.png"));
        Assert.That(mask.GetProperty("palette").GetString(), Is.EqualTo("m2caiseg"));
        Assert.That(mask.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 36, 64 }));
        Assert.That(mask.GetProperty("classes").EnumerateArray().Select(e => e.GetString()), Does.Contain("grasper"), "frame 1 shows instrument class 1");
    }

    [Test]
    public void Rerun_WritesNothing_AndBadCombinationsAreUsageErrors()
    {
        var (code, stdout, _) = CliRunner.Run("data", "phantom", "abdomen", "--size", "32", "--slices", "6", "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("is up to date"));
        Assert.That(CliRunner.Run("data", "phantom", "kidney", "--data-dir", dataDir).code, Is.EqualTo(2));
        Assert.That(CliRunner.Run("data", "phantom", "abdomen", "--cases", "4", "--data-dir", dataDir).code, Is.EqualTo(2));
        Assert.That(CliRunner.Run("data", "phantom", "prostate", "--size", "32", "--data-dir", dataDir).code, Is.EqualTo(2));
        Assert.That(CliRunner.Run("data", "phantom", "flare", "--cases-per-site", "1", "--data-dir", dataDir).code, Is.EqualTo(2));
    }
}

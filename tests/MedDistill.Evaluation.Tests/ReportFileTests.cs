using static MedDistill.Evaluation.Tests.Rows;

namespace MedDistill.Evaluation.Tests;

public class ReportFileTests
{
    private string folder = "";

    [SetUp]
    public void MakeFolder()
    {
        folder = Path.Combine(Path.GetTempPath(), "md-eval-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
    }

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    private static readonly CaseMetrics[] SampleRows =
    [
        Row("RUNMC", "Case01", 0.1, 1.0 / 3, asd: 0.87654321, hd: 12.5),
        Row("BMC", "Case07", 0.91, double.NaN, asd: double.NaN, hd: double.NaN, prediction: 0, intersection: 0),
        Row("BMC", "Case02", 0.85, 4.25, classLabel: 2),
        Row("BMC", "Case02", 0.88, 3.5),
    ];

    private static readonly Dictionary<string, string> SampleMetadata = new()
    {
        ["seed"] = "42", ["commit"] = "4aac8fc", ["device"] = "cpu", ["runId"] = "kd-2024",
    };

    private static MetricsReport Sample() =>
        MetricsReport.Create(SampleRows, SampleMetadata, new MetricsOptions { EmptyMaskDistance = EmptyMaskDistance.NaN });

    [Test]
    public void JsonRoundTripKeepsEveryValue()
    {
        var path = Path.Combine(folder, "metrics.json");
        var report = Sample();
        report.Write(path);
        var back = MetricsReport.Read(path);

        Assert.That(back.Cases, Is.EqualTo(report.Cases), "rows, NaN included, bit for bit");
        Assert.That(back.PerSite, Is.EqualTo(report.PerSite));
        Assert.That(back.Overall, Is.EqualTo(report.Overall));
        Assert.That(back.Metadata, Is.EqualTo(report.Metadata));
        Assert.That(back.EmptyMaskDistance, Is.EqualTo(EmptyMaskDistance.NaN));
        Assert.That(back.Cases.Single(r => r.CaseId == "Case01").Hd95, Is.EqualTo(1.0 / 3), "round-trip double");
        Assert.That(back.ToJson(), Is.EqualTo(File.ReadAllText(path)));
    }

    [Test]
    public void JsonIsDeterministicAndSorted()
    {
        var json = Sample().ToJson();
        var reordered = MetricsReport.Create(SampleRows.Reverse(),
            SampleMetadata.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value),
            new MetricsOptions { EmptyMaskDistance = EmptyMaskDistance.NaN });
        Assert.That(reordered.ToJson(), Is.EqualTo(json), "evaluation order must not change the file");

        // Rows by site, case, class (ordinal); metadata by key; NaN as null; shortest round-trip doubles; "\n" line ends.
        Assert.That(json.IndexOf("\"Case02\"", StringComparison.Ordinal), Is.LessThan(json.IndexOf("\"Case07\"", StringComparison.Ordinal)));
        Assert.That(json.IndexOf("\"Case07\"", StringComparison.Ordinal), Is.LessThan(json.IndexOf("\"Case01\"", StringComparison.Ordinal)));
        Assert.That(json.IndexOf("\"commit\"", StringComparison.Ordinal), Is.LessThan(json.IndexOf("\"device\"", StringComparison.Ordinal)));
        Assert.That(json, Does.Contain("\"hd95\": null"));
        Assert.That(json, Does.Contain("\"dice\": 0.1,"));
        Assert.That(json, Does.Not.Match(@":\s*-?(NaN|Infinity)"), "JSON has no NaN literal");
        Assert.That(json, Does.Not.Contain("\r"));
        Assert.That(json, Does.StartWith("{\n  \"format\": \"meddistill-metrics/1\","));
    }

    [Test]
    public void WriteIsAtomicAndLeavesNoTemporaryFiles()
    {
        var path = Path.Combine(folder, "metrics.json");
        File.WriteAllText(path, "old");
        Sample().Write(path);
        Sample().WriteCasesCsv(Path.Combine(folder, "cases.csv"));
        Assert.That(Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "cases.csv", "metrics.json" }));
        Assert.That(File.ReadAllText(path), Does.StartWith("{"));

        // A failing rename (the target is a folder) must still clean up the temporary file.
        var blocked = Path.Combine(folder, "blocked.json");
        Directory.CreateDirectory(blocked);
        Assert.That(() => Sample().Write(blocked), Throws.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>());
        Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "cases.csv", "metrics.json" }));
    }

    private InvalidDataException ReadBroken(Func<string, string> edit)
    {
        var path = Path.Combine(folder, "metrics.json");
        File.WriteAllText(path, edit(Sample().ToJson()));
        var error = Assert.Throws<InvalidDataException>(() => MetricsReport.Read(path))!;
        Assert.That(error.Message, Does.Contain(path));
        return error;
    }

    [Test]
    public void MissingFieldIsNamed()
    {
        // The second row (BMC/Case02 class 2) loses its dice.
        var error = ReadBroken(json => ReplaceOnce(json, "\"dice\": 0.85,", ""));
        Assert.That(error.Message, Does.Contain("'$.cases[1].dice'"));
        Assert.That(error.Message, Does.Contain("missing"));
    }

    [Test]
    public void WrongTypeIsNamed()
    {
        var error = ReadBroken(json => ReplaceOnce(json, "\"predictionVoxels\": 100,", "\"predictionVoxels\": \"many\","));
        Assert.That(error.Message, Does.Contain("'$.cases[0].predictionVoxels'"));
        Assert.That(error.Message, Does.Contain("a string"));

        error = ReadBroken(json => json.Replace("\"std\": null", "\"std\": true"));
        Assert.That(error.Message, Does.Match(@"'\$\.(overall|perSite)\[\d+\]\.\w+\.std'"));
    }

    [Test]
    public void OtherMalformedInputIsNamed()
    {
        Assert.That(ReadBroken(json => json[..^5]).Message, Does.Contain("not valid JSON"));
        Assert.That(ReadBroken(json => json.Replace("meddistill-metrics/1", "meddistill-metrics/9")).Message, Does.Contain("'$.format'"));
        Assert.That(ReadBroken(json => json.Replace("\"NaN\"", "\"Zero\"")).Message, Does.Contain("'$.emptyMaskDistance'"));
        Assert.That(ReadBroken(json => json.Replace("\"seed\": \"42\"", "\"seed\": 42")).Message, Does.Contain("'$.metadata.seed'"));
        Assert.That(ReadBroken(json => ReplaceOnce(json, "\"predictionEmpty\": true", "\"predictionEmpty\": false")).Message,
            Does.Contain("'$.cases[2].predictionEmpty'"));
    }

    [Test]
    public void MissingFileNamesThePath()
    {
        var path = Path.Combine(folder, "absent.json");
        Assert.That(() => MetricsReport.Read(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contain(path));
    }

    [Test]
    public void CasesCsvByHand()
    {
        var report = MetricsReport.Create([
            Row("B,MC", "c\"2", 0.5, double.NaN, asd: 0.25, hd: 3, prediction: 10, reference: 0, intersection: 0),
            Row("A", "c1", 0.1, 1.5, asd: 1, hd: 2, prediction: 7, reference: 8, intersection: 6),
        ]);
        var expected =
            "case_id,site,class_label,dice,hd95,asd,assd_medpy,hd,prediction_voxels,reference_voxels,intersection_voxels,prediction_empty,reference_empty\n" +
            "c1,A,1,0.1,1.5,1,1,2,7,8,6,false,false\n" +
            "\"c\"\"2\",\"B,MC\",1,0.5,,0.25,0.25,3,10,0,0,false,true\n";
        Assert.That(report.ToCasesCsv(), Is.EqualTo(expected));
        var path = Path.Combine(folder, "cases.csv");
        report.WriteCasesCsv(path);
        Assert.That(File.ReadAllText(path), Is.EqualTo(expected));
    }

    private static string ReplaceOnce(string text, string what, string with)
    {
        int at = text.IndexOf(what, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), $"fixture lacks {what}");
        return text[..at] + with + text[(at + what.Length)..];
    }
}

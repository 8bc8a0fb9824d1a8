using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Tests;

public class ResultTableTests
{
    [Test]
    public void WritesFixedDecimalsAndReadsBackCellByCell()
    {
        var t = new ResultTable("model", ["S1", "S2", "mean"]);
        t.AddRow("T1: DeepLabV3+", new Dictionary<string, double?> { ["S1"] = 0.89512, ["S2"] = 0.5, ["mean"] = null });
        t.AddRow("MSKD, \"baseline\"", new Dictionary<string, string?> { ["S1"] = "n/r" });
        var csv = t.ToCsv();
        Assert.That(csv, Is.EqualTo("model,S1,S2,mean\nT1: DeepLabV3+,0.8951,0.5000,\n\"MSKD, \"\"baseline\"\"\",n/r,,\n"));
        var back = ResultTable.Parse(csv, "t.csv");
        Assert.Multiple(() =>
        {
            Assert.That(back.RowLabels, Is.EqualTo(new[] { "T1: DeepLabV3+", "MSKD, \"baseline\"" }));
            Assert.That(back.Value("T1: DeepLabV3+", "S1"), Is.EqualTo(0.8951));
            Assert.That(back.Value("T1: DeepLabV3+", "mean"), Is.Null);
            Assert.That(back.Cell("MSKD, \"baseline\"", "S1"), Is.EqualTo("n/r"));
            Assert.That(back.Value("MSKD, \"baseline\"", "S1"), Is.Null);
            Assert.That(back.ToCsv(), Is.EqualTo(csv));
        });
    }

    [Test]
    public void MalformedTablesNameTheFileAndLine()
    {
        Assert.That(Assert.Throws<InvalidDataException>(() => ResultTable.Parse("model,S1\nA,1,2\n", "x.csv"))!.Message, Does.Contain("x.csv: line 2"));
        Assert.That(Assert.Throws<InvalidDataException>(() => ResultTable.Parse("model,S1\nA,1\nA,2\n", "x.csv"))!.Message, Does.Contain("already"));
        Assert.That(Assert.Throws<InvalidDataException>(() => ResultTable.Parse("", "x.csv"))!.Message, Does.Contain("empty"));
    }
}

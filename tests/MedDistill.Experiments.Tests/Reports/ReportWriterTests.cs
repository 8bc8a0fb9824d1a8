using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Tests.Reports;

public class ReportWriterTests
{
    private static ResultTable Table(params (string Row, string? S1, string? S2)[] rows)
    {
        var t = new ResultTable("model", ["S1", "S2"]);
        foreach (var (row, s1, s2) in rows) t.AddRow(row, new Dictionary<string, string?> { ["S1"] = s1, ["S2"] = s2 });
        return t;
    }

    [Test]
    public void ASmallReportIsExactlyThisMarkdown()
    {
        var reproduced = Table(("enet", "0.812", "0.700"), ("unet", "0.9", null), ("a|b", "n/r", "0.5"));
        var published = Table(("enet", "0.810", "0.71"), ("unet", "0.9", null), ("paper only", "0.5", null));
        var dir = Path.Combine(Path.GetTempPath(), "report-root");
        var text = ReportWriter.Render("Table 3 reproduction", [new ReportTable("Table 3", reproduced, published, Caption: "Dice per target site.")],
            "Phantom profile.", [new ReportFigure(Path.Combine(dir, "figures", "loss.svg"), "Training loss"), new ReportFigure("figures/overlay s4.png")], dir);

        const string expected =
            "# Table 3 reproduction\n" +
            "\n" +
            "Phantom profile.\n" +
            "\n" +
            "Cells: reproduced (published, reproduced − published); — = no value.\n" +
            "\n" +
            "## Table 3\n" +
            "\n" +
            "Dice per target site.\n" +
            "\n" +
            "| model | S1 | S2 |\n" +
            "| --- | ---: | ---: |\n" +
            "| enet | 0.812 (0.810, +0.002) | 0.700 (0.71, -0.010) |\n" +
            "| unet | 0.9 (0.9, ±0.0) |  |\n" +
            "| a\\|b | n/r | 0.5 |\n" +
            "| paper only | — (0.5) |  |\n" +
            "\n" +
            "## Figures\n" +
            "\n" +
            "![Training loss](figures/loss.svg)\n" +
            "\n" +
            "*Training loss*\n" +
            "\n" +
            "![overlay s4](<figures/overlay s4.png>)\n" +
            "\n" +
            "*overlay s4*\n";
        Assert.That(text, Is.EqualTo(expected));
    }

    [Test]
    public void CellsShowWhatIsThere()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ReportWriter.Cell("0.8123", "0.81"), Is.EqualTo("0.8123 (0.81, +0.0023)"), "the more precise value's decimals");
            Assert.That(ReportWriter.Cell("0.80", "0.8049"), Is.EqualTo("0.80 (0.8049, -0.0049)"));
            Assert.That(ReportWriter.Cell("0.8100", "0.81004"), Is.EqualTo("0.8100 (0.81004, -0.00004)"));
            Assert.That(ReportWriter.Cell("0.30", "0.3"), Is.EqualTo("0.30 (0.3, ±0.00)"), "equal: no sign");
            Assert.That(ReportWriter.Cell("0.812", null), Is.EqualTo("0.812"));
            Assert.That(ReportWriter.Cell(null, "0.810"), Is.EqualTo("— (0.810)"));
            Assert.That(ReportWriter.Cell("n/r", "0.810"), Is.EqualTo("n/r (0.810)"));
            Assert.That(ReportWriter.Cell("0.812", "n/a"), Is.EqualTo("0.812 (n/a)"));
            Assert.That(ReportWriter.Cell(null, null), Is.EqualTo(""));
            Assert.That(ReportWriter.Cell("0.812", "0.810", "0.0020"), Is.EqualTo("0.812 (0.810, +0.0020)"), "a given difference keeps its decimals");
            Assert.That(ReportWriter.Cell("0.812", "0.810", "-0.000"), Is.EqualTo("0.812 (0.810, ±0.000)"));
            Assert.That(ReportWriter.Cell("0.812", "0.810", "n.s."), Is.EqualTo("0.812 (0.810, n.s.)"), "a mark stays as it is");
        });
    }

    [Test]
    public void TheCompareTableSuppliesTheDifferencesAndTheFileIsWritten()
    {
        var reproduced = Table(("enet", "0.812", "0.700"));
        var published = Table(("enet", "0.810", "0.710"));
        var compare = Table(("enet", "n/a", null));
        var dir = Directory.CreateTempSubdirectory("md-report-").FullName;
        try
        {
            var path = Path.Combine(dir, "paper", "phantom", "report.md");
            ReportWriter.Write(path, "T", [new ReportTable("Table 3", reproduced, published, compare)], null, [new ReportFigure(Path.Combine(dir, "paper", "phantom", "loss.svg"))]);
            var text = File.ReadAllText(path);
            Assert.That(text, Does.Contain("| enet | 0.812 (0.810, n/a) | 0.700 (0.710, -0.010) |\n"), "compare's cell where it has one, else computed");
            Assert.That(text, Does.Contain("![loss](loss.svg)\n"));
            Assert.That(text, Does.StartWith("# T\n\nCells: "), "no notes: the legend follows the title");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void AnnotationsFollowTheReproducedValueAndTheEpilogueEndsTheReport()
    {
        var reproduced = Table(("enet", "0.812", "0.700"), ("unet", null, "0.5"));
        var published = Table(("enet", "0.810", null), ("unet", "0.9", null));
        var notes = Table(("enet", "±0.050 ↑*", "±0.100"), ("unet", "±0.2", null));
        var text = ReportWriter.Render("T", [new ReportTable("Table 2", reproduced, published, Annotations: notes)], null,
            [new ReportFigure("figures/a.svg", "A")], Path.GetTempPath(), "## Claims of the paper\n\n- [x] one");
        Assert.That(text, Does.Contain("| enet | 0.812±0.050 ↑* (0.810, +0.002) | 0.700±0.100 |\n"));
        Assert.That(text, Does.Contain("| unet | — (0.9) | 0.5 |\n"), "no value, no annotation");
        Assert.That(text, Does.EndWith("*A*\n\n## Claims of the paper\n\n- [x] one\n"));
    }
}

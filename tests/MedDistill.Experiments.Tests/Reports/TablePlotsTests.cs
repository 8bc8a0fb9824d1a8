using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Tables;
using SkiaSharp;

namespace MedDistill.Experiments.Tests.Reports;

public class TablePlotsTests
{
    private static ReportTable Table()
    {
        var reproduced = ResultTable.Parse("model,S1,S2,mean\nteacher,0.8100,0.7000,0.7550\nstudent,0.6000,n/r,0.6000\n", "r.csv");
        var published = ResultTable.Parse("model,S1,S2,mean\nteacher,0.8000,0.7500,0.7750\nstudent,0.6500,0.6000,0.6250\n", "p.csv");
        return new ReportTable("table2", reproduced, published);
    }

    [Test]
    public void ATableWithPublishedValuesGetsItsPlotsAsPngAndSvg_ByteIdenticalOnRerun()
    {
        var dir = Directory.CreateTempSubdirectory("md-plots-").FullName;
        try
        {
            var spread = new Dictionary<(string, string), IReadOnlyList<double>> { [("teacher", "S1")] = [0.7, 0.9, 0.83] };
            var figures = TablePlots.Write(Table(), dir, (row, column) => spread.GetValueOrDefault((row, column)));
            Assert.That(figures.Select(f => Path.GetFileName(f.Path)), Is.EqualTo(new[] { "table2-vs-published.png", "table2-bars.png" }));
            Assert.That(figures.Select(f => Path.GetFileName(f.Alternate)), Is.EqualTo(new[] { "table2-vs-published.svg", "table2-bars.svg" }));
            var first = figures.SelectMany(f => new[] { f.Path, f.Alternate! }).ToDictionary(p => p, File.ReadAllBytes);
            foreach (var f in figures)
            {
                using var png = SKBitmap.Decode(f.Path);
                Assert.That(png, Is.Not.Null);
                Assert.That(png.Width, Is.GreaterThanOrEqualTo(560));
            }
            // The scatter names each row in its legend; the bars name the published marker too.
            Assert.That(File.ReadAllText(figures[0].Alternate!), Does.Contain("teacher").And.Contain("student"));
            Assert.That(File.ReadAllText(figures[1].Alternate!), Does.Contain("published"));

            TablePlots.Write(Table(), dir, (row, column) => spread.GetValueOrDefault((row, column)));
            foreach (var (path, bytes) in first) Assert.That(File.ReadAllBytes(path), Is.EqualTo(bytes), $"{Path.GetFileName(path)} on rerun");

            // A whisker changes the bars, not the scatter.
            spread[("teacher", "S1")] = [0.1, 0.9];
            TablePlots.Write(Table(), dir, (row, column) => spread.GetValueOrDefault((row, column)));
            Assert.That(File.ReadAllBytes(figures[1].Path), Is.Not.EqualTo(first[figures[1].Path]));
            Assert.That(File.ReadAllBytes(figures[0].Path), Is.EqualTo(first[figures[0].Path]));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void ATableWithoutPublishedValuesGetsNoPlots()
    {
        var dir = Path.Combine(Path.GetTempPath(), "md-plots-none-" + Guid.NewGuid().ToString("N"));
        Assert.That(TablePlots.Write(Table() with { Published = null }, dir), Is.Empty);
        Assert.That(Directory.Exists(dir), Is.False, "nothing written");
    }

    [Test]
    public void TheReportShowsATablesPlotsRightUnderIt_WithTheSvgLinked()
    {
        var dir = Path.Combine(Path.GetTempPath(), "report");
        var table = Table() with
        {
            Figures = [new ReportFigure(Path.Combine(dir, "figures", "table2-bars.png"), "bars", Path.Combine(dir, "figures", "table2-bars.svg"))],
        };
        var md = ReportWriter.Render("R", [table], null, [new ReportFigure(Path.Combine(dir, "figures", "overlay.png"), "overlay")], dir);
        int tableEnd = md.IndexOf("| student |", StringComparison.Ordinal);
        int plot = md.IndexOf("![bars](figures/table2-bars.png)", StringComparison.Ordinal);
        int figuresHeading = md.IndexOf("## Figures", StringComparison.Ordinal);
        Assert.That(tableEnd, Is.GreaterThan(0));
        Assert.That(plot, Is.GreaterThan(tableEnd).And.LessThan(figuresHeading));
        Assert.That(md, Does.Contain("*bars* ([SVG](figures/table2-bars.svg))"));
        Assert.That(md, Does.Contain("*overlay*\n"));
    }
}

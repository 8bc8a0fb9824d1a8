using System.Globalization;
using System.Xml.Linq;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using SkiaSharp;

namespace MedDistill.Experiments.Tests.Reports;

public class SvgChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static SvgChart Line() => new()
    {
        Title = "Loss",
        XLabel = "epoch",
        YLabel = "loss",
        Series = [new ChartSeries("a", [0, 5, 10], [0, 0.5, 1])],
    };

    /// <summary>The texts of an SVG as ScottPlot writes them (one element per label, the text between line breaks).</summary>
    private static List<string> Texts(string svg) => XDocument.Parse(svg).Descendants(Svg + "text").Select(t => t.Value.Trim()).ToList();

    /// <summary>Whether a pixel within <paramref name="radius"/> of (x, y) is close to <paramref name="hex"/> (anti-aliasing blurs the exact one).</summary>
    private static bool ColourNear(SKBitmap bitmap, double x, double y, string hex, int radius = 2)
    {
        var want = SKColor.Parse(hex);
        for (int dy = -radius; dy <= radius; dy++)
            for (int dx = -radius; dx <= radius; dx++)
            {
                var c = bitmap.GetPixel((int)Math.Round(x) + dx, (int)Math.Round(y) + dy);
                if (Math.Abs(c.Red - want.Red) + Math.Abs(c.Green - want.Green) + Math.Abs(c.Blue - want.Blue) < 60) return true;
            }
        return false;
    }

    [Test]
    public void AKnownPointLandsWhereTheLayoutPutsIt()
    {
        // 640×400: plot left 64, top 40, bottom 400 − 52 = 348; the legend of a 1-letter name takes 16 + 20 + 6 + 7 = 49,
        // so right = 640 − 32 − 49 = 559. Axes: x 0..10 (step 2), y 0..1 (step 0.2). (5, 0.5) is the middle:
        // x = 64 + 495/2 = 311.5, y = 348 − 308/2 = 194. ScottPlot draws with that layout pinned.
        var chart = Line();
        Assert.That(chart.PlotArea, Is.EqualTo((64.0, 40.0, 559.0, 348.0)));
        Assert.That(chart.ToPicture(5, 0.5), Is.EqualTo((311.5, 194.0)));
        using var png = SKBitmap.Decode(chart.ToPng());
        Assert.That((png.Width, png.Height), Is.EqualTo((640, 400)));
        Assert.That(ColourNear(png, 311.5, 194, SvgChart.Palette[0]), "the line passes through (5, 0.5)");
        Assert.That(ColourNear(png, chart.ToPicture(9, 0.9).X, chart.ToPicture(9, 0.9).Y, SvgChart.Palette[0]), "and through (9, 0.9)");
        Assert.That(ColourNear(png, 311.5, 100, SvgChart.Palette[0], radius: 4), Is.False, "nothing of it above the middle");
        var texts = Texts(chart.ToSvg());
        Assert.That(texts, Is.SupersetOf(new[] { "Loss", "epoch", "loss", "0", "2", "4", "6", "8", "10", "0.0", "0.2", "0.4", "0.6", "0.8", "1.0" }));
    }

    [Test]
    public void EverySeriesHasItsColourAndLegendEntry()
    {
        var chart = Line() with
        {
            Series = [new ChartSeries("teacher <UNet++>", [1, 2, 3], [0.9, 0.5, 0.4]), new ChartSeries("student", [1, 2, 3], [1.2, 0.8, 0.6]),
                      new ChartSeries("KD & more", [1, 2, 3], [1.1, 0.7, 0.5])],
        };
        var svg = chart.ToSvg();
        Assert.That(Texts(svg), Is.SupersetOf(new[] { "teacher <UNet++>", "student", "KD & more" }), "legend names, escaped as XML");
        foreach (var colour in new[] { "#1F77B4", "#FF7F0E", "#2CA02C" }) Assert.That(svg, Does.Contain($"stroke=\"{colour}\""));
        using var png = SKBitmap.Decode(chart.ToPng());
        for (int i = 0; i < 3; i++)
            Assert.That(ColourNear(png, chart.ToPicture(2, chart.Series[i].Y[1]).X, chart.ToPicture(2, chart.Series[i].Y[1]).Y, SvgChart.Palette[i]), $"series {i} at epoch 2");
    }

    [Test]
    public void NaNBreaksTheLineAndALonePointIsADot()
    {
        var chart = Line() with { Series = [new ChartSeries("a", [0, 1, 2, 3, 4, 5], [0, double.NaN, 0.5, 0.6, double.NaN, 1])] };
        using var png = SKBitmap.Decode(chart.ToPng());
        var blue = SvgChart.Palette[0];
        Assert.That(ColourNear(png, chart.ToPicture(0, 0).X + 3, chart.ToPicture(0, 0).Y - 3, blue), "the lone first point is a dot");
        Assert.That(ColourNear(png, chart.ToPicture(5, 1).X - 3, chart.ToPicture(5, 1).Y + 3, blue), "and the lone last one");
        Assert.That(ColourNear(png, chart.ToPicture(2.5, 0.55).X, chart.ToPicture(2.5, 0.55).Y, blue), "points 2 and 3 form a line");
        Assert.That(ColourNear(png, chart.ToPicture(1, 0.25).X, chart.ToPicture(1, 0.25).Y, blue, radius: 1), Is.False, "no line across the gap");
    }

    [Test]
    public void TheSameDataGivesTheSameBytesWhateverTheCulture()
    {
        var svg = Line().ToSvg();
        var png = Line().ToPng();
        var before = CultureInfo.CurrentCulture;
        try
        {
            // A culture that writes 0,5: the chart must not follow it.
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            Assert.That(Line().ToSvg(), Is.EqualTo(svg));
            Assert.That(Line().ToPng(), Is.EqualTo(png));
        }
        finally { CultureInfo.CurrentCulture = before; }
        Assert.That(Texts(svg), Does.Contain("0.4"));
    }

    [Test]
    public void AxesUseNiceStepsAndWholeNumbersForEpochs()
    {
        var epochs3 = Axis.Nice([1, 2, 3], null, null, 5, integerTicks: true);
        Assert.That(epochs3.Ticks(), Is.EqualTo(new double[] { 1, 2, 3 }));
        var epochs100 = Axis.Nice([1, 100], null, null, 5, integerTicks: true);
        Assert.That((epochs100.Min, epochs100.Max, epochs100.Step), Is.EqualTo((0.0, 100.0, 20.0)));
        var loss = Axis.Nice([0.13, 0.37], null, null, 5, false);
        // span 0.24 / 5 = 0.048 → step 0.05; ends widened to 0.10 and 0.40.
        Assert.That(loss.Step, Is.EqualTo(0.05).Within(1e-15));
        Assert.That(loss.Ticks().Select(loss.Label), Is.EqualTo(new[] { "0.10", "0.15", "0.20", "0.25", "0.30", "0.35", "0.40" }));
        var flat = Axis.Nice([2, 2], null, null, 5, false);
        Assert.That((flat.Min, flat.Max), Is.EqualTo((1.9, 2.1)).Using<(double, double)>((a, b) => Math.Abs(a.Item1 - b.Item1) < 1e-12 && Math.Abs(a.Item2 - b.Item2) < 1e-12));
        var fixedDice = Axis.Nice([0.61, 0.72], 0, 1, 5, false);
        Assert.That((fixedDice.Min, fixedDice.Max), Is.EqualTo((0.0, 1.0)));
    }

    [Test]
    public void TrainingCurvesComeFromEachRunsEpochLog()
    {
        var dir = Directory.CreateTempSubdirectory("md-curves-").FullName;
        try
        {
            var teacher = new RunFolder(Path.Combine(dir, "a"), "aaaaaaaaaaaaaaaa");
            var student = new RunFolder(Path.Combine(dir, "b"), "bbbbbbbbbbbbbbbb");
            Directory.CreateDirectory(teacher.Path);
            Directory.CreateDirectory(student.Path);
            File.WriteAllText(teacher.EpochLogPath, "epoch,step,mean_loss,validation_dice,lr\n1,3,0.9,0.5,0.01\n2,6,0.5,0.8,0.01\n");
            File.WriteAllText(student.EpochLogPath, "epoch,step,mean_loss,validation_dice,lr\n1,3,1.2,,0.01\n2,6,0.7,0.7,0.01\n");

            var charts = TrainingCurves.Render([teacher, student], ["teacher", "student"]);
            Assert.That(Texts(charts.LossSvg), Is.SupersetOf(new[] { "teacher", "student", "Training loss (mean per epoch)" }));
            Assert.That(Texts(charts.DiceSvg), Does.Contain("Validation Dice").And.Contain("1.0"), "the Dice axis is fixed to 0–1");
            // Layout: two 7-letter names → legend 16 + 20 + 6 + 49 = 91, right = 640 − 32 − 91 = 517; epochs 1..2 span
            // 64..517; the Dice axis is 0..1 over 348..40. The student's epoch-2 Dice 0.7 has no finite neighbour: a dot
            // at y = 348 − 0.7·308 = 132.4; the teacher's line runs from (64, 194) to (517, 101.6).
            var (_, diceChart) = TrainingCurves.Charts([("teacher", TrainingCurves.ReadEpochs(teacher.EpochLogPath)), ("student", TrainingCurves.ReadEpochs(student.EpochLogPath))]);
            Assert.That(diceChart.ToPicture(2, 0.7), Is.EqualTo((517.0, 132.4)).Using<(double, double)>((a, b) => Math.Abs(a.Item1 - b.Item1) < 1e-9 && Math.Abs(a.Item2 - b.Item2) < 1e-9));
            using var png = SKBitmap.Decode(diceChart.ToPng());
            Assert.That(ColourNear(png, 514, 132.4, SvgChart.Palette[1]), "the student's dot");
            Assert.That(ColourNear(png, (64 + 517) / 2.0, (194 + 101.6) / 2, SvgChart.Palette[0]), "the teacher's line");
            Assert.That(TrainingCurves.Render([teacher, student], ["teacher", "student"]), Is.EqualTo(charts), "deterministic");

            Assert.Throws<ArgumentException>(() => TrainingCurves.Render([teacher], ["a", "b"]));
            File.WriteAllText(student.EpochLogPath, "epoch,step,loss\n1,3,1.2\n");
            Assert.That(() => TrainingCurves.ReadEpochs(student.EpochLogPath), Throws.TypeOf<InvalidDataException>().With.Message.Contains("mean_loss"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

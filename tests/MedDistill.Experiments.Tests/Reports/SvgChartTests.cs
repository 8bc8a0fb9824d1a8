using System.Globalization;
using System.Xml.Linq;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;

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

    [Test]
    public void AKnownPointLandsWhereTheLayoutPutsIt()
    {
        // 640×400: plot left 64, top 40, bottom 400 − 52 = 348; the legend of a 1-letter name takes 16 + 20 + 6 + 7 = 49,
        // so right = 640 − 16 − 49 = 575. Axes: x 0..10 (step 2), y 0..1 (step 0.2). (5, 0.5) is the middle:
        // x = 64 + 511/2 = 319.5, y = 348 − 308/2 = 194.
        var chart = Line();
        Assert.That(chart.PlotArea, Is.EqualTo((64.0, 40.0, 575.0, 348.0)));
        var doc = XDocument.Parse(chart.ToSvg());
        var path = doc.Descendants(Svg + "path").Single();
        Assert.That(path.Attribute("d")!.Value, Is.EqualTo("M64.00,348.00 L319.50,194.00 L575.00,40.00"));
        var tickLabels = doc.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "tick-labels").Elements().Select(e => e.Value).ToList();
        Assert.That(tickLabels, Is.EqualTo(new[] { "0", "2", "4", "6", "8", "10", "0.0", "0.2", "0.4", "0.6", "0.8", "1.0" }));
        Assert.That(doc.Descendants(Svg + "text").Single(t => (string?)t.Attribute("class") == "title").Value, Is.EqualTo("Loss"));
    }

    [Test]
    public void EverySeriesHasItsGroupColourAndLegendEntry()
    {
        var chart = Line() with
        {
            Series = [new ChartSeries("teacher <UNet++>", [1, 2, 3], [0.9, 0.5, 0.4]), new ChartSeries("student", [1, 2, 3], [1.2, 0.8, 0.6]),
                      new ChartSeries("KD & more", [1, 2, 3], [1.1, 0.7, 0.5])],
        };
        var doc = XDocument.Parse(chart.ToSvg());
        var groups = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "series").ToList();
        Assert.That(groups.Select(g => (string?)g.Attribute("data-name")), Is.EqualTo(new[] { "teacher <UNet++>", "student", "KD & more" }));
        Assert.That(groups.Select(g => g.Elements(Svg + "path").Count()), Is.All.EqualTo(1));
        var colours = groups.Select(g => (string?)g.Element(Svg + "path")!.Attribute("stroke")).ToList();
        Assert.That(colours, Is.EqualTo(new[] { "#1f77b4", "#ff7f0e", "#2ca02c" }));
        var legend = doc.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "legend");
        Assert.That(legend.Elements(Svg + "text").Select(t => t.Value), Is.EqualTo(new[] { "teacher <UNet++>", "student", "KD & more" }));
        Assert.That(legend.Elements(Svg + "line").Select(l => (string?)l.Attribute("stroke")), Is.EqualTo(colours));
    }

    [Test]
    public void NaNBreaksTheLineAndALonePointIsADot()
    {
        var chart = Line() with { Series = [new ChartSeries("a", [0, 1, 2, 3, 4, 5], [0, double.NaN, 0.5, 0.6, double.NaN, 1])] };
        var doc = XDocument.Parse(chart.ToSvg());
        var group = doc.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "series");
        var d = group.Element(Svg + "path")!.Attribute("d")!.Value;
        Assert.That(d.Count(c => c == 'M'), Is.EqualTo(1), "only points 2 and 3 form a line");
        Assert.That(d.Count(c => c == 'L'), Is.EqualTo(1));
        // x 0..5 (step 1) spans 64..575; y 0..1 spans 348..40. Point (0, 0) and (5, 1) are the dots.
        var dots = group.Elements(Svg + "circle").Select(c => ((string?)c.Attribute("cx"), (string?)c.Attribute("cy"))).ToList();
        Assert.That(dots, Is.EqualTo(new[] { ("64.00", "348.00"), ("575.00", "40.00") }));

        var two = Line() with { Series = [new ChartSeries("a", [0, 1, 2, 3, 4], [0, 1, double.NaN, 0.5, 0.6])] };
        var path = XDocument.Parse(two.ToSvg()).Descendants(Svg + "path").Single().Attribute("d")!.Value;
        Assert.That(path.Count(c => c == 'M'), Is.EqualTo(2), "two runs, two subpaths");
    }

    [Test]
    public void TheSameDataGivesTheSameTextWhateverTheCulture()
    {
        var first = Line().ToSvg();
        var before = CultureInfo.CurrentCulture;
        try
        {
            // A culture that writes 0,5: the chart must not follow it.
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            Assert.That(Line().ToSvg(), Is.EqualTo(first));
        }
        finally { CultureInfo.CurrentCulture = before; }
        Assert.That(first, Does.Contain("L319.50,194.00"));
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
            var loss = XDocument.Parse(charts.LossSvg);
            var dice = XDocument.Parse(charts.DiceSvg);
            Assert.That(loss.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "series"), Is.EqualTo(2));
            // Layout: two 7-letter names → legend 16 + 20 + 6 + 49 = 91, right = 640 − 16 − 91 = 533; epochs 1..2 span
            // 64..533; the Dice axis is 0..1 over 348..40. The student's epoch-2 Dice 0.7 has no finite neighbour: a dot
            // at y = 348 − 0.7·308 = 132.4.
            var studentDice = dice.Descendants(Svg + "g").Single(g => (string?)g.Attribute("data-name") == "student");
            var dot = studentDice.Element(Svg + "circle")!;
            Assert.That(((string?)dot.Attribute("cx"), (string?)dot.Attribute("cy")), Is.EqualTo(("533.00", "132.40")));
            var teacherDice = dice.Descendants(Svg + "g").Single(g => (string?)g.Attribute("data-name") == "teacher");
            Assert.That(teacherDice.Element(Svg + "path")!.Attribute("d")!.Value, Is.EqualTo("M64.00,194.00 L533.00,101.60"));
            Assert.That(TrainingCurves.Render([teacher, student], ["teacher", "student"]), Is.EqualTo(charts), "deterministic");

            Assert.Throws<ArgumentException>(() => TrainingCurves.Render([teacher], ["a", "b"]));
            File.WriteAllText(student.EpochLogPath, "epoch,step,loss\n1,3,1.2\n");
            Assert.That(() => TrainingCurves.ReadEpochs(student.EpochLogPath), Throws.TypeOf<InvalidDataException>().With.Message.Contains("mean_loss"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

using System.Diagnostics;
using MedDistill.Models.Profiling;

namespace MedDistill.Models.Tests;

/// <summary>
/// The Affinity-KD paper's Table 1 regenerated from the networks. The whole table (two full-width teachers at 384×384,
/// about 450 GMACs) is counted once for the fixture.
/// </summary>
[NonParallelizable]
public class Table1Tests
{
    private Table1Result result = null!;
    private string output = null!;

    [OneTimeSetUp]
    public void CountOnce()
    {
        var clock = Stopwatch.StartNew();
        result = AffinityKdTable1.Compute(m => TestContext.Progress.WriteLine($"Table1Tests: counting {m}"));
        TestContext.Progress.WriteLine($"Table1Tests: table counted in {clock.Elapsed.TotalSeconds:F1} s");
        output = Path.Combine(Path.GetTempPath(), "meddistill-table1-" + Guid.NewGuid().ToString("N"));
        AffinityKdTable1.Write(result, output, torch.__version__);
    }

    [OneTimeTearDown]
    public void Clean()
    {
        if (output is not null && Directory.Exists(output)) Directory.Delete(output, recursive: true);
    }

    [Test]
    public void RowsAreThePapersInItsOrder()
    {
        Assert.That(result.Paper.Select(r => r.Entry.Method), Is.EqualTo(new[] { "ESPNet", "ENet", "ERFNet", "UNet++", "DeepLabV3+" }));
        Assert.That(result.Mri.Select(r => r.Entry.Method), Is.EqualTo(new[] { "ESPNet", "ENet", "ERFNet", "UNet++", "DeepLabV3+" }));
        Assert.That(result.Mri.Select(r => (r.Options.InChannels, r.Options.Classes)), Is.All.EqualTo((1, 2)));
    }

    // Table 1 as printed in the paper (the independent truth; repeated here on purpose, not read from the code's table).
    private static readonly (string method, decimal paramsM, double gflops)[] Printed =
    [
        ("ESPNet", 0.183m, 1.27), ("ENet", 0.353m, 2.2), ("ERFNet", 2.06m, 16.56), ("UNet++", 36.6m, 621.38), ("DeepLabV3+", 56.8m, 273.94),
    ];

    [Test]
    public void ParametersAreAsPrintedInThePaper()
    {
        foreach (var (method, paramsM, _) in Printed)
        {
            var row = result.Paper.Single(r => r.Entry.Method == method);
            Assert.That(row.ParamsM, Is.EqualTo(paramsM), $"{method}: {row.Cost.Parameters:N0} parameters");
        }
    }

    [Test]
    public void PaperConventionFlopsAreWithinHalfAPercentOfThePaper()
    {
        foreach (var (method, _, gflops) in Printed)
        {
            var row = result.Paper.Single(r => r.Entry.Method == method);
            Assert.That(row.Cost.GflopsPaperConvention, Is.EqualTo(gflops).Within(0.5).Percent, method);
        }
    }

    [Test]
    public void ParameterCountsAreTheAnalyticalOnes()
    {
        // Counted by hand from the layer shapes (shared notes, architectures.md), independently of this code.
        var expected = new Dictionary<string, long>
        {
            ["ESPNet"] = 183_643, ["ENet"] = 353_761, ["ERFNet"] = 2_063_344, ["UNet++"] = 36_628_546, ["DeepLabV3+"] = 56_795_962,
        };
        foreach (var row in result.Paper)
            Assert.That(row.Cost.Parameters, Is.EqualTo(expected[row.Entry.Method]), row.Entry.Method);
        Assert.That(result.Mri.Single(r => r.Entry.Method == "ERFNet").Cost.Parameters, Is.EqualTo(2_063_130));
    }

    [Test]
    public void TrueMacsAreTheAnalyticalOnes()
    {
        // True convolution MACs at 384×384 from the notes, to the digits printed there.
        var expected = new Dictionary<string, (double value, double halfUlp)>
        {
            ["ESPNet"] = (0.614, 0.0005), ["ENet"] = (1.024, 0.0005), ["ERFNet"] = (7.44, 0.005), ["UNet++"] = (309.95, 0.005), ["DeepLabV3+"] = (136.24, 0.005),
        };
        foreach (var row in result.Paper)
        {
            var (value, halfUlp) = expected[row.Entry.Method];
            Assert.That(row.Cost.GmacsTrue, Is.EqualTo(value).Within(halfUlp), row.Entry.Method);
        }
    }

    [Test]
    public void CsvHasExactlyTheAgreedColumns()
    {
        var lines = File.ReadAllLines(Path.Combine(output, AffinityKdTable1.PaperCsv));
        Assert.That(lines[0], Is.EqualTo("method,in_channels,classes,input,params,params_m,gflops_paper_convention,gmacs_true,published_params_m,published_gflops"));
        Assert.That(lines, Has.Length.EqualTo(6));
        Assert.That(lines[1], Does.StartWith("ESPNet,3,2,384x384,"));
        Assert.That(lines[4], Does.StartWith("UNet++,1,2,384x384,"));
        Assert.That(File.ReadAllText(Path.Combine(output, AffinityKdTable1.NotesFile)), Does.Contain("DeepLabV3+").And.Contain("libtorch"));
    }

    [TestCase(AffinityKdTable1.PaperCsv)]
    [TestCase(AffinityKdTable1.MriCsv)]
    public void MatchesTheVerifiedTable(string name)
    {
        var verified = Path.Combine(RepositoryRoot(), "paper-tables", "affinity-kd", name);
        var received = Path.ChangeExtension(verified, ".received.csv");
        var now = File.ReadAllText(Path.Combine(output, name));
        if (File.Exists(verified) && File.ReadAllText(verified) == now)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        File.WriteAllText(received, now);
        Assert.Fail(File.Exists(verified)
            ? $"{name} differs from the verified {verified}. Review {received}; if the change is right, accept it with: cp '{received}' '{verified}'"
            : $"no verified {verified} yet. Review {received}; to accept it: cp '{received}' '{verified}'");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MedDistill.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no MedDistill.sln above {TestContext.CurrentContext.TestDirectory}");
    }
}

/// <summary>The paper's way of printing parameter counts, on hand-made numbers; needs no network.</summary>
public class Table1FormatTests
{
    // The paper's five: ptflops prints 183.64 k, 353.76 k, 2.06 M, 36.63 M, 56.8 M; cut to three figures in millions.
    [TestCase(183_643L, "0.183")]
    [TestCase(353_761L, "0.353")]
    [TestCase(2_063_344L, "2.06")]
    [TestCase(36_628_546L, "36.6")]
    [TestCase(56_795_962L, "56.8")]
    [TestCase(56_794_999L, "56.7")] // ptflops: 56.79 M
    [TestCase(999L, "0.000999")] // ptflops prints the bare count below a thousand
    [TestCase(123_456_789L, "123")] // 123.46 M
    [TestCase(1_000_000L, "1.00")]
    [TestCase(999_996L, "1.00")] // 1000.0 k
    public void ParamsArePtflopsStringCutToThreeSignificantFigures(long parameters, string printed) =>
        Assert.That(AffinityKdTable1.ParamsAsPrinted(parameters).ToString(System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(printed));

    [Test]
    public void MismatchesNameTheRowAndTheFigures()
    {
        var entry = new Table1Entry("Toy", "toy", new ModelOptions(1, 2), new PublishedCost(0.183m, 1.27m));
        // 2·0.640 G = 1.28 GFLOPs is 0.79% above 1.27; 184,000 parameters print as 0.184.
        var cost = new ModelCost("toy", [1, 1, 384, 384], 184_000, 184_000, [], 600_000_000,
            new PaperMacs(600_000_000, 0, 40_000_000, 0, 0, 0, 0, 0), 0, []);
        var problems = AffinityKdTable1.Mismatches([new Table1Row(entry, entry.PaperOptions, 384, cost)]);
        Assert.That(problems, Has.Count.EqualTo(2));
        Assert.That(problems[0], Does.Contain("Toy").And.Contain("0.184").And.Contain("0.183"));
        Assert.That(problems[1], Does.Contain("1.280").And.Contain("1.27"));
    }
}

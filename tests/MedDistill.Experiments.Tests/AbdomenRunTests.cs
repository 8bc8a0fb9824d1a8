using System.Text.Json.Nodes;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// Multi-organ runs on the CT phantoms with the data sets' own lists (protocol <c>lists</c>): tiny phantoms (32×32, 4
/// slices; Synapse's fixed 30 cases, FLARE with 4), cached at 32×32, a few steps of a width-0.125 ResNet18-UNet.
/// </summary>
[TestFixture]
public sealed class AbdomenRunTests
{
    private static readonly AbdomenPhantomOptions TinyCt = new() { Seed = 3, Size = 32, Slices = 4, Cases = 4 };
    private string dataDir = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        dataDir = Directory.CreateTempSubdirectory("md-exp-abdomen-").FullName;
        var serial = new PreprocessRunOptions { Parallelism = 1 };
        var synapse = AbdomenPhantom.GenerateSynapse(dataDir, TinyCt);
        Preprocessor.Run(DatasetLayouts.Discover(synapse.Directory, AbdomenPhantom.SynapseName), PreprocessRecipe.PhantomAbdomen with { Height = 32, Width = 32 },
            Path.Combine(dataDir, "cache", AbdomenPhantom.SynapseName), options: serial);
        var flare = AbdomenPhantom.GenerateFlare(dataDir, TinyCt);
        Preprocessor.Run(DatasetLayouts.Discover(flare.Directory, AbdomenPhantom.FlareName), PreprocessRecipe.PhantomFlare with { Height = 32, Width = 32 },
            Path.Combine(dataDir, "cache", AbdomenPhantom.FlareName), options: serial);
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(dataDir, recursive: true);

    private static RunSpec Spec(string dataset, int classes) => new()
    {
        Model = new ModelSpec { Name = "resnet18-unet", Width = 0.125, Classes = classes },
        Data = new DataSpec { Dataset = dataset, Split = new SplitSpec { Protocol = RunSplits.Lists, Target = RunSplits.ListsTarget, ValidationFraction = 0.2 } },
        Schedule = new ScheduleSpec { Epochs = 1, Iterations = 4, BatchSize = 8, CyclicStepSize = 4, ValidateEvery = 2 },
        Seed = 5,
    };

    /// <summary>Trains <paramref name="spec"/> and checks what every lists run must give: validation, and one row per test case of the list and foreground class.</summary>
    private void TrainsOnTheLists(RunSpec spec)
    {
        var run = PreparedRun.Prepare(spec, ExperimentFixture.NewStore(), dataDir);
        var result = new Trainer(run, new TrainerOptions { Workers = 0 }).Train();

        Assert.That(result.Outcome, Is.EqualTo(TrainOutcome.Finished));
        Assert.That(run.Folder.ReadState().BestValidationDice, Is.InRange(0.0, 1.0), "validation ran (mean foreground Dice)");
        Assert.That(run.Split[Data.Splits.DataSplit.Validation], Is.Not.Empty);
        var testList = run.Cache.Lists![Data.Splits.DataSplit.Test];
        var report = MetricsReport.Read(run.Folder.MetricsPath);
        Assert.That(report.Cases.Select(r => r.CaseId).Distinct(), Is.EquivalentTo(testList), "the test cases are exactly the test list");
        Assert.That(report.Cases, Has.Count.EqualTo(testList.Count * (spec.Model.Classes - 1)));
        foreach (var group in report.Cases.GroupBy(r => r.CaseId))
            Assert.That(group.Select(r => r.ClassLabel), Is.EqualTo(Enumerable.Range(1, spec.Model.Classes - 1)), group.Key);
        Assert.That(report.MeanDice(), Is.InRange(0.0, 1.0));
        Assert.That(run.Split[Data.Splits.DataSplit.Train].Concat(run.Split[Data.Splits.DataSplit.Validation]), Is.EquivalentTo(run.Cache.Lists["train"]));
    }

    [Test]
    public void AResNet18UNetTrainRun_OnTheSynapseLists_EvaluatesEveryOrganOfEveryTestCase() =>
        TrainsOnTheLists(Spec(AbdomenPhantom.SynapseName, 9));

    [Test]
    public void AnAcwSkdTrainRun_OnTheSynapseLists_EvaluatesEveryOrganOfEveryTestCase() =>
        TrainsOnTheLists(SpecOverrides.Apply(Spec(AbdomenPhantom.SynapseName, 9), ["method.name=acw-skd", "method.options.terms=aux+cw+frm+at"]));

    [Test]
    public void AFlareRun_With14Classes_EvaluatesItsTestList() =>
        TrainsOnTheLists(Spec(AbdomenPhantom.FlareName, 14));

    private static string FailureOf(RunSpec spec, string dataDir)
    {
        var store = ExperimentFixture.NewStore();
        var e = Assert.Throws<ArgumentException>(() => PreparedRun.Prepare(spec, store, dataDir))!;
        Assert.That(store.List(), Is.Empty, "a rejected spec leaves no run folder");
        return e.Message;
    }

    [Test]
    public void ListsWithoutListFiles_AWrongTarget_OrAWrongClassCount_FailNamingTheField()
    {
        var prostate = ExperimentFixture.Tiny() with
        {
            Data = ExperimentFixture.Tiny().Data with { Split = new SplitSpec { Protocol = RunSplits.Lists, Target = RunSplits.ListsTarget } },
        };
        var synapse = Spec(AbdomenPhantom.SynapseName, 9);
        Assert.Multiple(() =>
        {
            Assert.That(FailureOf(prostate, ExperimentFixture.DataDir), Does.StartWith("data.split.protocol: 'lists'").And.Contain("phantom-prostate").And.Contain("has none"));
            Assert.That(FailureOf(synapse with { Data = synapse.Data with { Split = synapse.Data.Split with { Target = "S1" } } }, dataDir),
                Does.StartWith("data.split.target: 'S1'"));
            Assert.That(FailureOf(synapse with { Data = synapse.Data with { Split = synapse.Data.Split with { Protocol = "kfold" } } }, dataDir),
                Does.StartWith("data.split.protocol: 'kfold' is not known"));
            Assert.That(FailureOf(synapse with { Model = synapse.Model with { Classes = 14 } }, dataDir), Does.StartWith("model.classes: 14").And.Contain("9 classes"));
            Assert.That(FailureOf(ExperimentFixture.Tiny() with { Model = ExperimentFixture.Tiny().Model with { Classes = 3 } }, ExperimentFixture.DataDir),
                Does.StartWith("model.classes: 3").And.Contain("2 classes"));
        });
    }

    [Test]
    public void AListedCaseTheCacheLacks_IsNamed()
    {
        var copy = Directory.CreateTempSubdirectory("md-exp-lists-").FullName;
        try
        {
            var from = Path.Combine(dataDir, "cache", AbdomenPhantom.SynapseName);
            var to = Path.Combine(copy, "cache", AbdomenPhantom.SynapseName);
            Directory.CreateDirectory(to);
            var index = JsonNode.Parse(File.ReadAllText(Path.Combine(from, CacheIndex.FileName)))!;
            index["lists"]!["test"]!.AsArray().Add("case9999");
            File.WriteAllText(Path.Combine(to, CacheIndex.FileName), index.ToJsonString()); // arrays are not read before the split
            Assert.That(FailureOf(Spec(AbdomenPhantom.SynapseName, 9), copy), Does.StartWith("data.split:").And.Contain("case9999"));
        }
        finally { Directory.Delete(copy, recursive: true); }
    }
}

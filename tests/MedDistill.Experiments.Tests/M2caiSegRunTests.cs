using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Evaluation;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// Colour input end to end: a tiny laparoscopy phantom (64×36 frames, 6 train / 2 test) cached at 32×32 with three
/// channels, a few steps of ACW-SKD's own M2caiSeg spec (3 input channels, 19 classes) trained, validated and evaluated
/// on the data set's lists, and the overlay drawn from a colour frame.
/// </summary>
[TestFixture]
public sealed class M2caiSegRunTests
{
    private static readonly LaparoscopyPhantomOptions Tiny = new() { Seed = 9, Width = 64, Height = 36, TrainFrames = 6, TestFrames = 2, TrainValFrames = 0 };
    private string dataDir = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        dataDir = Directory.CreateTempSubdirectory("md-exp-m2cai-").FullName;
        var phantom = LaparoscopyPhantom.Generate(dataDir, Tiny);
        Preprocessor.Run(DatasetLayouts.Discover(phantom.Directory, LaparoscopyPhantom.DatasetName), PreprocessRecipe.PhantomLaparoscopy with { Height = 32, Width = 32 },
            Path.Combine(dataDir, "cache", LaparoscopyPhantom.DatasetName), options: new PreprocessRunOptions { Parallelism = 1 });
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(dataDir, recursive: true);

    /// <summary>The plan's student spec, shrunk to the test's cache and a few steps.</summary>
    private static RunSpec Spec()
    {
        var planned = AcwSkdExperiment.Plan(AcwSkdExperiment.SmokeProfile, d => "unused", ModelRegistry.Names, ["m2caiseg"])
            .Single(r => r.Key == $"student/{AcwSkdExperiment.Student}/m2caiseg").Spec;
        return planned with
        {
            Model = planned.Model with { Width = 0.125 },
            Data = planned.Data with { Cache = null, RecipeHash = null },
            Schedule = new ScheduleSpec { Iterations = 4, BatchSize = 4, ValidateEvery = 2 },
        };
    }

    [Test]
    public void AThreeChannelRun_TrainsValidatesAndEvaluatesEveryClassOfEveryTestFrame_AndDrawsItsOverlay()
    {
        var spec = Spec();
        Assert.That((spec.Model.InChannels, spec.Data.Channels, spec.Model.Classes), Is.EqualTo((3, 3, 19)));
        var run = PreparedRun.Prepare(spec, ExperimentFixture.NewStore(), dataDir);
        var result = new Trainer(run, new TrainerOptions { Workers = 0 }).Train();

        Assert.That(result.Outcome, Is.EqualTo(TrainOutcome.Finished));
        Assert.That(run.Folder.ReadState().BestValidationDice, Is.InRange(0.0, 1.0), "validation ran");
        Assert.That(run.Split[DataSplit.Validation], Is.Not.Empty);
        var report = MetricsReport.Read(run.Folder.MetricsPath);
        Assert.That(report.Cases.Select(r => r.CaseId).Distinct(), Is.EquivalentTo(new[] { "test/1", "test/2" }));
        Assert.That(report.Cases, Has.Count.EqualTo(2 * 18));
        Assert.That(report.Cases.Sum(r => r.ReferenceVoxels), Is.GreaterThan(0));
        Assert.That(AcwSkdTables.DatasetMeanIou(report.Cases, 18), Is.InRange(0.0, 1.0));

        var overlay = OverlayRenderer.RenderSavedCase(run, "test/1");
        Assert.That((overlay.CaseId, overlay.SliceIndex), Is.EqualTo(("test/1", 0)));
        Assert.That(overlay.Image.Width, Is.GreaterThanOrEqualTo(32));
    }

    [Test]
    public void OneChannelOnAColourCache_FailsNamingDataChannels()
    {
        var spec = Spec() with { Model = Spec().Model with { InChannels = 1 }, Data = Spec().Data with { Channels = 1 } };
        var e = Assert.Throws<ArgumentException>(() => PreparedRun.Prepare(spec, ExperimentFixture.NewStore(), dataDir))!;
        Assert.That(e.Message, Does.StartWith("data.channels: 1").And.Contain("3-channel colour images"));
    }
}

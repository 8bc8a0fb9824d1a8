using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// Split protocol <c>source</c> (GKD: train on one domain, test on it and the others) on the fundus layout's lists:
/// the index is built from the discovered phantom (scale 0.05) without preprocessing, since the split reads no arrays.
/// </summary>
[TestFixture]
public sealed class SourceSplitTests
{
    private string root = null!;
    private CacheIndex cache = null!;

    [OneTimeSetUp]
    public void Discover()
    {
        root = Directory.CreateTempSubdirectory("md-exp-source-").FullName;
        var phantom = FundusPhantom.Generate(root, new FundusPhantomOptions { Seed = 2, Scale = 0.05, StareImages = 2, DriveTraining = 2, DriveTest = 2 });
        var source = DatasetLayouts.Discover(phantom.Directory, FundusPhantom.DatasetName);
        cache = new CacheIndex
        {
            Dataset = source.Name, SourceRoot = source.Root, Recipe = PreprocessRecipe.PhantomFundus, RecipeHash = PreprocessRecipe.PhantomFundus.Hash(),
            Lists = source.Lists,
            Cases = source.Cases.Select(c => new CachedCase
            {
                Id = c.Id, Site = c.Site, Name = c.Name, Image = Record(c.ImagePath), Label = Record(c.LabelPath),
                ImageFile = c.Id + Preprocessor.ImageSuffix, LabelFile = c.Id + Preprocessor.LabelSuffix, Shape = [1, 96, 96], Spacing = [1, 1, 1],
                SourceShape = [96, 96], SourceSpacing = [1, 1], Normalisation = new NormalisationApplied(0, 255, 0, 1, 0, 1), ForegroundPerSlice = [1],
            }).ToList(),
        };
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(root, recursive: true);

    private static SourceFileRecord Record(string path) => new(path, 0, DateTime.UnixEpoch, "");

    private static SplitSpec Spec(string target, double validation = 0.2) =>
        new() { Protocol = RunSplits.Source, Target = target, ValidationFraction = validation, Seed = 3 };

    [Test]
    public void TrainsOnTheSourcesTrainList_AndTestsOnEverySitesTestList()
    {
        var split = RunSplits.Build(Spec(FundusLayout.Chase), cache, root);
        var trainAndValidation = split[DataSplit.Train].Concat(split[DataSplit.Validation]).ToList();
        Assert.That(trainAndValidation, Is.EquivalentTo(Enumerable.Range(0, 20).Select(i => $"CHASE_DB1/{FundusPhantom.ChaseName(i)}")), "subjects 01–10 only: no DRIVE training case");
        Assert.That(split[DataSplit.Validation], Has.Count.EqualTo(4), "0.2 of 20 held out");
        Assert.That(split[DataSplit.Test], Is.EqualTo(cache.Lists!["test"]));
        Assert.That(split[DataSplit.Test], Does.Contain("STARE/im0001").And.Contain("DRIVE/01_test").And.Contain("CHASE_DB1/Image_14R"));
        Assert.That(split.Name, Is.EqualTo("source-CHASE_DB1"));

        var drive = RunSplits.Build(Spec(FundusLayout.Drive, 0), cache, root);
        Assert.That(drive[DataSplit.Train], Is.EqualTo(new[] { "DRIVE/21_training", "DRIVE/22_training" }));
        Assert.That(RunSplits.Protocols, Does.Contain(RunSplits.Source));
        Assert.That(RunSplits.SameTarget(RunSplits.Source, "CHASE_DB1", "CHASE_DB1"), Is.True);
        Assert.That(RunSplits.SameTarget(RunSplits.Source, "CHASE_DB1", "DRIVE"), Is.False);
    }

    [Test]
    public void AnUnknownSite_ASiteWithoutTrainingCases_OrNoLists_FailNamingTheField()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => RunSplits.Build(Spec("S1"), cache, root))!.Message,
                Does.StartWith("data.split.target: 'S1' is not a site").And.Contain("CHASE_DB1"));
            Assert.That(Assert.Throws<ArgumentException>(() => RunSplits.Build(Spec(FundusLayout.Stare), cache, root))!.Message,
                Does.StartWith("data.split.target: source site 'STARE' has no cases in the train list"));
            Assert.That(Assert.Throws<ArgumentException>(() => RunSplits.Build(Spec(FundusLayout.Chase), cache with { Lists = null }, root))!.Message,
                Does.StartWith("data.split.protocol: 'source' needs the data set's train/test lists"));
        });
    }
}

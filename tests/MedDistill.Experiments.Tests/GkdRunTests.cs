using System.Globalization;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Volumes;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// A run under the <c>source</c> protocol on a tiny fundus phantom (CHASE_DB1 subjects 01–10 train, 11–12 test; STARE and DRIVE test):
/// the per-domain evaluation writes one row per test case of every domain, and the FSD cells are the Fréchet distance of
/// the vectors it kept.
/// </summary>
[TestFixture]
public sealed class GkdRunTests
{
    private string dataDir = null!;
    private const int Size = 32;

    [OneTimeSetUp]
    public void Generate()
    {
        dataDir = Directory.CreateTempSubdirectory("md-exp-gkd-").FullName;
        var fundus = FundusPhantom.Generate(dataDir, new FundusPhantomOptions { Scale = 0.05, ChaseImages = 24, StareImages = 3, DriveTraining = 2, DriveTest = 3 });
        Preprocessor.Run(DatasetLayouts.Discover(fundus.Directory, FundusPhantom.DatasetName), PreprocessRecipe.PhantomFundus with { Height = Size, Width = Size },
            Path.Combine(dataDir, "cache", FundusPhantom.DatasetName), options: new PreprocessRunOptions { Parallelism = 1 });
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(dataDir, recursive: true);

    [Test]
    public void ASourceRun_ScoresEveryDomainsTestCasesInsideTheFov_AndKeepsVectorsForFsd()
    {
        var spec = new RunSpec
        {
            Model = new ModelSpec { Name = "unet", Width = 0.125, Classes = 2 },
            Data = new DataSpec { Dataset = FundusPhantom.DatasetName, Split = new SplitSpec { Protocol = RunSplits.Source, Target = "CHASE_DB1", ValidationFraction = 0.2 } },
            Schedule = new ScheduleSpec { Iterations = 3, BatchSize = 4, CyclicStepSize = 3 },
            Seed = 2,
        };
        var run = PreparedRun.Prepare(spec, ExperimentFixture.NewStore(), dataDir);
        Assert.That(new Trainer(run, new TrainerOptions { Workers = 0 }).Train().Outcome, Is.EqualTo(TrainOutcome.Finished));

        var test = run.Split[Data.Splits.DataSplit.Test];
        var rows = DomainEvaluator.Read(run.Folder.Path);
        Assert.That(rows.Select(r => r.CaseId), Is.EquivalentTo(test));
        Assert.That(rows.Select(r => r.Site).Distinct(), Is.EquivalentTo(new[] { "CHASE_DB1", "STARE", "DRIVE" }));
        Assert.That(run.Split[Data.Splits.DataSplit.Train].Concat(run.Split[Data.Splits.DataSplit.Validation]),
            Has.All.StartsWith("CHASE_DB1/"), "only the source domain trains");
        foreach (var r in rows)
        {
            Assert.That(r.Pixels, Is.LessThan(Size * Size), $"{r.CaseId}: the field of view leaves the corners out");
            foreach (var v in new[] { r.Accuracy, r.Specificity, r.MeanIou, r.Auc })
                Assert.That(v, Is.InRange(0.0, 1.0), r.CaseId);
        }

        // The vectors: one per image of every test case and every CHASE_DB1 case, U-Net's encoder width long.
        var listing = File.ReadAllLines(Path.Combine(run.Folder.Path, DomainEvaluator.VectorRowsFile)).Skip(1).Select(l => l.Split(',')).ToList();
        var chase = run.Cache.Cases.Where(c => c.Site == "CHASE_DB1").Select(c => c.Id);
        Assert.That(listing.Select(f => f[1]), Is.EquivalentTo(test.Union(chase)));
        var npy = VolumeReader.Read(Path.Combine(run.Folder.Path, DomainEvaluator.VectorsFile));
        int d = npy.Shape[1];
        Assert.That((npy.Shape[0], d), Is.EqualTo((listing.Count, 128)), "unet at width 0.125: its 1024-channel bottleneck × 0.125");

        // FSD cells against an independent selection of the rows: every CHASE_DB1 vector vs STARE's test vectors.
        double[,] Rows(Func<string[], bool> keep)
        {
            var picked = listing.Where(keep).Select(f => int.Parse(f[0], CultureInfo.InvariantCulture)).ToList();
            var m = new double[picked.Count, d];
            for (int i = 0; i < picked.Count; i++)
                for (int j = 0; j < d; j++) m[i, j] = npy.Data[picked[i] * d + j];
            return m;
        }
        var task = new GkdTask("vessels", "vessels", FundusPhantom.DatasetName, FundusPhantom.DatasetName, Size, "CHASE_DB1", ["CHASE_DB1", "STARE", "DRIVE"]);
        var fsd = GkdTables.FsdValues(task, run.Folder.Path);
        var expected = FrechetDistance.Compute(Rows(f => f[2] == "CHASE_DB1"), Rows(f => f[2] == "STARE" && f[4] == "test")).Distance;
        Assert.That(fsd["fsd_STARE"], Is.EqualTo(expected).Within(1e-12));
        Assert.That(fsd.Keys, Is.EquivalentTo(new[] { "fsd_STARE", "fsd_DRIVE" }));
    }
}

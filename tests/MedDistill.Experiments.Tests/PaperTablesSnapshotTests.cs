using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// Tables 2–4 of the Affinity-KD experiment at a tiny scale (one target, 32×32 phantom, 3 steps per run): the whole
/// path from plan to CSV, snapshot-tested. The numbers are meaningless as results; what is pinned is that the same
/// profile and seed give the same bytes, and that every cell is filled from the run the plan maps to it.
/// </summary>
public class PaperTablesSnapshotTests
{
    /// <summary>The <c>smoke</c> profile on one target, reading the fixture's tiny phantom cache.</summary>
    public static ExperimentProfile Tiny { get; } = AffinityKdExperiment.SmokeProfile with { Targets = ["S2"], Cache = ExperimentFixture.TinyRecipe.Dataset };

    /// <summary>Libtorch's CPU results depend in the last bits on the BLAS library it calls (see PyTorchParityTests).</summary>
    private static string BlasSuffix()
    {
        var blas = MedDistill.Torch.BlasLibrary.MappedPath();
        if (blas is null || !blas.Contains("openblas", StringComparison.OrdinalIgnoreCase)) return "-reference-blas";
        // And on OpenBLAS's core type: SkylakeX's snapshots have no suffix (the first ones made), Haswell's and Zen's
        // (the same kernels) have their own; other cores have none committed, and the test says so.
        return MedDistill.Torch.BlasLibrary.CoreName() switch { "SkylakeX" => "", "Haswell" or "Zen" => "-openblas-haswell", var core => $"-openblas-{core?.ToLowerInvariant()}" };
    }

    [Test]
    public void TinyTablesMatchTheirSnapshots()
    {
        var store = ExperimentFixture.NewStore();
        var recipe = ExperimentFixture.TinyRecipe.Hash();
        var plan = AffinityKdExperiment.Plan(Tiny, recipe, ModelRegistry.Names);
        Assert.That(plan, Has.Count.EqualTo(19), "2 teachers, 3 students w/o, 6 distilled (Table 2), EMKD and MSKD (Table 3), 6 more ablation cells (Table 4)");
        Assert.That(plan.Take(2).All(r => r.Key.StartsWith("teacher/", StringComparison.Ordinal)), "teachers first");
        foreach (var run in plan)
        {
            var result = new Trainer(PreparedRun.Prepare(run.Spec, store, ExperimentFixture.DataDir), new TrainerOptions { Workers = 0 }).Train();
            Assert.That(result.RunId, Is.EqualTo(run.Id), "the planned id is the id the run gets once prepared");
        }
        var built = AffinityKdTables.Build(Tiny, plan, store, PublishedFolder());
        Assert.That(built.Sum(t => t.MissingCells), Is.Zero);
        var suffix = BlasSuffix();
        var snapshots = Path.Combine(Path.GetDirectoryName(ThisFile())!, "Snapshots");
        if (!File.Exists(Path.Combine(snapshots, $"affinity-kd-tiny-table2{suffix}.verified.csv")))
            Assert.Ignore($"no snapshots for this BLAS library and core (suffix '{suffix}'); committed: OpenBLAS on SkylakeX and Haswell/Zen cores, the reference BLAS");
        foreach (var table in built)
        {
            Snapshot.Verify($"affinity-kd-tiny-{table.Name}{suffix}", "csv", table.Reproduced.ToCsv());
            Snapshot.Verify($"affinity-kd-tiny-{table.Name}{suffix}.compare", "csv", table.CompareCsv);
        }
        // Cells that name the same spec share one run: Table 4's full method is Table 2's "ENet w/ T1".
        var t2 = built.Single(t => t.Name == "table2").Reproduced;
        var t4 = built.Single(t => t.Name == "table4").Reproduced;
        Assert.That(t4.Cell("+AAM + KMM + LM", "S2"), Is.EqualTo(t2.Cell("ENet w/ T1", "S2")));
        Assert.That(built.Single(t => t.Name == "table3").Reproduced.Cell("SAML", "S2"), Is.EqualTo(AffinityKdTables.NotReproduced));
    }

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    /// <summary>paper-tables/affinity-kd/published, found above the test directory.</summary>
    internal static string PublishedFolder()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "paper-tables", "affinity-kd", "published");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("paper-tables/affinity-kd/published not found above the test directory");
    }
}

using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// ACW-SKD (adversarial class-wise self-knowledge distillation; Synapse, FLARE22, M2caiSeg) behind <see cref="IPaper"/>:
/// per data set (the two CT sets and M2caiSeg's colour frames) a main table and an ablation from the runs of
/// <see cref="AcwSkdExperiment"/>.
/// </summary>
public sealed class AcwSkdPaper : IPaper
{
    public string Id => AcwSkdExperiment.Paper;
    public string Title => "ACW-SKD: adversarial class-wise self-knowledge distillation for medical image segmentation (Yu et al., Sci Rep 2025)";
    public IReadOnlyList<ExperimentProfile> Profiles => AcwSkdExperiment.Profiles;
    public IReadOnlyList<string> RunTables => AcwSkdExperiment.TablesOf(AcwSkdExperiment.Datasets(AcwSkdExperiment.PhantomProfile));
    public IReadOnlyList<string> StaticTables { get; } = [];
    public IReadOnlyList<string> Studies { get; } = [];

    public IReadOnlyList<string[]> DataCommands(ExperimentProfile profile) =>
        AcwSkdExperiment.Datasets(profile).SelectMany(d => d.Dataset.StartsWith("phantom-", StringComparison.Ordinal)
            ? new[] { new[] { "data", "phantom", d.Dataset["phantom-".Length..] } }
            : [["data", "fetch", d.Dataset], ["data", "extract", d.Dataset]]).ToList();

    /// <summary>A data set's recipe at the profile's size; its hash enters every run id of that data set.</summary>
    public static PreprocessRecipe Recipe(AcwSkdDataset d) =>
        PreprocessRecipe.ByDataset.TryGetValue(d.Dataset, out var r)
            ? r with { Height = d.CacheSize, Width = d.CacheSize }
            : throw new ArgumentException($"{AcwSkdExperiment.Paper}: no preprocessing recipe for data set '{d.Dataset}' (registered: {string.Join(", ", PreprocessRecipe.ByDataset.Keys)})");

    /// <summary>The first data set's recipe hash (every run carries its own data set's hash in its spec).</summary>
    public string RecipeHash(ExperimentProfile profile) => Recipe(AcwSkdExperiment.Datasets(profile)[0]).Hash();

    public string Prepare(ExperimentProfile profile, string dataRoot, IProgress<PreprocessProgress>? progress)
    {
        var lines = new List<string>();
        foreach (var d in AcwSkdExperiment.Datasets(profile))
        {
            var source = DatasetLayouts.Discover(Path.Combine(dataRoot, d.Dataset), d.Dataset);
            var report = Preprocessor.Run(source, Recipe(d), Path.Combine(dataRoot, "cache", d.Cache), progress);
            lines.Add($"{report.CacheDir}: built {report.Built}, reused {report.Reused} (recipe {report.RecipeHash[..12]})");
        }
        return string.Join("\n", lines);
    }

    public IReadOnlyList<PlannedRun> Plan(PlanRequest request)
    {
        var plan = AcwSkdExperiment.Plan(request.Profile, d => Recipe(d).Hash(), request.Zoo, request.Tables);
        // Extra seeds are extra runs after the tables' own (they fill no cell; the tables find them by the same options).
        return [.. plan, .. AcwSkdSeeds.Plan(plan, request.Seeds, request.SeedRows).Extra];
    }

    public TablesResult WriteTables(TablesRequest request)
    {
        var p = request.Profile;
        var known = AcwSkdExperiment.TablesOf(AcwSkdExperiment.Datasets(p));
        if (request.Table != "all" && !known.Contains(request.Table))
            throw new ArgumentException($"{Id}: no table '{request.Table}'; tables: {string.Join(", ", [.. known, "all"])}");
        var tables = request.Table == "all" ? known : [request.Table];
        var folder = Path.GetFullPath(request.OutputFolder ?? Path.Combine(request.RepositoryRoot, ((IPaper)this).TablesFolder, p.Name));
        var published = request.PublishedFolder ?? Path.Combine(request.RepositoryRoot, ((IPaper)this).PublishedFolder);
        var plan = AcwSkdExperiment.Plan(p, d => Recipe(d).Hash(), request.Zoo, tables);
        var written = new List<string>();
        var problems = new List<string>();
        int missing = 0;
        var built = AcwSkdTables.Build(p, plan, request.Store, published, tables);
        foreach (var t in built)
        {
            written.AddRange(PaperTables.Write(t, folder));
            missing += t.MissingCells;
            if (t.MissingCells > 0) problems.Add($"{t.Name}: {t.MissingCells} rows have no finished run (see meddistill pipeline plan --paper {Id} --profile {p.Name} --dry-run)");
        }
        var (seedFiles, seedMissing) = AcwSkdSeeds.Write(AcwSkdSeeds.Plan(plan, request.Seeds, request.SeedRows), request.Store, folder);
        written.AddRange(seedFiles);
        missing += seedMissing;
        if (seedMissing > 0) problems.Add($"seeds: {seedMissing} seed runs have not finished");
        // runs.csv describes every run of the profile: one table's subset would overwrite the other tables' rows.
        if (request.Table == "all") written.Add(PaperRuns.Write(plan, request.Store, folder));
        if (request.Table == "all")
            written.AddRange(AcwSkdReport.Write(p, plan, built, request.Store, request.DataRoot, folder, MedDistill.Torch.Device.CPU));
        return TablesResult.Of(written, missing, problems);
    }
}

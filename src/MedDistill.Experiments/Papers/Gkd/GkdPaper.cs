using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// GKD (generalizable distillation: MSAN, ACT, DCGD, DICD, FSD; retinal vessels and liver across domains) behind
/// <see cref="IPaper"/>: per task a main table, the ablation, the other students and the FSD table from the runs of
/// <see cref="GkdExperiment"/>. The authors' colonoscopy experiments (journal version) are not planned: their data sets
/// are not named in any public source found.
/// </summary>
public sealed class GkdPaper : IPaper
{
    public string Id => GkdExperiment.Paper;
    public string Title => "GKD: exploring generalizable distillation for efficient medical image segmentation (Qi et al., IEEE JBHI 2024)";
    public IReadOnlyList<ExperimentProfile> Profiles => GkdExperiment.Profiles;
    public IReadOnlyList<string> RunTables => GkdExperiment.TablesOf(GkdExperiment.Tasks(GkdExperiment.PhantomProfile));
    public IReadOnlyList<string> StaticTables { get; } = [];
    public IReadOnlyList<string> Studies { get; } = [];

    public IReadOnlyList<string[]> DataCommands(ExperimentProfile profile) =>
        GkdExperiment.Tasks(profile).SelectMany(t => t.Dataset switch
        {
            "phantom-fundus" => new[] { new[] { "data", "phantom", "fundus", "--scale", GkdExperiment.FundusPhantomScale.ToString(System.Globalization.CultureInfo.InvariantCulture) } },
            "phantom-liver" => [["data", "phantom", "liver"]],
            // The real sets are registration-gated or hosted per challenge: the README says where to put them.
            _ => [],
        }).ToList();

    /// <summary>A task's recipe at the profile's size; its hash enters every run id of that task.</summary>
    public static PreprocessRecipe Recipe(GkdTask t) =>
        PreprocessRecipe.ByDataset.TryGetValue(t.Dataset, out var r)
            ? r with { Height = t.CacheSize, Width = t.CacheSize }
            : throw new ArgumentException($"{GkdExperiment.Paper}: no preprocessing recipe for data set '{t.Dataset}'");

    public string RecipeHash(ExperimentProfile profile) => Recipe(GkdExperiment.Tasks(profile)[0]).Hash();

    public string Prepare(ExperimentProfile profile, string dataRoot, IProgress<PreprocessProgress>? progress)
    {
        var lines = new List<string>();
        foreach (var t in GkdExperiment.Tasks(profile))
        {
            var source = DatasetLayouts.Discover(Path.Combine(dataRoot, t.Dataset), t.Dataset);
            var report = Preprocessor.Run(source, Recipe(t), Path.Combine(dataRoot, "cache", t.Cache), progress);
            lines.Add($"{report.CacheDir}: built {report.Built}, reused {report.Reused} (recipe {report.RecipeHash[..12]})");
        }
        return string.Join("\n", lines);
    }

    public IReadOnlyList<PlannedRun> Plan(PlanRequest request) => GkdExperiment.Plan(request.Profile, t => Recipe(t).Hash(), request.Tables);

    public TablesResult WriteTables(TablesRequest request)
    {
        var p = request.Profile;
        var known = GkdExperiment.TablesOf(GkdExperiment.Tasks(p));
        if (request.Table != "all" && !known.Contains(request.Table))
            throw new ArgumentException($"{Id}: no table '{request.Table}'; tables: {string.Join(", ", [.. known, "all"])}");
        var tables = request.Table == "all" ? known : [request.Table];
        var folder = Path.GetFullPath(request.OutputFolder ?? Path.Combine(request.RepositoryRoot, ((IPaper)this).TablesFolder, p.Name));
        var published = request.PublishedFolder ?? Path.Combine(request.RepositoryRoot, ((IPaper)this).PublishedFolder);
        var plan = GkdExperiment.Plan(p, t => Recipe(t).Hash(), tables);
        var written = new List<string>();
        var problems = new List<string>();
        int missing = 0;
        var built = GkdTables.Build(p, plan, request.Store, published, tables);
        foreach (var t in built)
        {
            written.AddRange(PaperTables.Write(t, folder));
            missing += t.MissingCells;
            if (t.MissingCells > 0) problems.Add($"{t.Name}: {t.MissingCells} rows have no finished run (see meddistill pipeline plan --paper {Id} --profile {p.Name} --dry-run)");
        }
        // runs.csv describes every run of the profile: one table's subset would overwrite the other tables' rows.
        if (request.Table == "all") written.Add(PaperRuns.Write(plan, request.Store, folder));
        if (request.Table == "all")
            written.AddRange(GkdReport.Write(p, plan, built, request.Store, request.DataRoot, folder, MedDistill.Torch.Device.CPU));
        return TablesResult.Of(written, missing, problems);
    }
}

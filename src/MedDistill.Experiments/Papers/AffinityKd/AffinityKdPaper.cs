using System.Globalization;
using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Runs;
using MedDistill.Models.Profiling;
using MedDistill.Torch;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// The Affinity-KD paper (adaptive affinity-based generalisation, six-site prostate MRI) behind <see cref="IPaper"/>:
/// Table 1 without runs, Tables 2–4 from the runs of <see cref="AffinityKdExperiment"/>, and the sensitivity study.
/// </summary>
public sealed class AffinityKdPaper : IPaper
{
    public string Id => AffinityKdExperiment.Paper;
    public string Title => "Affinity-KD: adaptive affinity-based knowledge distillation for generalisable prostate MRI segmentation (six sites)";
    public IReadOnlyList<ExperimentProfile> Profiles => AffinityKdExperiment.Profiles;
    public IReadOnlyList<string> RunTables => AffinityKdExperiment.Tables;
    public IReadOnlyList<string> StaticTables { get; } = ["table1"];
    public IReadOnlyList<string> Studies { get; } = [AffinityKdSensitivity.Table];

    /// <summary>The paper's own setting once the real multi-site archive is extracted, else the phantom.</summary>
    public ExperimentProfile DefaultProfile(string dataRoot) =>
        Directory.Exists(Path.Combine(dataRoot, AffinityKdExperiment.PaperProfile.Dataset)) ? AffinityKdExperiment.PaperProfile : AffinityKdExperiment.PhantomProfile;

    public IReadOnlyList<string[]> DataCommands(ExperimentProfile profile) =>
        profile.Dataset == ProstateLayout.PhantomName
            ? [["data", "phantom"]]
            : [["data", "fetch", profile.Dataset], ["data", "extract", profile.Dataset]];

    /// <summary>The profile's recipe: the data set's default at the profile's size. Its hash enters every run id.</summary>
    public static PreprocessRecipe Recipe(ExperimentProfile p) =>
        PreprocessRecipe.ByDataset.TryGetValue(p.Dataset, out var r)
            ? r with { Height = p.CacheSize, Width = p.CacheSize }
            : throw new ArgumentException($"profile {p.Name}: no preprocessing recipe for data set '{p.Dataset}'");

    public string RecipeHash(ExperimentProfile profile) => Recipe(profile).Hash();

    public string Prepare(ExperimentProfile profile, string dataRoot, IProgress<PreprocessProgress>? progress)
    {
        var source = ProstateLayout.Discover(ProstateLayout.FindRoot(Path.Combine(dataRoot, profile.Dataset), profile.Dataset), profile.Dataset);
        var report = Preprocessor.Run(source, Recipe(profile), Path.Combine(dataRoot, "cache", profile.Cache), progress);
        return $"{report.CacheDir}: built {report.Built}, reused {report.Reused} (recipe {report.RecipeHash[..12]})";
    }

    public IReadOnlyList<PlannedRun> Plan(PlanRequest request)
    {
        var plan = AffinityKdSensitivity.PlanTables(request.Profile, RecipeHash(request.Profile), request.Zoo,
            request.Tables ?? RunTables, request.Full);
        // Extra seeds are extra runs after the tables' own (they fill no cell; the tables find them by the same options).
        return [.. plan, .. AffinityKdSeeds.Plan(plan, request.Seeds, request.SeedRows ?? AffinityKdSeeds.DefaultSelection).Extra];
    }

    public TablesResult WriteTables(TablesRequest request)
    {
        var paperFolder = Path.Combine(request.RepositoryRoot, ((IPaper)this).TablesFolder);
        if (request.Table == "table1") return WriteTable1(request.OutputFolder ?? paperFolder, request.Log);
        var folder = Path.GetFullPath(request.OutputFolder ?? Path.Combine(paperFolder, request.Profile.Name));
        var hash = RecipeHash(request.Profile);
        if (request.Table == AffinityKdSensitivity.Table)
        {
            var study = AffinityKdSensitivity.Plan(request.Profile, hash, request.Zoo, request.Full);
            var (files, missing) = AffinityKdSensitivityTables.Write(request.Profile, study, request.Store, request.Full, folder);
            var problems = missing > 0 ? new[] { $"sensitivity: {missing} cells have no finished run (./build.sh --profile {request.Profile.Name} --target sensitivity)" } : [];
            return TablesResult.Of(files, missing, problems);
        }
        if (request.Table != "all" && !RunTables.Contains(request.Table))
            throw new ArgumentException($"{Id}: no table '{request.Table}'; tables: {string.Join(", ", [.. StaticTables, .. RunTables, "all", .. Studies])}");
        return WriteRunTables(request, request.Table == "all" ? RunTables : [request.Table], folder, paperFolder, hash);
    }

    private TablesResult WriteRunTables(TablesRequest request, IReadOnlyList<string> tables, string folder, string paperFolder, string hash)
    {
        var p = request.Profile;
        var written = new List<string>();
        var problems = new List<string>();
        var publishedDir = request.PublishedFolder ?? Path.Combine(request.RepositoryRoot, ((IPaper)this).PublishedFolder);
        var plan = AffinityKdExperiment.Plan(p, hash, request.Zoo, tables);
        var built = AffinityKdTables.Build(p, plan, request.Store, publishedDir, tables);
        int missing = 0;
        foreach (var t in built)
        {
            written.AddRange(PaperTables.Write(t, folder));
            missing += t.MissingCells;
            if (t.MissingCells > 0) problems.Add($"{t.Name}: {t.MissingCells} cells have no finished run (see meddistill pipeline plan --paper {Id} --profile {p.Name} --dry-run)");
        }
        var seedPlan = AffinityKdSeeds.Plan(plan, request.Seeds, request.SeedRows ?? AffinityKdSeeds.DefaultSelection);
        var seedTables = AffinityKdSeeds.Build(seedPlan, p, built, request.Store);
        foreach (var s in seedTables)
        {
            written.Add(AffinityKdSeeds.Write(s, folder));
            missing += s.MissingRuns;
            if (s.MissingRuns > 0) problems.Add($"{s.Name}: {s.MissingRuns} seed runs have not finished");
        }
        // Table 1 counts the networks themselves: the same for every profile, so the profile folder gets the committed one.
        foreach (var name in new[] { AffinityKdTable1.PaperCsv, AffinityKdTable1.MriCsv, "table1.notes.md" })
        {
            var source = Path.Combine(paperFolder, name);
            if (File.Exists(source)) File.Copy(source, Path.Combine(folder, name), overwrite: true);
        }
        if (tables.Count == RunTables.Count)
        {
            // runs.csv and domain-shift.csv describe every run of the profile: one table's subset would drop the others' rows.
            written.Add(PaperRuns.Write(plan, request.Store, folder));
            written.Add(AffinityKdDomainShift.Write(AffinityKdDomainShift.Rows(plan, request.Store), folder));
            written.AddRange(AffinityKdReport.Write(p, plan, built, request.Store, request.DataRoot, folder, Device.CPU, seedTables));
        }
        return TablesResult.Of(written, missing, problems);
    }

    /// <summary>Parameters and FLOPs of the five networks at 384×384; a row off the published figures is a problem (exit 1).</summary>
    private static TablesResult WriteTable1(string folder, Action<string>? log)
    {
        if (File.Exists(folder)) throw new ArgumentException($"table1: --out {folder} is a file, not a folder");
        var result = AffinityKdTable1.Compute(m => log?.Invoke($"counting {m}"));
        var files = AffinityKdTable1.Write(result, folder, torch.__version__);
        log?.Invoke($"{"method",-12}{"in",4}{"classes",9}{"params",14}{"params_m",10}{"paper",8}{"GFLOPs",11}{"paper",9}{"GMACs true",12}");
        foreach (var r in result.Paper)
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{r.Entry.Method,-12}{r.Options.InChannels,4}{r.Options.Classes,9}{r.Cost.Parameters,14:N0}{r.ParamsM,10}{r.Entry.Published.ParamsM,8}{r.Cost.GflopsPaperConvention,11:F3}{r.Entry.Published.Gflops,9}{r.Cost.GmacsTrue,12:F3}"));
        var problems = AffinityKdTable1.Mismatches(result.Paper).Select(m => $"mismatch: {m}").ToList();
        if (problems.Count == 0)
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"Table 1 reproduced: params as printed, FLOPs within {AffinityKdTable1.GflopsTolerance:P1}"));
        return TablesResult.Of(files, 0, problems);
    }
}

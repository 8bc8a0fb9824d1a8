using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// One paper as the harness reads it: its profiles, the data a profile needs, the runs that fill its tables, and the
/// tables themselves. The pipeline (<c>meddistill pipeline</c>, build/pipeline.proj), the <c>tables</c> command, the
/// main job and the tests all go through this interface, so a new paper is a new folder under <c>Papers/</c> that
/// implements it and one line in <see cref="PaperRegistry"/>.
/// </summary>
public interface IPaper
{
    /// <summary>The name the CLI, the graph and the tables folder use: <c>affinity-kd</c>.</summary>
    string Id { get; }

    /// <summary>Citation-style title for listings.</summary>
    string Title { get; }

    /// <summary>Where its tables are committed, relative to the repository root: <c>paper-tables/&lt;id&gt;</c>.</summary>
    string TablesFolder => $"paper-tables/{Id}";

    /// <summary>Its published values (typed in from the paper), relative to the repository root.</summary>
    string PublishedFolder => $"{TablesFolder}/published";

    /// <summary>Profiles, the default (the built-in data's) first.</summary>
    IReadOnlyList<ExperimentProfile> Profiles { get; }

    /// <summary>The profile the main job runs when none is named: the first, unless the paper finds its real data.</summary>
    ExperimentProfile DefaultProfile(string dataRoot) => Profiles[0];

    /// <summary>Tables filled by runs, as <c>meddistill tables &lt;id&gt; &lt;table&gt;</c> and the graph name them.</summary>
    IReadOnlyList<string> RunTables { get; }

    /// <summary>Tables computed without runs (e.g. parameters and FLOPs), written once for every profile.</summary>
    IReadOnlyList<string> StaticTables { get; }

    /// <summary>Further studies with their own runs and outputs (e.g. <c>sensitivity</c>); a graph target each.</summary>
    IReadOnlyList<string> Studies { get; }

    /// <summary>
    /// The CLI commands (argument lists of <c>meddistill</c>) that make the profile's raw data present: generate a
    /// phantom, or download and extract the real archives. Each is idempotent.
    /// </summary>
    IReadOnlyList<string[]> DataCommands(ExperimentProfile profile);

    /// <summary>The hash of the profile's preprocessing recipe (part of every run id).</summary>
    string RecipeHash(ExperimentProfile profile);

    /// <summary>Builds or brings up to date the profile's preprocessed cache under <paramref name="dataRoot"/>; returns a status line.</summary>
    string Prepare(ExperimentProfile profile, string dataRoot, IProgress<PreprocessProgress>? progress);

    /// <summary>The runs of the requested tables or studies, teachers before their students.</summary>
    IReadOnlyList<PlannedRun> Plan(PlanRequest request);

    /// <summary>Writes the requested tables (run tables, studies or static tables) from the finished runs.</summary>
    TablesResult WriteTables(TablesRequest request);
}

/// <summary>What to plan: a profile, the tables or studies (null: the run tables), the zoo, and the seed repetitions.</summary>
public sealed record PlanRequest(ExperimentProfile Profile, IReadOnlyCollection<string> Zoo)
{
    public IReadOnlyList<string>? Tables { get; init; }

    /// <summary>A study's every variant, not only its default ones.</summary>
    public bool Full { get; init; }

    /// <summary>Run seeds per chosen cell (1: only the tables' seed) and which cells, in the paper's own selection syntax.</summary>
    public int Seeds { get; init; } = 1;
    public string? SeedRows { get; init; }
}

/// <summary>What to write: the tables (a run table, <c>all</c>, a study, or a static table), where from and where to.</summary>
public sealed record TablesRequest(ExperimentProfile Profile, string Table, RunStore Store, string RepositoryRoot, string DataRoot)
{
    /// <summary>Null: the paper's folder (static tables) or its profile subfolder.</summary>
    public string? OutputFolder { get; init; }
    public IReadOnlyCollection<string> Zoo { get; init; } = [];
    public string? PublishedFolder { get; init; }
    public bool Full { get; init; }
    public int Seeds { get; init; } = 1;
    public string? SeedRows { get; init; }
    public Action<string>? Log { get; init; }
}

/// <summary>The files written and how many cells or runs had nothing finished to fill them (non-zero: exit 1).</summary>
public sealed record TablesResult(IReadOnlyList<string> Files, int Missing, IReadOnlyList<string> Problems)
{
    public static TablesResult Of(IEnumerable<string> files, int missing = 0, IEnumerable<string>? problems = null) =>
        new(files.ToList(), missing, (problems ?? []).ToList());
}

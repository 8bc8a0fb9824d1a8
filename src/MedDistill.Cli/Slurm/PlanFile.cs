using System.Text.Json;
using MedDistill.Experiments.Runs;

namespace MedDistill.Cli.Slurm;

/// <summary>
/// plan.json in a plan folder: every run's CLI arguments (the very ones its MSBuild project executes), its teacher and
/// the table commands, so a scheduler other than MSBuild (<c>pipeline submit</c>) runs the same graph without parsing
/// the generated projects.
/// </summary>
public sealed record PlanFile
{
    public const string FileName = "plan.json";

    public required string Paper { get; init; }
    public required string Profile { get; init; }

    /// <summary>Absolute runs folder every run writes to (a finished run there is skipped).</summary>
    public required string RunsDir { get; init; }
    public required string DataDir { get; init; }

    /// <summary>The runs in scheduling order: teachers before the students that need them.</summary>
    public required IReadOnlyList<PlanFileRun> Runs { get; init; }

    /// <summary>Argument lists of <c>meddistill</c> that write the tables once the runs are done.</summary>
    public required IReadOnlyList<string[]> Tables { get; init; }

    public void Write(string planDir) =>
        AtomicFile.WriteAllText(Path.Combine(planDir, FileName), JsonSerializer.Serialize(this, Json) + "\n");

    public static PlanFile Read(string planDir)
    {
        var path = Path.Combine(planDir, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} does not exist: write the plan first (meddistill pipeline plan --out {planDir}, or ./build.sh --target plan)");
        try
        {
            var plan = JsonSerializer.Deserialize<PlanFile>(File.ReadAllText(path), Json) ?? throw new JsonException("empty");
            foreach (var r in plan.Runs)
                if (!RunStore.IsRunId(r.Id)) throw new JsonException($"'{r.Id}' is not a run id");
            return plan;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a plan file ({e.Message}); write it again with meddistill pipeline plan");
        }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}

/// <param name="Id">Run id (the run's folder name).</param>
/// <param name="Key">The paper's key, e.g. <c>teacher/unet/flare</c>.</param>
/// <param name="Stage"><c>teacher</c> or <c>student</c>.</param>
/// <param name="Teacher">Run id of the teacher run this one needs, when it needs one.</param>
/// <param name="Spec">The spec file in the plan folder (the run's Inputs in the MSBuild graph).</param>
/// <param name="Args">Arguments of <c>meddistill</c> (train or distill, the spec, folders, device, threads).</param>
/// <param name="Environment">Variables the run needs (e.g. one OpenBLAS thread).</param>
public sealed record PlanFileRun(string Id, string Key, string Stage, string? Teacher, string Spec, string[] Args, IReadOnlyDictionary<string, string> Environment);

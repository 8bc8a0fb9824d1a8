using System.Globalization;
using System.Text.Json;
using MedDistill.Evaluation;

namespace MedDistill.Experiments.Runs;

/// <summary>One run of a planned graph: its id, stage (<c>teacher</c> or <c>student</c>) and plan key.</summary>
public sealed record GraphRun(string Id, string Stage, string Key);

/// <summary>
/// graph.json beside a plan's run projects: when this invocation of the graph started, how many runs go in parallel,
/// and every run in scheduling order. Each finished run reads it to print one progress line for the whole graph.
/// </summary>
public sealed record GraphManifest(DateTime StartedUtc, int Jobs, IReadOnlyList<GraphRun> Runs)
{
    public const string FileName = "graph.json";

    public void Write(string planDir) =>
        AtomicFile.WriteAllText(Path.Combine(planDir, FileName), JsonSerializer.Serialize(this, Json));

    public static GraphManifest? TryRead(string planDir)
    {
        var path = Path.Combine(planDir, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<GraphManifest>(File.ReadAllText(path), Json); }
        catch (JsonException) { return null; }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}

/// <summary>
/// The whole graph's progress: runs finished out of all planned, time since this invocation started, and an estimate of
/// what is left. The estimate sums, over the unfinished runs, the mean wall time of finished runs of the same stage
/// (this invocation's when it has some, else any recorded), divided by the parallel workers — rough on purpose: it
/// ignores the progress of the runs in flight and the packing of the last ones.
/// </summary>
public static class GraphProgress
{
    public static string Line(GraphManifest graph, RunStore store, DateTime nowUtc)
    {
        var finished = new List<(GraphRun Run, RunState State, bool ThisSession)>();
        var pending = new List<GraphRun>();
        foreach (var run in graph.Runs)
        {
            var folder = store.Folder(run.Id);
            if (!folder.IsFinished) { pending.Add(run); continue; }
            var state = folder.ReadState();
            finished.Add((run, state, state.UpdatedUtc >= graph.StartedUtc));
        }
        var elapsed = nowUtc - graph.StartedUtc;
        int session = finished.Count(f => f.ThisSession);
        var line = $"graph: {finished.Count}/{graph.Runs.Count} runs done ({session} in this invocation), {Clock(elapsed)} elapsed";
        if (pending.Count == 0) return line + ", all done";

        double? MeanSeconds(string stage, bool thisSession)
        {
            var times = finished.Where(f => f.Run.Stage == stage && (!thisSession || f.ThisSession) && f.State.WallSeconds is > 0)
                .Select(f => f.State.WallSeconds!.Value).ToList();
            return times.Count == 0 ? null : times.Average();
        }
        double? any = finished.Where(f => f.State.WallSeconds is > 0).Select(f => f.State.WallSeconds!.Value).DefaultIfEmpty(double.NaN).Average();
        double left = 0;
        foreach (var run in pending)
        {
            var mean = MeanSeconds(run.Stage, true) ?? MeanSeconds(run.Stage, false) ?? (double.IsNaN(any ?? double.NaN) ? null : any);
            if (mean is null) return line + $", {pending.Count} to go (an estimate follows the first finished run)";
            left += mean.Value;
        }
        return line + $", about {Clock(TimeSpan.FromSeconds(left / Math.Max(1, graph.Jobs)))} left";
    }

    private static string Clock(TimeSpan t) =>
        t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}:{t.Seconds:D2}");
}

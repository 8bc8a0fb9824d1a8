using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// Everything a pipeline profile decides: which data and cache, how wide the networks are, how long they train, how
/// the pipeline's workers use the machine. The paper's own settings are the <c>paper</c> profile; the others shrink the
/// work and say so in every table's notes.
/// </summary>
public sealed record ExperimentProfile
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required string Dataset { get; init; }

    /// <summary>Cache folder under &lt;data-dir&gt;/cache and its in-plane size (the pipeline's prepare step makes it).</summary>
    public required string Cache { get; init; }
    public required int CacheSize { get; init; }

    public double TeacherWidth { get; init; } = 1.0;
    public double StudentWidth { get; init; } = 1.0;
    public required ScheduleSpec Schedule { get; init; }

    /// <summary>The teachers' schedule when it differs from the students' (null: the same); the paper uses one for both.</summary>
    public ScheduleSpec? TeacherSchedule { get; init; }
    public double EmptySliceFraction { get; init; } = 1.0;
    public double ValidationFraction { get; init; } = 0.2;
    public long Seed { get; init; }

    /// <summary>Targets planned (test sites or domains, as the paper names them; tests plan fewer).</summary>
    public IReadOnlyList<string> Targets { get; init; } = [];

    /// <summary>libtorch threads per run; 0 = libtorch's default. Parallel pipeline workers each get this many.</summary>
    public int ThreadsPerRun { get; init; }
}

/// <summary>A cell of a paper table: which table, row label and column.</summary>
public sealed record TableCell(string Table, string Row, string Column);

/// <summary>One run the experiment needs, the cells it fills, and (for students) the run it learns from.</summary>
public sealed record PlannedRun(string Key, RunSpec Spec, string Id, string? TeacherKey, IReadOnlyList<TableCell> Cells)
{
    public bool IsTeacher => Spec.Kind == RunSpec.TrainKind && TeacherKey is null && Key.StartsWith("teacher/", StringComparison.Ordinal);
}


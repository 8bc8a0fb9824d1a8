namespace MedDistill.Experiments.Papers;

/// <summary>How the reproduction graph orders a plan's runs for its workers.</summary>
public static class GraphSchedule
{
    /// <summary>
    /// The order the graph hands runs to its workers: target by target, each target's teachers first, then its runs that
    /// need no teacher (they fill a worker while a teacher trains), then its students in teacher order. A target's students
    /// so start as soon as its teachers are done, instead of after every teacher of every target.
    /// </summary>
    public static IReadOnlyList<PlannedRun> Order(IReadOnlyList<PlannedRun> plan)
    {
        var teacherRank = plan.Where(r => r.IsTeacher).Select((r, i) => (r.Key, i)).ToDictionary(x => x.Key, x => x.i);
        // A target is a data set's test split: a site of one data set (leave-one-site-out) or one data set's own list.
        static string TargetOf(PlannedRun r) => r.Spec.Data.Dataset + "/" + r.Spec.Data.Split.Target;
        var targets = plan.Select(TargetOf).Distinct().ToList();
        return plan
            .Select((r, i) => (Run: r, Index: i))
            .OrderBy(x => targets.IndexOf(TargetOf(x.Run)))
            .ThenBy(x => x.Run.IsTeacher ? 0 : x.Run.TeacherKey is null ? 1 : 2)
            .ThenBy(x => x.Run.TeacherKey is { } t && teacherRank.TryGetValue(t, out var rank) ? rank : -1)
            .ThenBy(x => x.Index)
            .Select(x => x.Run)
            .ToList();
    }
}

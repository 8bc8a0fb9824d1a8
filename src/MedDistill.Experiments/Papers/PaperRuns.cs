using System.Globalization;
using MedDistill.Shared;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// runs.csv of a profile's tables: one line per planned run with its validation curve's summary and whether it
/// converged (<see cref="Convergence.Criterion"/>), so a reader can tell a trained cell from an undertrained one.
/// </summary>
public static class PaperRuns
{
    public const string FileName = "runs.csv";
    public const string Header = "key,run,kind,model,method,target,steps,epochs,best_epoch,best_validation_dice,first_half_best,test_dice,converged";

    public static string Csv(IReadOnlyList<PlannedRun> plan, RunStore store)
    {
        var records = new List<string?[]> { Header.Split(',') };
        foreach (var run in plan.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var folder = store.Folder(run.Id);
            bool finished = folder.IsFinished;
            var c = finished ? Convergence.Of(folder) : null;
            var state = finished ? folder.ReadState() : null;
            string test = finished ? F(MetricsReport.Read(folder.MetricsPath).MeanDice()) : "";
            var spec = run.Spec;
            var method = spec.Method.Name + (spec.Method.Options is { Count: > 0 } o ? " " + o.ToJsonString() : "");
            records.Add([run.Key, run.Id, spec.Kind, spec.Model.Name, method, spec.Data.Split.Target,
                state?.Step.ToString(CultureInfo.InvariantCulture) ?? "", c?.Epochs.ToString(CultureInfo.InvariantCulture) ?? "",
                c?.BestEpoch?.ToString(CultureInfo.InvariantCulture) ?? "", c?.BestDice is double b ? F(b) : "",
                c?.FirstHalfBest is double h ? F(h) : "", test, c is null ? "" : c.Converged ? "yes" : "no"]);
        }
        return MedDistill.Shared.Csv.Write(records);
    }

    /// <summary>How many finished runs converged, out of how many finished: the line the notes and report quote.</summary>
    public static (int Converged, int Finished) Count(IReadOnlyList<PlannedRun> plan, RunStore store)
    {
        int converged = 0, finished = 0;
        foreach (var run in plan)
        {
            var folder = store.Folder(run.Id);
            if (!folder.IsFinished) continue;
            finished++;
            if (Convergence.Of(folder).Converged) converged++;
        }
        return (converged, finished);
    }

    public static string Write(IReadOnlyList<PlannedRun> plan, RunStore store, string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName);
        AtomicFile.WriteAllText(path, Csv(plan, store));
        return path;
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}

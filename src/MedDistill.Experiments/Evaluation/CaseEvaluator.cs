using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;
using MedDistill.Torch;

namespace MedDistill.Experiments.Evaluation;

/// <summary>
/// Per-case 3D evaluation of a run's network on its split's test cases: each case is predicted slice by slice, stacked
/// into its volume, and scored per foreground class with Dice, HD95 and ASD in millimetres at the cache's voxel spacing
/// (see docs/evaluation.md for the definitions and the empty-mask rules). The report goes to metrics.json (with the
/// run's id, seed, libtorch, device) and metrics.csv.
/// </summary>
public static class CaseEvaluator
{
    /// <summary>
    /// Mean over foreground classes of the 3D Dice of one predicted case (validation's model-selection score). Multi-class
    /// runs skip classes absent from both volumes, as the test metrics do (<see cref="ScoreCase"/>); a case where every
    /// class is absent from both scores 1, the binary rule, so validation never sees NaN.
    /// </summary>
    public static double MeanForegroundDice(byte[] prediction, CachedCase c, string cacheDir, int classes)
    {
        var reference = CacheArrays.ReadLabel(cacheDir, c);
        var grid = VolumeGrid.FromShape(c.Shape, c.Spacing);
        if (classes == 2) return SegmentationMetrics.Dice(prediction, reference, grid, 1);
        var present = new bool[256];
        for (int i = 0; i < prediction.Length; i++) present[prediction[i]] = present[reference[i]] = true;
        double sum = 0;
        int counted = 0;
        for (int k = 1; k < classes; k++)
            if (present[k]) { sum += SegmentationMetrics.Dice(prediction, reference, grid, (byte)k); counted++; }
        return counted == 0 ? 1.0 : sum / counted;
    }

    /// <summary>
    /// The metric rows of one test case, one per foreground class. Two-class runs (the prostate) keep the binary rule: a
    /// class absent from both prediction and reference scores Dice 1, distances 0 (the committed tables depend on it).
    /// Multi-class runs follow <see cref="MultiClassMetrics"/>: such a class has no defined score, so its row keeps its
    /// voxel counts but Dice and the distances are NaN (null in metrics.json, empty in metrics.csv), left out of every
    /// mean and counted in the summaries' <c>excluded</c>. Otherwise an organ missing from a scan would add a perfect 1 to
    /// that scan's multi-organ mean.
    /// </summary>
    public static IReadOnlyList<CaseMetrics> ScoreCase(string caseId, string site, byte[] prediction, byte[] reference, VolumeGrid grid, int classes)
    {
        var labels = Enumerable.Range(1, classes - 1).Select(k => (byte)k).ToArray();
        var rows = SegmentationMetrics.ComputeClasses(caseId, site, prediction, reference, grid, labels);
        if (classes == 2) return rows;
        return rows.Select(r => r.PredictionVoxels == 0 && r.ReferenceVoxels == 0
            ? r with { Dice = double.NaN, Hd95 = double.NaN, Asd = double.NaN, AssdMedPy = double.NaN, Hd = double.NaN }
            : r).ToArray();
    }

    /// <summary>Evaluates <paramref name="model"/> (the run's selected weights) and writes metrics.json and metrics.csv.</summary>
    public static MetricsReport EvaluateRun(PreparedRun run, SegmentationModel model, Device device, int batchSize, ITrainingProgress? progress = null)
    {
        var spec = run.Spec;
        var predictor = new VolumePredictor(model, run.CacheDir, spec.Data.Channels, batchSize, device, spec.Precision == "bf16");
        var rows = new List<CaseMetrics>();
        var testIds = run.Split[DataSplit.Test];
        var cases = run.Cache.Cases.Where(c => testIds.Contains(c.Id)).ToList();
        foreach (var c in cases)
        {
            var prediction = predictor.Predict(c);
            var reference = CacheArrays.ReadLabel(run.CacheDir, c);
            rows.AddRange(ScoreCase(c.Id, c.Site, prediction, reference, VolumeGrid.FromShape(c.Shape, c.Spacing), spec.Model.Classes));
        }
        var report = MetricsReport.Create(rows, new Dictionary<string, string>
        {
            ["run"] = run.Id,
            ["kind"] = spec.Kind,
            ["model"] = spec.Model.Name,
            ["method"] = spec.Method.Name,
            ["target"] = spec.Data.Split.Target,
            ["seed"] = spec.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["libtorch"] = torch.__version__,
            ["device"] = device.Type.ToString().ToLowerInvariant(),
        });
        // Before metrics.json: a run whose per-domain files failed is not taken for evaluated.
        if (DomainEvaluator.Applies(spec)) DomainEvaluator.EvaluateRun(run, model, device, batchSize);
        report.Write(run.Folder.MetricsPath);
        report.WriteCasesCsv(run.Folder.MetricsCsvPath);
        progress?.Message($"run {run.Id}: test Dice {report.MeanDice():0.0000} over {cases.Count} cases of {spec.Data.Split.Target}");
        return report;
    }

    /// <summary>Loads the run's model.safetensors and evaluates it (meddistill evaluate).</summary>
    public static MetricsReport EvaluateSaved(PreparedRun run, Device device, int batchSize = 8)
    {
        using var model = ModelRegistry.Create(run.Spec.Model.Name, Trainer.ToOptions(run.Spec.Model));
        TrainingCheckpoint.LoadWeights(run.Folder.ModelPath, model);
        model.to(device);
        return EvaluateRun(run, model, device, batchSize);
    }
}

public static class MetricsReportExtensions
{
    /// <summary>
    /// Mean over foreground classes of each class's mean 3D Dice over cases (the tables' number). A class with no defined
    /// Dice in any case (multi-class runs: absent from every test case and never predicted) has no mean and is skipped,
    /// not allowed to make the whole number NaN; NaN only when no class has one.
    /// </summary>
    public static double MeanDice(this MetricsReport report)
    {
        var means = report.Overall.Select(s => s.Dice.Mean).OfType<double>().Where(v => !double.IsNaN(v)).ToList();
        return means.Count == 0 ? double.NaN : means.Average();
    }
}

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
    /// <summary>Mean over foreground classes of the 3D Dice of one predicted case (validation's model-selection score).</summary>
    public static double MeanForegroundDice(byte[] prediction, CachedCase c, string cacheDir, int classes)
    {
        var reference = CacheArrays.ReadLabel(cacheDir, c);
        var grid = VolumeGrid.FromShape(c.Shape, c.Spacing);
        double sum = 0;
        for (int k = 1; k < classes; k++) sum += SegmentationMetrics.Dice(prediction, reference, grid, (byte)k);
        return sum / (classes - 1);
    }

    /// <summary>Evaluates <paramref name="model"/> (the run's selected weights) and writes metrics.json and metrics.csv.</summary>
    public static MetricsReport EvaluateRun(PreparedRun run, SegmentationModel model, Device device, int batchSize, ITrainingProgress? progress = null)
    {
        var spec = run.Spec;
        var predictor = new VolumePredictor(model, run.CacheDir, spec.Data.Channels, batchSize, device, spec.Precision == "bf16");
        var classes = Enumerable.Range(1, spec.Model.Classes - 1).Select(k => (byte)k).ToArray();
        var rows = new List<CaseMetrics>();
        var testIds = run.Split[DataSplit.Test];
        var cases = run.Cache.Cases.Where(c => testIds.Contains(c.Id)).ToList();
        foreach (var c in cases)
        {
            var prediction = predictor.Predict(c);
            var reference = CacheArrays.ReadLabel(run.CacheDir, c);
            rows.AddRange(SegmentationMetrics.ComputeClasses(c.Id, c.Site, prediction, reference, VolumeGrid.FromShape(c.Shape, c.Spacing), classes));
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
    /// <summary>Mean over cases and foreground classes of the 3D Dice (the tables' number).</summary>
    public static double MeanDice(this MetricsReport report) =>
        report.Overall.Count == 0 ? double.NaN : report.Overall.Average(s => s.Dice.Mean ?? double.NaN);
}

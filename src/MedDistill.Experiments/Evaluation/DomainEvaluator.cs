using System.Globalization;
using MedDistill.Data.Loading;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Data.Volumes;
using MedDistill.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Models;
using MedDistill.Shared;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Experiments.Evaluation;

/// <summary>One test case's pixel metrics inside its field of view (GKD's metric set).</summary>
public sealed record DomainCaseMetrics(string CaseId, string Site, long Pixels, double Dice, double Accuracy, double Sensitivity,
    double Specificity, double MeanIou, double Auc);

/// <summary>
/// The per-domain evaluation of a run trained on one source domain and tested on several (split protocol <c>source</c>,
/// GKD's protocol): per test case, inside its field of view when the cache has one (fundus) and over the whole volume
/// otherwise (CT), the foreground's Dice (= F1), pixel accuracy, sensitivity, specificity, the mean IoU of background and
/// foreground (the authors' test script averages its confusion matrix's two classes) and the ROC AUC of the softmax
/// foreground probability. It also keeps one semantic vector per slice — the spatial mean of the network's
/// <c>encoder</c> tap — of every test case and of every source-domain case, so the tables can give each run its Fréchet
/// semantic distance between the source domain and each target domain with one rule for every network and method.
/// Files: <c>domain-metrics.csv</c>, <c>semantic-vectors.npy</c> (rows × channels, float32) and <c>semantic-vectors.csv</c>.
/// </summary>
public static class DomainEvaluator
{
    public const string MetricsFile = "domain-metrics.csv";
    public const string VectorsFile = "semantic-vectors.npy";
    public const string VectorRowsFile = "semantic-vectors.csv";

    public static readonly string[] MetricColumns = ["dice", "accuracy", "sensitivity", "specificity", "miou", "auc"];

    /// <summary>Whether runs of this spec get the per-domain evaluation.</summary>
    public static bool Applies(RunSpec spec) => spec.Data.Split.Protocol == RunSplits.Source;

    public static IReadOnlyList<DomainCaseMetrics> EvaluateRun(PreparedRun run, SegmentationModel model, Device device, int batchSize)
    {
        var spec = run.Spec;
        if (spec.Model.Classes != 2) throw new ArgumentException($"run {run.Id}: the per-domain evaluation is binary (vessel, liver); the model has {spec.Model.Classes} classes");
        var test = run.Split[DataSplit.Test].ToHashSet(StringComparer.Ordinal);
        string source = spec.Data.Split.Target;
        var cases = run.Cache.Cases.Where(c => test.Contains(c.Id) || c.Site == source).ToList();
        var rows = new List<DomainCaseMetrics>();
        var vectors = new List<float[]>();
        var vectorRows = new List<string?[]> { new[] { "row", "case", "site", "slice", "role" } };
        bool wasTraining = model.training;
        model.eval();
        try
        {
            foreach (var c in cases)
            {
                var (probability, caseVectors) = Predict(model, run.CacheDir, c, spec.Data.Channels, batchSize, device);
                for (int z = 0; z < caseVectors.Count; z++)
                {
                    vectorRows.Add([vectors.Count.ToString(CultureInfo.InvariantCulture), c.Id, c.Site, z.ToString(CultureInfo.InvariantCulture),
                        test.Contains(c.Id) ? DataSplit.Test : DataSplit.Train]);
                    vectors.Add(caseVectors[z]);
                }
                if (test.Contains(c.Id)) rows.Add(Score(c, probability, run.CacheDir));
            }
        }
        finally { model.train(wasTraining); }

        var folder = run.Folder.Path;
        AtomicFile.WriteAllText(Path.Combine(folder, MetricsFile), Csv.Write(
            [["case", "site", "pixels", .. MetricColumns], .. rows.Select(r => new string?[] { r.CaseId, r.Site, r.Pixels.ToString(CultureInfo.InvariantCulture),
                F(r.Dice), F(r.Accuracy), F(r.Sensitivity), F(r.Specificity), F(r.MeanIou), F(r.Auc) })]));
        int d = vectors.Count == 0 ? 0 : vectors[0].Length;
        var flat = new float[vectors.Count * d];
        for (int i = 0; i < vectors.Count; i++) vectors[i].CopyTo(flat, i * d);
        var npy = NpyWriter.Encode(new Volume(flat, [vectors.Count, d]));
        AtomicFile.Write(Path.Combine(folder, VectorsFile), s => s.Write(npy));
        AtomicFile.WriteAllText(Path.Combine(folder, VectorRowsFile), Csv.Write(vectorRows));
        return rows;
    }

    /// <summary>Reads a finished run's domain-metrics.csv.</summary>
    public static IReadOnlyList<DomainCaseMetrics> Read(string runFolder)
    {
        var path = Path.Combine(runFolder, MetricsFile);
        var records = Csv.Read(File.ReadAllText(path), (line, what) => new InvalidDataException($"{path}:{line}: {what}"));
        return records.Skip(1).Select(r => new DomainCaseMetrics(r.Fields[0], r.Fields[1], long.Parse(r.Fields[2], CultureInfo.InvariantCulture),
            P(r.Fields[3]), P(r.Fields[4]), P(r.Fields[5]), P(r.Fields[6]), P(r.Fields[7]), P(r.Fields[8]))).ToList();
    }

    /// <summary>A run's semantic vectors of one site (rows × channels) and whether they are that site's test cases or all of them.</summary>
    public static double[,] ReadVectors(string runFolder, Func<string, string, bool> select)
    {
        var rowsPath = Path.Combine(runFolder, VectorRowsFile);
        var rows = Csv.Read(File.ReadAllText(rowsPath), (line, what) => new InvalidDataException($"{rowsPath}:{line}: {what}")).Skip(1)
            .Where(r => select(r.Fields[2], r.Fields[4])).Select(r => int.Parse(r.Fields[0], CultureInfo.InvariantCulture)).ToList();
        var all = VolumeReader.Read(Path.Combine(runFolder, VectorsFile));
        int d = all.Shape[1];
        var result = new double[rows.Count, d];
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < d; j++) result[i, j] = all.Data[rows[i] * d + j];
        return result;
    }

    private static (float[] Probability, List<float[]> Vectors) Predict(SegmentationModel model, string cacheDir, CachedCase c, int channels, int batchSize, Device device)
    {
        var dataset = new SliceDataset(cacheDir, [c.Id], new SliceDatasetOptions { Channels = channels, EmptySliceFraction = 1 });
        var loader = new SliceLoader(dataset, new LoaderOptions { BatchSize = batchSize, Shuffle = false });
        int plane = c.Height * c.Width;
        var probability = new float[(long)c.Slices * plane];
        var vectors = new List<float[]>();
        int offset = 0;
        foreach (var batch in loader.Epoch(0))
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (image, _) = batch.ToTensors(device);
            var maps = model.forward_features(image, SegmentationModel.EncoderTap);
            using var foreground = maps.Logits.softmax(1).select(1, 1).contiguous().cpu();
            foreground.ToArray<float>().CopyTo(probability.AsSpan(offset * plane, batch.Count * plane));
            using var pooled = maps[SegmentationModel.EncoderTap].mean([2L, 3L]).to(ScalarType.Float32).contiguous().cpu();
            var flat = pooled.ToArray<float>();
            int d = flat.Length / batch.Count;
            for (int i = 0; i < batch.Count; i++) vectors.Add(flat.AsSpan(i * d, d).ToArray());
            offset += batch.Count;
        }
        return (probability, vectors);
    }

    /// <summary>Pixel metrics of one case from its foreground probability (prediction: probability above one half, the argmax of two classes).</summary>
    public static DomainCaseMetrics Score(CachedCase c, float[] probability, string cacheDir)
    {
        var reference = CacheArrays.ReadLabel(cacheDir, c);
        var fovBytes = CacheArrays.ReadFov(cacheDir, c);
        bool[]? fov = fovBytes?.Select(v => v != 0).ToArray();
        return Score(c.Id, c.Site, probability, reference, fov, VolumeGrid.FromShape(c.Shape, c.Spacing));
    }

    public static DomainCaseMetrics Score(string caseId, string site, float[] probability, byte[] reference, bool[]? fov, VolumeGrid grid)
    {
        var prediction = probability.Select(p => (byte)(p > 0.5f ? 1 : 0)).ToArray();
        var m = MultiClassMetrics.Compute(caseId, site, prediction, reference, grid, 2, mask: fov);
        var vessel = m.Classes[1];
        // Dice = F1 of the foreground; a case with neither reference nor predicted foreground has no defined Dice (NaN).
        return new DomainCaseMetrics(caseId, site, m.EvaluatedVoxels, vessel.Absent ? double.NaN : vessel.Dice, m.PixelAccuracy,
            vessel.Sensitivity, vessel.Specificity, m.MeanIou, RocAuc.Compute(probability, reference, fov));
    }

    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
    private static double P(string s) => s.Length == 0 ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
}

using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;
using MedDistill.Torch;

namespace MedDistill.Experiments.Reports;

/// <summary>How a segmentation overlay looks. Every default is a choice where the paper (Fig. 3) is silent or only shows it.</summary>
public sealed record OverlayOptions
{
    /// <summary>Nearest-neighbour magnification of the slice: 3 makes a 96² slice 288², so 1-px contours stay thin beside the voxels.</summary>
    public int Upscale { get; init; } = 3;

    /// <summary>Intensity at or below this percentile of the slice's finite values is black (robust to a few bright voxels).</summary>
    public double LowerPercentile { get; init; } = 0.5;

    /// <summary>Intensity at or above this percentile of the slice's finite values is white.</summary>
    public double UpperPercentile { get; init; } = 99.5;

    /// <summary>Ground-truth contour; red as in the paper's Fig. 3.</summary>
    public Rgb GroundTruthColour { get; init; } = Rgb.Red;

    /// <summary>Predicted contour; green as in the paper's Fig. 3.</summary>
    public Rgb PredictionColour { get; init; } = Rgb.Green;

    /// <summary>Pixels on both contours (red + green light = yellow), so agreement is visible rather than hidden under one colour.</summary>
    public Rgb AgreementColour { get; init; } = Rgb.Yellow;

    public static OverlayOptions Default { get; } = new();

    internal void Validate()
    {
        if (Upscale < 1) throw new ArgumentOutOfRangeException(nameof(Upscale), $"{Upscale} must be at least 1");
        if (!(LowerPercentile >= 0 && LowerPercentile < UpperPercentile && UpperPercentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(LowerPercentile), $"need 0 ≤ lower < upper ≤ 100, got {LowerPercentile} and {UpperPercentile}");
    }
}

/// <summary>One rendered slice of a case and what it shows.</summary>
/// <param name="SliceDice">2D Dice of prediction and ground truth (foreground = class &gt; 0) on the slice; null when both are empty.</param>
public sealed record CaseOverlay(string CaseId, string Site, int SliceIndex, int GroundTruthPixels, int PredictedPixels, double? SliceDice, RgbImage Image);

/// <summary>
/// Draws a slice in grey with the ground-truth contour in red and the predicted contour in green (yellow where they
/// coincide), as the paper's Fig. 3. Foreground is every class &gt; 0. The masks are magnified first (nearest neighbour)
/// and the contour is taken at the magnified resolution: a foreground pixel with at least one of its 4 neighbours
/// (left, right, up, down) in the background or outside the image. Contours are therefore 1 pixel wide and lie on the
/// outermost pixels of the structure, never on background.
/// </summary>
public static class OverlayRenderer
{
    /// <summary>
    /// Renders one slice. <paramref name="image"/>, <paramref name="groundTruth"/> and <paramref name="prediction"/> hold
    /// <paramref name="width"/>·<paramref name="height"/> values, rows top to bottom (the cache's (y, x) order).
    /// The result is (width·Upscale) × (height·Upscale).
    /// </summary>
    public static RgbImage Render(ReadOnlySpan<float> image, ReadOnlySpan<byte> groundTruth, ReadOnlySpan<byte> prediction,
        int width, int height, OverlayOptions? options = null)
    {
        options ??= OverlayOptions.Default;
        options.Validate();
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"a slice needs at least one pixel, got {width}×{height}");
        int plane = width * height;
        if (image.Length != plane) throw new ArgumentException($"image has {image.Length} values, {width}×{height} needs {plane}", nameof(image));
        if (groundTruth.Length != plane) throw new ArgumentException($"ground truth has {groundTruth.Length} values, {width}×{height} needs {plane}", nameof(groundTruth));
        if (prediction.Length != plane) throw new ArgumentException($"prediction has {prediction.Length} values, {width}×{height} needs {plane}", nameof(prediction));

        var grey = WindowToGrey(image, options.LowerPercentile, options.UpperPercentile);
        int s = options.Upscale, w = width * s, h = height * s;
        var truthContour = Contour(Magnify(groundTruth, width, height, s), w, h);
        var predictedContour = Contour(Magnify(prediction, width, height, s), w, h);

        var pixels = new byte[3L * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                bool t = truthContour[i], p = predictedContour[i];
                Rgb colour = t && p ? options.AgreementColour
                    : t ? options.GroundTruthColour
                    : p ? options.PredictionColour
                    : new Rgb(grey[(y / s) * width + x / s], grey[(y / s) * width + x / s], grey[(y / s) * width + x / s]);
                (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = (colour.R, colour.G, colour.B);
            }
        return new RgbImage(w, h, pixels);
    }

    /// <summary>
    /// Maps intensities linearly from [the <paramref name="lowerPercentile"/>, the <paramref name="upperPercentile"/>]
    /// percentile of the finite values (NumPy's linear percentile) to 0–255, clamping outside and rounding half away from
    /// zero. Non-finite values are black. A flat window (upper = lower) thresholds: above it white, else black.
    /// </summary>
    public static byte[] WindowToGrey(ReadOnlySpan<float> image, double lowerPercentile, double upperPercentile)
    {
        var finite = new List<double>(image.Length);
        foreach (var v in image) if (float.IsFinite(v)) finite.Add(v);
        var grey = new byte[image.Length];
        if (finite.Count == 0) return grey;
        var sorted = finite.ToArray();
        Array.Sort(sorted);
        double low = MedDistill.Evaluation.Percentile.LinearOfSorted(sorted, lowerPercentile);
        double high = MedDistill.Evaluation.Percentile.LinearOfSorted(sorted, upperPercentile);
        for (int i = 0; i < image.Length; i++)
        {
            float v = image[i];
            if (!float.IsFinite(v)) continue;
            if (!(high > low)) { grey[i] = v > low ? (byte)255 : (byte)0; continue; }
            double t = Math.Clamp((v - low) / (high - low), 0, 1);
            grey[i] = (byte)Math.Round(255 * t, MidpointRounding.AwayFromZero);
        }
        return grey;
    }

    /// <summary>Contour of the foreground (value &gt; 0) of a <paramref name="width"/>×<paramref name="height"/> mask, as defined on the class.</summary>
    public static bool[] Contour(ReadOnlySpan<byte> mask, int width, int height)
    {
        var contour = new bool[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                if (mask[y * width + x] == 0) continue;
                contour[y * width + x] =
                    x == 0 || mask[y * width + x - 1] == 0 ||
                    x == width - 1 || mask[y * width + x + 1] == 0 ||
                    y == 0 || mask[(y - 1) * width + x] == 0 ||
                    y == height - 1 || mask[(y + 1) * width + x] == 0;
            }
        return contour;
    }

    /// <summary>
    /// The slice to show for a case: the one with the most ground-truth foreground voxels (the prostate at its widest,
    /// where a contour says most); the first such slice on a tie; the middle slice when the case has no foreground.
    /// </summary>
    public static int LargestForegroundSlice(ReadOnlySpan<byte> labels, int slices, int width, int height)
    {
        int plane = width * height;
        if (slices < 1 || labels.Length != (long)slices * plane)
            throw new ArgumentException($"labels has {labels.Length} values, {slices} slices of {width}×{height} need {(long)slices * plane}", nameof(labels));
        int best = -1, bestCount = 0;
        for (int z = 0; z < slices; z++)
        {
            int count = 0;
            foreach (var v in labels.Slice(z * plane, plane)) if (v != 0) count++;
            if (count > bestCount) (best, bestCount) = (z, count);
        }
        return best >= 0 ? best : slices / 2;
    }

    /// <summary>
    /// Renders a slice of a cached case with a given predicted label volume (C order (z, y, x), as
    /// <see cref="VolumePredictor.Predict"/> returns): <paramref name="sliceIndex"/>, or by default
    /// <see cref="LargestForegroundSlice"/> of the ground truth.
    /// </summary>
    public static CaseOverlay RenderPrediction(string cacheDir, CachedCase c, ReadOnlySpan<byte> predictedVolume, int? sliceIndex = null, OverlayOptions? options = null)
    {
        int plane = c.Height * c.Width;
        if (predictedVolume.Length != (long)c.Slices * plane)
            throw new ArgumentException($"case {c.Id}: the prediction has {predictedVolume.Length} voxels, the cache {(long)c.Slices * plane}", nameof(predictedVolume));
        var truth = CacheArrays.ReadLabel(cacheDir, c);
        int z = sliceIndex ?? LargestForegroundSlice(truth, c.Slices, c.Width, c.Height);
        if (z < 0 || z >= c.Slices) throw new ArgumentOutOfRangeException(nameof(sliceIndex), $"case {c.Id} has slices 0–{c.Slices - 1}, not {z}");
        var image = SliceImage(CacheArrays.ReadImage(cacheDir, c), z, plane, c.ImageChannels);
        var truthSlice = truth.AsSpan(z * plane, plane);
        var predictedSlice = predictedVolume.Slice(z * plane, plane);

        int truthCount = 0, predictedCount = 0, both = 0;
        for (int i = 0; i < plane; i++)
        {
            bool t = truthSlice[i] != 0, p = predictedSlice[i] != 0;
            if (t) truthCount++;
            if (p) predictedCount++;
            if (t && p) both++;
        }
        double? dice = truthCount + predictedCount == 0 ? null : 2.0 * both / (truthCount + predictedCount);
        var rendered = Render(image, truthSlice, predictedSlice, c.Width, c.Height, options);
        return new CaseOverlay(c.Id, c.Site, z, truthCount, predictedCount, dice, rendered);
    }

    /// <summary>Slice <paramref name="z"/> as one grey plane: a colour slice's channels averaged, so the overlay's colours stay the labels'.</summary>
    private static float[] SliceImage(float[] image, int z, int plane, int channels)
    {
        var grey = new float[plane];
        for (int k = 0; k < channels; k++)
        {
            var source = image.AsSpan((z * channels + k) * plane, plane);
            for (int i = 0; i < plane; i++) grey[i] += source[i] / channels;
        }
        return grey;
    }

    /// <summary>
    /// Predicts case <paramref name="caseId"/> of <paramref name="run"/>'s cache with <paramref name="model"/> (the whole
    /// volume, exactly as the evaluation does: the run's channels, eval mode, no_grad) and renders one slice of it
    /// (<see cref="RenderPrediction"/>).
    /// </summary>
    public static CaseOverlay RenderCase(SegmentationModel model, PreparedRun run, string caseId, int? sliceIndex = null,
        OverlayOptions? options = null, Device? device = null, int batchSize = 8)
    {
        var c = run.Cache.Cases.FirstOrDefault(k => k.Id == caseId)
            ?? throw new ArgumentException($"case '{caseId}' is not in the cache at {run.CacheDir}", nameof(caseId));
        var predictor = new VolumePredictor(model, run.CacheDir, run.Spec.Data.Channels, batchSize, device ?? Device.CPU, run.Spec.Precision == "bf16");
        return RenderPrediction(run.CacheDir, c, predictor.Predict(c), sliceIndex, options);
    }

    /// <summary>As <see cref="RenderCase"/> with the run's own result weights (model.safetensors).</summary>
    public static CaseOverlay RenderSavedCase(PreparedRun run, string caseId, int? sliceIndex = null, OverlayOptions? options = null,
        Device? device = null, int batchSize = 8)
    {
        using var model = ModelRegistry.Create(run.Spec.Model.Name, Trainer.ToOptions(run.Spec.Model));
        TrainingCheckpoint.LoadWeights(run.Folder.ModelPath, model);
        model.to(device ?? Device.CPU);
        return RenderCase(model, run, caseId, sliceIndex, options, device, batchSize);
    }

    private static byte[] Magnify(ReadOnlySpan<byte> mask, int width, int height, int s)
    {
        if (s == 1) return mask.ToArray();
        int w = width * s;
        var big = new byte[w * height * s];
        for (int y = 0; y < height * s; y++)
            for (int x = 0; x < w; x++) big[y * w + x] = mask[(y / s) * width + x / s];
        return big;
    }
}

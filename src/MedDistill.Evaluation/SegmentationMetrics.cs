namespace MedDistill.Evaluation;

/// <summary>The two directed surface-distance sets of a case, in mm, each in C order of its source surface voxels.</summary>
public sealed record SurfaceDistances(double[] PredictionToReference, double[] ReferenceToPrediction);

/// <summary>
/// Per-case 3D metrics of one class: Dice, and the surface distances HD, HD95 and ASD in mm with the case's anisotropic spacing.
/// A voxel belongs to the class's mask when its label equals the class label. The surface of a mask is its voxels with at
/// least one 6-connected neighbour outside the mask, where outside the volume counts as outside the mask (so the mask's voxels
/// on the volume border are surface). Each surface voxel of one mask has as distance the Euclidean distance in mm between voxel
/// centres to the nearest surface voxel of the other mask — MedPy's <c>__surface_distances</c> with <c>connectivity=1</c>.
/// </summary>
public static class SegmentationMetrics
{
    /// <summary>The metrics of one class (default 1: binary prostate masks).</summary>
    public static CaseMetrics Compute(string caseId, string site, ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> reference,
        VolumeGrid grid, byte classLabel = 1, MetricsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(caseId);
        ArgumentNullException.ThrowIfNull(site);
        grid.CheckLength(prediction.Length, nameof(prediction));
        grid.CheckLength(reference.Length, nameof(reference));
        options ??= MetricsOptions.Default;

        var overlap = Overlap.Count(prediction, reference, grid, classLabel);
        var row = new CaseMetrics
        {
            CaseId = caseId, Site = site, ClassLabel = classLabel,
            Dice = 0, Hd95 = 0, Asd = 0, AssdMedPy = 0, Hd = 0,
            PredictionVoxels = overlap.Prediction, ReferenceVoxels = overlap.Reference, IntersectionVoxels = overlap.Intersection,
        };
        if (overlap.Prediction == 0 && overlap.Reference == 0)
            return row with { Dice = 1 }; // nothing to find and nothing found: a perfect answer
        if (overlap.Prediction == 0 || overlap.Reference == 0)
        {
            double worst = options.EmptyMaskDistance switch
            {
                EmptyMaskDistance.VolumeDiagonal => grid.PhysicalDiagonalMm,
                EmptyMaskDistance.NaN => double.NaN,
                _ => throw new ArgumentOutOfRangeException(nameof(options), $"unknown {nameof(EmptyMaskDistance)} {options.EmptyMaskDistance}"),
            };
            return row with { Dice = 0, Hd95 = worst, Asd = worst, AssdMedPy = worst, Hd = worst };
        }

        var distances = DistancesWithin(prediction, reference, grid, classLabel, overlap.Box, options.MaxDegreeOfParallelism);
        double[] forward = distances.PredictionToReference, backward = distances.ReferenceToPrediction;
        var all = new double[forward.Length + backward.Length];
        forward.CopyTo(all, 0);
        backward.CopyTo(all, forward.Length);
        double sumForward = Sum(forward), sumBackward = Sum(backward);
        Array.Sort(all);
        return row with
        {
            Dice = 2.0 * overlap.Intersection / (overlap.Prediction + overlap.Reference),
            Hd95 = Percentile.LinearOfSorted(all, 95),
            Asd = (sumForward + sumBackward) / all.Length,
            AssdMedPy = (sumForward / forward.Length + sumBackward / backward.Length) / 2.0,
            Hd = all[^1],
        };
    }

    /// <summary>
    /// The Dice coefficient alone, without surface distances (model selection during training calls this every epoch).
    /// Same value and the same empty-mask rule as <see cref="Compute"/>: both masks empty is 1.
    /// </summary>
    public static double Dice(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> reference, VolumeGrid grid, byte classLabel = 1)
    {
        grid.CheckLength(prediction.Length, nameof(prediction));
        grid.CheckLength(reference.Length, nameof(reference));
        var o = Overlap.Count(prediction, reference, grid, classLabel);
        return o.Prediction + o.Reference == 0 ? 1.0 : 2.0 * o.Intersection / (o.Prediction + o.Reference);
    }

    /// <summary>One row per class label, in the order given (multi-class labels).</summary>
    public static IReadOnlyList<CaseMetrics> ComputeClasses(string caseId, string site, ReadOnlySpan<byte> prediction,
        ReadOnlySpan<byte> reference, VolumeGrid grid, IReadOnlyList<byte> classLabels, MetricsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(classLabels);
        if (classLabels.Distinct().Count() != classLabels.Count)
            throw new ArgumentException($"class labels repeat: {string.Join(", ", classLabels)}", nameof(classLabels));
        var rows = new CaseMetrics[classLabels.Count];
        for (int i = 0; i < rows.Length; i++) rows[i] = Compute(caseId, site, prediction, reference, grid, classLabels[i], options);
        return rows;
    }

    /// <summary>
    /// Both directed surface-distance sets (mm). Empty arrays stand for an empty surface; with one mask empty the other's
    /// distances are +∞ (no surface to reach), which is why <see cref="Compute"/> applies <see cref="EmptyMaskDistance"/> instead.
    /// </summary>
    public static SurfaceDistances Distances(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> reference, VolumeGrid grid, byte classLabel = 1)
    {
        grid.CheckLength(prediction.Length, nameof(prediction));
        grid.CheckLength(reference.Length, nameof(reference));
        var overlap = Overlap.Count(prediction, reference, grid, classLabel);
        if (overlap.Prediction == 0 || overlap.Reference == 0)
        {
            static double[] Unreachable(int n) => Enumerable.Repeat(double.PositiveInfinity, n).ToArray();
            var whole = Box.Whole(grid);
            return new SurfaceDistances(
                Unreachable(CountSurface(prediction, grid, classLabel, whole)),
                Unreachable(CountSurface(reference, grid, classLabel, whole)));
        }
        return DistancesWithin(prediction, reference, grid, classLabel, overlap.Box, maxDegreeOfParallelism: -1);
    }

    /// <summary>True at the surface voxels of the class's mask (see the class summary for the definition).</summary>
    public static bool[] SurfaceMask(ReadOnlySpan<byte> labels, VolumeGrid grid, byte classLabel = 1)
    {
        grid.CheckLength(labels.Length, nameof(labels));
        var mask = new bool[grid.VoxelCount];
        MarkSurface(labels, grid, classLabel, Box.Whole(grid), mask);
        return mask;
    }

    /// <summary>
    /// Both surfaces lie inside the bounding box of the union of the masks, and the distance between two voxels in that box does
    /// not depend on what lies outside it, so the distance transforms run on the box only: exact, and far smaller than the
    /// volume for a prostate.
    /// </summary>
    private static SurfaceDistances DistancesWithin(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> reference, VolumeGrid grid, byte classLabel, Box box,
        int maxDegreeOfParallelism)
    {
        var boxGrid = new VolumeGrid(box.Depth, box.Height, box.Width, grid.SpacingZ, grid.SpacingY, grid.SpacingX);
        var predictionSurface = new bool[boxGrid.VoxelCount];
        var referenceSurface = new bool[boxGrid.VoxelCount];
        int predictionCount = MarkSurface(prediction, grid, classLabel, box, predictionSurface);
        int referenceCount = MarkSurface(reference, grid, classLabel, box, referenceSurface);

        var field = new double[boxGrid.VoxelCount];
        var forward = DistancesFrom(predictionSurface, predictionCount, referenceSurface, field, boxGrid, maxDegreeOfParallelism);
        var backward = DistancesFrom(referenceSurface, referenceCount, predictionSurface, field, boxGrid, maxDegreeOfParallelism);
        return new SurfaceDistances(forward, backward);
    }

    private static double[] DistancesFrom(bool[] from, int fromCount, bool[] to, double[] field, VolumeGrid grid, int maxDegreeOfParallelism)
    {
        for (int i = 0; i < field.Length; i++) field[i] = to[i] ? 0.0 : double.PositiveInfinity;
        EuclideanDistanceTransform.TransformInPlace(field, grid, maxDegreeOfParallelism);
        var distances = new double[fromCount];
        int k = 0;
        for (int i = 0; i < field.Length; i++)
            if (from[i]) distances[k++] = Math.Sqrt(field[i]);
        return distances;
    }

    private static int CountSurface(ReadOnlySpan<byte> labels, VolumeGrid grid, byte classLabel, Box box)
    {
        var scratch = new bool[box.Depth * box.Height * box.Width];
        return MarkSurface(labels, grid, classLabel, box, scratch);
    }

    /// <summary>Marks surface voxels of the whole-volume mask that fall in <paramref name="box"/>, indexed in box coordinates.</summary>
    private static int MarkSurface(ReadOnlySpan<byte> labels, VolumeGrid grid, byte classLabel, Box box, Span<bool> surface)
    {
        int depth = grid.Depth, height = grid.Height, width = grid.Width, plane = height * width;
        int count = 0, k = 0;
        for (int z = box.Z0; z < box.Z0 + box.Depth; z++)
        {
            bool zBorder = z == 0 || z == depth - 1;
            for (int y = box.Y0; y < box.Y0 + box.Height; y++)
            {
                bool yzBorder = zBorder || y == 0 || y == height - 1;
                int row = z * plane + y * width;
                for (int x = box.X0; x < box.X0 + box.Width; x++, k++)
                {
                    int i = row + x;
                    if (labels[i] != classLabel) continue;
                    // Short-circuit order matters: border voxels never read outside the array.
                    bool isSurface = yzBorder || x == 0 || x == width - 1
                        || labels[i - 1] != classLabel || labels[i + 1] != classLabel
                        || labels[i - width] != classLabel || labels[i + width] != classLabel
                        || labels[i - plane] != classLabel || labels[i + plane] != classLabel;
                    if (isSurface) { surface[k] = true; count++; }
                }
            }
        }
        return count;
    }

    private static double Sum(double[] values)
    {
        double sum = 0;
        foreach (var v in values) sum += v;
        return sum;
    }

    private readonly record struct Box(int Z0, int Y0, int X0, int Depth, int Height, int Width)
    {
        public static Box Whole(VolumeGrid grid) => new(0, 0, 0, grid.Depth, grid.Height, grid.Width);
    }

    private readonly record struct Overlap(long Prediction, long Reference, long Intersection, Box Box)
    {
        /// <summary>Voxel counts and the bounding box of the union of both masks, in one pass.</summary>
        public static Overlap Count(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> reference, VolumeGrid grid, byte classLabel)
        {
            long p = 0, r = 0, both = 0;
            int zMin = int.MaxValue, zMax = -1, yMin = int.MaxValue, yMax = -1, xMin = int.MaxValue, xMax = -1;
            int width = grid.Width, i = 0;
            for (int z = 0; z < grid.Depth; z++)
            {
                for (int y = 0; y < grid.Height; y++)
                {
                    int first = -1, last = -1;
                    for (int x = 0; x < width; x++, i++)
                    {
                        bool inP = prediction[i] == classLabel, inR = reference[i] == classLabel;
                        if (!(inP | inR)) continue;
                        if (inP) p++;
                        if (inR) r++;
                        if (inP & inR) both++;
                        if (first < 0) first = x;
                        last = x;
                    }
                    if (first < 0) continue;
                    xMin = Math.Min(xMin, first); xMax = Math.Max(xMax, last);
                    yMin = Math.Min(yMin, y); yMax = Math.Max(yMax, y);
                    zMin = Math.Min(zMin, z); zMax = z;
                }
            }
            var box = zMax < 0 ? default : new Box(zMin, yMin, xMin, zMax - zMin + 1, yMax - yMin + 1, xMax - xMin + 1);
            return new Overlap(p, r, both, box);
        }
    }
}

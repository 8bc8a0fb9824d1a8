namespace MedDistill.Evaluation;

/// <summary>
/// Exact Euclidean distance transform on an anisotropic grid: for every voxel, the squared distance in mm² to the nearest
/// "site" voxel. Separable (Felzenszwalb &amp; Huttenlocher, "Distance Transforms of Sampled Functions", 2012): one pass per
/// axis, each the lower envelope of parabolas <c>s² (p - q)² + f(q)</c> with <c>s</c> that axis's spacing, O(voxels) per pass.
/// Squared distances are exact sums of squares of the spacing-weighted offsets, so the square root matches a brute-force
/// search to rounding.
/// </summary>
public static class EuclideanDistanceTransform
{
    /// <summary>Squared distance (mm²) from each voxel to the nearest voxel where <paramref name="sites"/> is true; +∞ everywhere when there is no site.</summary>
    public static double[] SquaredDistances(ReadOnlySpan<bool> sites, VolumeGrid grid)
    {
        grid.CheckLength(sites.Length, nameof(sites));
        var field = new double[sites.Length];
        for (int i = 0; i < field.Length; i++) field[i] = sites[i] ? 0.0 : double.PositiveInfinity;
        TransformInPlace(field, grid);
        return field;
    }

    /// <summary>
    /// Replaces a sampled function f (0 at sites, +∞ elsewhere, or any non-negative values) by
    /// <c>min over q of (f(q) + |p − q|²)</c> with distances in mm. +∞ entries are never parabola apexes, so lines without a
    /// finite value stay +∞ until a later pass reaches them. Lines are independent, so each pass runs on up to
    /// <paramref name="maxDegreeOfParallelism"/> threads (−1: as many as the runtime likes) with the same result bit for bit.
    /// </summary>
    public static void TransformInPlace(double[] field, VolumeGrid grid, int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(field);
        grid.CheckLength(field.Length, nameof(field));
        if (maxDegreeOfParallelism == 0 || maxDegreeOfParallelism < -1)
            throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), $"expected −1 or a positive count, got {maxDegreeOfParallelism}");
        int depth = grid.Depth, height = grid.Height, width = grid.Width, plane = height * width;
        int longest = Math.Max(depth, Math.Max(height, width));
        // Threads cost more than they save on the small crop boxes of a typical prostate.
        int threads = field.Length < ParallelThreshold ? 1 : maxDegreeOfParallelism;

        double weightX = grid.SpacingX * grid.SpacingX;
        if (width > 1)
            ForEachSlab(depth, threads, longest, (z, scratch) =>
            {
                for (int y = 0; y < height; y++) TransformLine(field, z * plane + y * width, width, 1, weightX, scratch);
            });

        double weightY = grid.SpacingY * grid.SpacingY;
        if (height > 1)
            ForEachSlab(depth, threads, longest, (z, scratch) =>
            {
                // Neighbouring x share cache lines, so walking the columns in x order reuses each line eight times.
                for (int x = 0; x < width; x++) TransformLine(field, z * plane + x, height, width, weightY, scratch);
            });

        double weightZ = grid.SpacingZ * grid.SpacingZ;
        if (depth > 1)
            ForEachSlab(height, threads, longest, (y, scratch) =>
            {
                // The z neighbours of a voxel are a whole plane apart (and often a power of two apart, the worst case for
                // cache sets): copy the depth × width block of this row into a contiguous buffer, transform its columns there.
                var block = scratch.Block(depth * width);
                for (int z = 0; z < depth; z++) Array.Copy(field, z * plane + y * width, block, z * width, width);
                for (int x = 0; x < width; x++) TransformLine(block, x, depth, width, weightZ, scratch);
                for (int z = 0; z < depth; z++) Array.Copy(block, z * width, field, z * plane + y * width, width);
            });
    }

    private const int ParallelThreshold = 1 << 18;

    private static void ForEachSlab(int count, int threads, int longest, Action<int, LineScratch> body)
    {
        if (threads == 1)
        {
            var scratch = new LineScratch(longest);
            for (int i = 0; i < count; i++) body(i, scratch);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => new LineScratch(longest),
            (i, _, scratch) => { body(i, scratch); return scratch; },
            _ => { });
    }

    private sealed class LineScratch(int length)
    {
        public readonly double[] Input = new double[length];
        public readonly double[] Output = new double[length];
        public readonly int[] Apexes = new int[length];
        public readonly double[] Boundaries = new double[length + 1];
        private double[] block = [];

        public double[] Block(int length) => block.Length >= length ? block : block = new double[length];
    }

    private static void TransformLine(double[] field, int start, int count, int stride, double weight, LineScratch scratch)
    {
        var input = scratch.Input;
        bool anyFinite = false;
        for (int i = 0, p = start; i < count; i++, p += stride)
        {
            double v = field[p];
            input[i] = v;
            anyFinite |= !double.IsPositiveInfinity(v);
        }
        // Most lines of a cropped surface volume hold no site in the first pass; the envelope would return them unchanged.
        if (!anyFinite) return;
        LowerEnvelope(input, count, weight, scratch.Apexes, scratch.Boundaries, scratch.Output);
        var output = scratch.Output;
        for (int i = 0, p = start; i < count; i++, p += stride) field[p] = output[i];
    }

    /// <summary>
    /// d(p) = min over q of (weight · (p − q)² + f(q)) for p in [0, n): the lower envelope of the parabolas rooted at every
    /// finite f(q). <paramref name="apexes"/> holds the envelope's parabolas left to right, <paramref name="boundaries"/>[k]
    /// where parabola k starts to be the lowest.
    /// </summary>
    internal static void LowerEnvelope(ReadOnlySpan<double> f, int n, double weight, Span<int> apexes, Span<double> boundaries, Span<double> d)
    {
        int k = -1;
        for (int q = 0; q < n; q++)
        {
            double fq = f[q];
            if (double.IsPositiveInfinity(fq)) continue;
            if (k < 0)
            {
                k = 0;
                apexes[0] = q;
                boundaries[0] = double.NegativeInfinity;
                boundaries[1] = double.PositiveInfinity;
                continue;
            }
            double heightQ = fq + weight * q * q;
            double s;
            while (true)
            {
                int r = apexes[k];
                // Abscissa where parabola q becomes lower than parabola r (q > r).
                s = (heightQ - (f[r] + weight * r * r)) / (2.0 * weight * (q - r));
                // boundaries[0] is −∞, so this stops at k = 0 at the latest.
                if (s > boundaries[k]) break;
                k--;
            }
            k++;
            apexes[k] = q;
            boundaries[k] = s;
            boundaries[k + 1] = double.PositiveInfinity;
        }
        if (k < 0)
        {
            d[..n].Fill(double.PositiveInfinity);
            return;
        }
        int j = 0;
        for (int p = 0; p < n; p++)
        {
            while (boundaries[j + 1] < p) j++;
            int apex = apexes[j];
            double offset = p - apex;
            d[p] = weight * offset * offset + f[apex];
        }
    }
}

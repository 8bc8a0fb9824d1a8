using MedDistill.Data.Preprocessing;
using MedDistill.Data.Randomness;

namespace MedDistill.Data.Loading;

/// <summary>One 2D training sample: a slice of a cached case.</summary>
/// <param name="CaseIndex">Index of the case in <see cref="SliceDataset.Cases"/>.</param>
public sealed record SliceSample(int CaseIndex, string CaseId, string Site, int Slice);

/// <summary>Which slices of the cached cases a <see cref="SliceDataset"/> offers, and how many channels each has.</summary>
public sealed record SliceDatasetOptions
{
    /// <summary>Slices stacked as channels, centred on the sample's slice (odd; 3 = SAML's three adjacent slices). At the
    /// volume's ends the missing neighbours repeat the end slice.</summary>
    public int Channels { get; init; } = 1;

    /// <summary>
    /// Fraction of the slices without foreground to keep (every slice with foreground is always kept): 1 keeps all slices,
    /// 0 keeps only slices that contain foreground. The kept empty slices are chosen once, by <see cref="FilterSeed"/>,
    /// and stay the same every epoch.
    /// </summary>
    public double EmptySliceFraction { get; init; } = 1.0;

    public ulong FilterSeed { get; init; }

    public void Validate()
    {
        if (Channels < 1 || Channels % 2 == 0) throw new ArgumentException($"slice dataset: Channels {Channels} must be a positive odd number");
        if (EmptySliceFraction is < 0 or > 1 || double.IsNaN(EmptySliceFraction))
            throw new ArgumentException($"slice dataset: EmptySliceFraction {EmptySliceFraction} must be in [0, 1]");
    }
}

/// <summary>
/// The 2D slices of some cases of a preprocessing cache. Case arrays are read into memory on first use (thread-safe), so
/// workers share them. <see cref="Fill"/> writes one sample, optionally augmented, into caller-provided buffers.
/// </summary>
public sealed class SliceDataset
{
    private readonly string cacheDir;
    private readonly Lazy<(float[] Image, byte[] Label)>[] arrays;

    /// <param name="caseIds">The cases to use (e.g. a split's training role); null for every case in the cache.</param>
    public SliceDataset(string cacheDir, IEnumerable<string>? caseIds = null, SliceDatasetOptions? options = null)
    {
        Options = options ?? new SliceDatasetOptions();
        Options.Validate();
        this.cacheDir = Path.GetFullPath(cacheDir);
        var index = CacheIndex.Read(this.cacheDir);
        if (caseIds is null) Cases = index.Cases;
        else
        {
            var byId = index.Cases.ToDictionary(c => c.Id);
            var wanted = caseIds.ToList();
            var missing = wanted.Where(id => !byId.ContainsKey(id)).ToList();
            if (missing.Count > 0) throw new ArgumentException($"{this.cacheDir}: cache has no case {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? $" (and {missing.Count - 5} more)" : "")}");
            Cases = wanted.Distinct().Select(id => byId[id]).ToArray();
        }
        if (Cases.Count == 0) throw new ArgumentException($"{this.cacheDir}: no cases selected");
        var sizes = Cases.Select(c => (c.Height, c.Width)).Distinct().ToList();
        if (sizes.Count > 1) throw new InvalidDataException($"{this.cacheDir}: cases have different slice sizes ({string.Join(", ", sizes)})");
        (Height, Width) = sizes[0];
        arrays = Cases.Select(c => new Lazy<(float[], byte[])>(() => (CacheArrays.ReadImage(this.cacheDir, c), CacheArrays.ReadLabel(this.cacheDir, c)))).ToArray();

        var filterRng = Xoshiro256.Derive(Options.FilterSeed, 0xF117E2);
        var samples = new List<SliceSample>();
        for (int ci = 0; ci < Cases.Count; ci++)
        {
            var c = Cases[ci];
            for (int s = 0; s < c.Slices; s++)
            {
                // One draw per slice whatever its content, so the choice of empty slices is stable.
                bool keepEmpty = filterRng.NextDouble() < Options.EmptySliceFraction;
                if (c.ForegroundPerSlice[s] > 0 || keepEmpty) samples.Add(new SliceSample(ci, c.Id, c.Site, s));
            }
        }
        Samples = samples;
    }

    public SliceDatasetOptions Options { get; }
    public IReadOnlyList<CachedCase> Cases { get; }
    public IReadOnlyList<SliceSample> Samples { get; }
    public int Count => Samples.Count;
    public int Channels => Options.Channels;
    public int Height { get; }
    public int Width { get; }

    /// <summary>
    /// Writes sample <paramref name="index"/> into <paramref name="image"/> (C×H×W) and <paramref name="label"/> (H×W),
    /// transformed by <paramref name="draw"/>; <paramref name="imageInterpolation"/> resamples the image when it moves.
    /// </summary>
    public void Fill(int index, Span<float> image, Span<byte> label, AugmentationDraw draw, Interpolation imageInterpolation = Interpolation.Bilinear)
    {
        var sample = Samples[index];
        var (volume, labels) = arrays[sample.CaseIndex].Value;
        int plane = Height * Width, slices = Cases[sample.CaseIndex].Slices, k = Channels / 2;
        if (image.Length != Channels * plane || label.Length != plane)
            throw new ArgumentException($"buffers must hold {Channels}×{Height}×{Width} image and {Height}×{Width} label values");
        if (!draw.MovesPixels)
        {
            for (int c = 0; c < Channels; c++)
            {
                int z = Math.Clamp(sample.Slice - k + c, 0, slices - 1);
                volume.AsSpan(z * plane, plane).CopyTo(image.Slice(c * plane, plane));
            }
            labels.AsSpan(sample.Slice * plane, plane).CopyTo(label);
        }
        else
            Warp(volume, labels, sample.Slice, slices, image, label, draw, imageInterpolation == Interpolation.Bilinear);
        if (draw.IntensityScale != 1 || draw.IntensityShift != 0)
        {
            float a = (float)draw.IntensityScale, b = (float)draw.IntensityShift;
            for (int i = 0; i < image.Length; i++) image[i] = image[i] * a + b;
        }
    }

    /// <summary>
    /// Inverse mapping about the slice centre: output pixel p reads source c + A⁻¹(p − c) with A = rotation·scale·flip.
    /// </summary>
    private void Warp(float[] volume, byte[] labels, int slice, int slices, Span<float> image, Span<byte> label, AugmentationDraw d, bool bilinear)
    {
        int h = Height, w = Width, plane = h * w, k = Channels / 2;
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, theta = d.AngleDegrees * Math.PI / 180;
        double cos = Math.Cos(theta) / d.Scale, sin = Math.Sin(theta) / d.Scale;
        double fx = d.FlipHorizontal ? -1 : 1, fy = d.FlipVertical ? -1 : 1;
        Span<int> zs = stackalloc int[Channels];
        for (int c = 0; c < Channels; c++) zs[c] = Math.Clamp(slice - k + c, 0, slices - 1);
        int labelOffset = slice * plane;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double dx = x - cx, dy = y - cy;
                // Undo the rotation and scaling (R(−θ)/s), then the flips (their own inverses).
                double sx = cx + fx * (cos * dx + sin * dy), sy = cy + fy * (-sin * dx + cos * dy);
                int o = y * w + x;
                int nx = (int)Math.Round(sx, MidpointRounding.AwayFromZero), ny = (int)Math.Round(sy, MidpointRounding.AwayFromZero);
                bool nearInside = (uint)nx < (uint)w && (uint)ny < (uint)h;
                label[o] = nearInside ? labels[labelOffset + ny * w + nx] : (byte)0;
                for (int c = 0; c < Channels; c++)
                {
                    int zo = zs[c] * plane;
                    image[c * plane + o] = bilinear ? Bilinear(volume, zo, w, h, sx, sy) : nearInside ? volume[zo + ny * w + nx] : 0f;
                }
            }
    }

    private static float Bilinear(float[] v, int offset, int w, int h, double sx, double sy)
    {
        int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
        double ax = sx - x0, ay = sy - y0, sum = 0;
        for (int j = 0; j < 2; j++)
        {
            int yy = y0 + j;
            if ((uint)yy >= (uint)h) continue;
            double wy = j == 0 ? 1 - ay : ay;
            for (int i = 0; i < 2; i++)
            {
                int xx = x0 + i;
                if ((uint)xx >= (uint)w) continue;
                sum += wy * (i == 0 ? 1 - ax : ax) * v[offset + yy * w + xx];
            }
        }
        return (float)sum;
    }
}

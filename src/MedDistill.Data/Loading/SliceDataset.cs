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
    /// volume's ends the missing neighbours repeat the end slice. A colour cache (<see cref="CachedCase.Channels"/>) has
    /// its own channels instead: this must equal them, and a sample's channels are its slice's colour planes.</summary>
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
        var colours = Cases.Select(c => c.ImageChannels).Distinct().ToList();
        if (colours.Count > 1) throw new InvalidDataException($"{this.cacheDir}: cases have different image channel counts ({string.Join(", ", colours)})");
        ColourChannels = colours[0];
        if (ColourChannels > 1 && Options.Channels != ColourChannels)
            throw new ArgumentException($"{this.cacheDir}: the cache holds {ColourChannels}-channel colour images, so a sample has {ColourChannels} channels, not {Options.Channels}");
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
    /// <summary>Image channels per slice in the cache: 1, or 3 for colour; more than 1 replaces neighbour stacking.</summary>
    public int ColourChannels { get; }

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
        int plane = Height * Width;
        if (image.Length != Channels * plane || label.Length != plane)
            throw new ArgumentException($"buffers must hold {Channels}×{Height}×{Width} image and {Height}×{Width} label values");
        Span<int> planes = stackalloc int[Channels];
        PlaneOffsets(sample.Slice, Cases[sample.CaseIndex].Slices, planes);
        if (!draw.MovesPixels)
        {
            for (int c = 0; c < Channels; c++) volume.AsSpan(planes[c], plane).CopyTo(image.Slice(c * plane, plane));
            labels.AsSpan(sample.Slice * plane, plane).CopyTo(label);
        }
        else
            Warp(volume, labels, sample.Slice, planes, image, label, draw, imageInterpolation == Interpolation.Bilinear);
        if (draw.IntensityScale != 1 || draw.IntensityShift != 0)
        {
            float a = (float)draw.IntensityScale, b = (float)draw.IntensityShift;
            for (int i = 0; i < image.Length; i++) image[i] = image[i] * a + b;
        }
    }

    /// <summary>Where each input channel's plane starts in the case's image array: a colour plane of the slice, or a neighbouring slice.</summary>
    private void PlaneOffsets(int slice, int slices, Span<int> offsets)
    {
        int plane = Height * Width, k = Channels / 2;
        for (int c = 0; c < Channels; c++)
            offsets[c] = ColourChannels > 1 ? (slice * ColourChannels + c) * plane : Math.Clamp(slice - k + c, 0, slices - 1) * plane;
    }

    /// <summary>
    /// Inverse mapping about the slice centre: output pixel p reads source c + A⁻¹(p − c) with A = rotation·scale·flip.
    /// Source coordinates are affine in the output column, so each row steps them incrementally.
    /// </summary>
    private void Warp(float[] volume, byte[] labels, int slice, ReadOnlySpan<int> zs, Span<float> image, Span<byte> label, AugmentationDraw d, bool bilinear)
    {
        int h = Height, w = Width, plane = h * w;
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, theta = d.AngleDegrees * Math.PI / 180;
        double cos = Math.Cos(theta) / d.Scale, sin = Math.Sin(theta) / d.Scale;
        double fx = d.FlipHorizontal ? -1 : 1, fy = d.FlipVertical ? -1 : 1;
        // Undo the rotation and scaling (R(−θ)/s), then the flips (their own inverses):
        // sx = cx + fx·(cos·dx + sin·dy), sy = cy + fy·(−sin·dx + cos·dy), with dx = x − cx, dy = y − cy.
        double stepXx = fx * cos, stepYx = -fy * sin;
        var labelPlane = labels.AsSpan(slice * plane, plane);
        for (int y = 0; y < h; y++)
        {
            double dy = y - cy;
            double sx = cx + fx * (-cos * cx + sin * dy), sy = cy + fy * (sin * cx + cos * dy);
            for (int x = 0; x < w; x++, sx += stepXx, sy += stepYx)
            {
                int o = y * w + x;
                int nx = (int)Math.Floor(sx + 0.5), ny = (int)Math.Floor(sy + 0.5);
                bool nearInside = (uint)nx < (uint)w && (uint)ny < (uint)h;
                label[o] = nearInside ? labelPlane[ny * w + nx] : (byte)0;
                if (!bilinear)
                {
                    for (int c = 0; c < Channels; c++) image[c * plane + o] = nearInside ? volume[zs[c] + ny * w + nx] : 0f;
                    continue;
                }
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                float ax = (float)(sx - x0), ay = (float)(sy - y0);
                if ((uint)x0 < (uint)(w - 1) && (uint)y0 < (uint)(h - 1))
                {
                    // All four neighbours inside: no bounds checks per tap.
                    float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
                    for (int c = 0; c < Channels; c++)
                    {
                        int i = zs[c] + y0 * w + x0;
                        image[c * plane + o] = w00 * volume[i] + w01 * volume[i + 1] + w10 * volume[i + w] + w11 * volume[i + w + 1];
                    }
                }
                else
                    for (int c = 0; c < Channels; c++) image[c * plane + o] = BilinearAtEdge(volume, zs[c], w, h, x0, y0, ax, ay);
            }
        }
    }

    /// <summary>Bilinear sample near or beyond the slice edge: neighbours outside count as 0.</summary>
    private static float BilinearAtEdge(float[] v, int offset, int w, int h, int x0, int y0, float ax, float ay)
    {
        float sum = 0;
        for (int j = 0; j < 2; j++)
        {
            int yy = y0 + j;
            if ((uint)yy >= (uint)h) continue;
            float wy = j == 0 ? 1 - ay : ay;
            for (int i = 0; i < 2; i++)
            {
                int xx = x0 + i;
                if ((uint)xx >= (uint)w) continue;
                sum += wy * (i == 0 ? 1 - ax : ax) * v[offset + yy * w + xx];
            }
        }
        return sum;
    }
}

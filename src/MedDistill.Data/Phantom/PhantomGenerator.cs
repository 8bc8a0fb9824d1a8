using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MedDistill.Data.Randomness;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Phantom;

/// <summary>One generated case: its site, name and the two files.</summary>
public sealed record PhantomCase(string Site, string Case, string ImagePath, string LabelPath);

/// <summary>What <see cref="PhantomGenerator.Generate"/> found or made.</summary>
/// <param name="Directory">The data set folder, <c>&lt;root&gt;/phantom-prostate</c>.</param>
/// <param name="Generated">False when the folder already held these options' files and nothing was written.</param>
public sealed record PhantomResult(string Directory, bool Generated, string OptionsHash, IReadOnlyList<PhantomCase> Cases);

/// <summary>Progress of a generation: cases done out of the total, and the case just finished.</summary>
public readonly record struct PhantomProgress(int Done, int Total, string Case);

/// <summary>
/// Writes the built-in multi-site prostate phantom <c>phantom-prostate</c>, the data set used when no real data is present:
/// <c>&lt;root&gt;/phantom-prostate/&lt;SITE&gt;/CaseNN.nii.gz</c> + <c>CaseNN_Segmentation.nii.gz</c>, the layout of the real
/// <c>Processed_data_nii</c>, so it goes through the same discovery, readers and preprocessing as the real data.
/// <para>
/// Idempotent: <c>phantom.json</c> in the folder records the options, their hash and every file's size and SHA-256; a folder
/// whose marker has the same hash and whose files all exist with the recorded sizes is left alone. Otherwise the data set is
/// built in a temporary sibling folder and swapped in by renames, so a reader never sees a half-written data set.
/// </para>
/// </summary>
public static class PhantomGenerator
{
    /// <summary>Name of the data set folder under the data root.</summary>
    public const string DatasetName = "phantom-prostate";

    /// <summary>Name of the marker file inside the data set folder.</summary>
    public const string MarkerName = "phantom.json";

    /// <summary>Bumped whenever the generator's output for given options changes; part of the options hash.</summary>
    public const string Version = "phantom-prostate/1";

    // Sub-samples per voxel along z: slices are thick (3–4 mm), so tissue edges must partial-volume through the slice.
    private const int ThroughPlaneSamples = 3;

    public static PhantomResult Generate(string root, PhantomOptions? options = null, IProgress<PhantomProgress>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        options ??= new PhantomOptions();
        options.Validate();
        var hash = options.Hash();
        var target = Path.Combine(Path.GetFullPath(root), DatasetName);
        var existing = ReadMarker(target);
        if (existing is not null && existing.OptionsHash == hash && existing.Files.All(f => HasSize(Path.Combine(target, f.Path), f.Size)))
            return new PhantomResult(target, false, hash, CasesIn(target, options));

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var partial = Path.Combine(Path.GetDirectoryName(target)!, $".{DatasetName}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            var jobs = (from site in options.Sites from c in Enumerable.Range(0, options.CasesOf(site)) select (site, c)).ToArray();
            int done = 0;
            var files = new PhantomFile[jobs.Length][];
            Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                var (site, c) = jobs[i];
                files[i] = WriteCase(partial, options, site, c);
                int n = Interlocked.Increment(ref done);
                progress?.Report(new PhantomProgress(n, jobs.Length, $"{site.Name}/{CaseName(c)}"));
            });
            var marker = new PhantomMarker(Version, hash, options, files.SelectMany(f => f).ToArray());
            File.WriteAllText(Path.Combine(partial, MarkerName), JsonSerializer.Serialize(marker, MarkerJson));
            PhantomFolder.SwapIn(partial, target, DatasetName);
        }
        finally
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        }
        return new PhantomResult(target, true, hash, CasesIn(target, options));
    }

    /// <summary>Image and label of one case, in memory (what <see cref="Generate"/> writes for it).</summary>
    public static (Volume Image, Volume Label) RenderCase(PhantomOptions options, PhantomSite site, int caseIndex)
    {
        int n = options.MatrixOf(site);
        double dxy = options.PixelSpacingOf(site), dz = site.SliceThicknessMm;
        ulong siteKey = SiteKey(site.Name);
        var anatomyRng = Xoshiro256.Derive(options.Seed, siteKey, (ulong)caseIndex, 0);
        var anatomy = new PhantomAnatomy(anatomyRng);
        int slices = anatomyRng.NextInt(options.MinSlices, options.MaxSlices);
        var scannerRng = Xoshiro256.Derive(options.Seed, siteKey, (ulong)caseIndex, 1);

        int plane = n * n;
        var signal = new float[slices * plane];
        var label = new float[slices * plane];
        double x0 = -(n - 1) / 2.0 * dxy, z0 = -(slices - 1) / 2.0 * dz;
        Parallel.For(0, slices, z =>
        {
            double zc = z0 + z * dz;
            for (int y = 0; y < n; y++)
            {
                double yc = x0 + y * dxy;
                for (int x = 0; x < n; x++)
                {
                    double xc = x0 + x * dxy, sum = 0;
                    for (int s = 0; s < ThroughPlaneSamples; s++)
                    {
                        double zs = zc + ((s + 0.5) / ThroughPlaneSamples - 0.5) * dz;
                        sum += Contrast(site, anatomy.Brightness(xc, yc, zs));
                    }
                    double value = sum / ThroughPlaneSamples * (1 + 0.06 * anatomy.Texture(xc, yc, zc));
                    int i = z * plane + y * n + x;
                    signal[i] = (float)value;
                    label[i] = anatomy.IsGland(xc, yc, zc) ? 1f : 0f;
                }
            }
        });

        BlurInPlane(signal, slices, n, site.BlurSigmaMm / dxy);
        ApplyBiasAndNoise(signal, slices, n, dxy, dz, site, anatomy, scannerRng);

        var spacing = new[] { dz, dxy, dxy };
        var affine = new double[4, 4];
        affine[0, 0] = dxy; affine[1, 1] = dxy; affine[2, 2] = dz; affine[3, 3] = 1;
        affine[0, 3] = x0; affine[1, 3] = x0; affine[2, 3] = z0;
        var shape = new[] { slices, n, n };
        return (new Volume(signal, shape, spacing, site.StoredAs, affine), new Volume(label, shape, spacing, VoxelType.UInt8, affine));
    }

    /// <summary>The site's contrast curve: (1 − w)·t^γ + w·(1 − t^γ).</summary>
    internal static double Contrast(PhantomSite site, double t)
    {
        double g = Math.Pow(t, site.ContrastGamma);
        return (1 - site.ContrastInversion) * g + site.ContrastInversion * (1 - g);
    }

    public static string CaseName(int index) => $"Case{index:D2}";

    private static PhantomFile[] WriteCase(string dir, PhantomOptions options, PhantomSite site, int caseIndex)
    {
        var (image, label) = RenderCase(options, site, caseIndex);
        var rel = site.Name + "/" + CaseName(caseIndex);
        var imagePath = Path.Combine(dir, site.Name, CaseName(caseIndex) + ".nii.gz");
        var labelPath = Path.Combine(dir, site.Name, CaseName(caseIndex) + "_Segmentation.nii.gz");
        Nifti.Write(imagePath, image, site.StoredAs, $"MedDistill phantom {site.Name}");
        Nifti.Write(labelPath, label, VoxelType.UInt8, "MedDistill phantom label (1 = gland)");
        return [Describe(dir, rel + ".nii.gz"), Describe(dir, rel + "_Segmentation.nii.gz")];
    }

    private static PhantomFile Describe(string dir, string relative)
    {
        var path = Path.Combine(dir, relative);
        using var stream = File.OpenRead(path);
        return new PhantomFile(relative, stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    /// <summary>Separable Gaussian along x then y, edges replicated.</summary>
    internal static void BlurInPlane(float[] data, int slices, int n, double sigmaPx)
    {
        if (sigmaPx < 0.05) return;
        int radius = (int)Math.Ceiling(3 * sigmaPx);
        var kernel = new double[2 * radius + 1];
        double total = 0;
        for (int k = -radius; k <= radius; k++) total += kernel[k + radius] = Math.Exp(-0.5 * k * k / (sigmaPx * sigmaPx));
        for (int k = 0; k < kernel.Length; k++) kernel[k] /= total;
        var line = new double[n];
        for (int z = 0; z < slices; z++)
        {
            int o = z * n * n;
            for (int pass = 0; pass < 2; pass++)
                for (int a = 0; a < n; a++)
                {
                    // pass 0: rows (stride 1 along x); pass 1: columns (stride n along y).
                    int start = pass == 0 ? o + a * n : o + a, stride = pass == 0 ? 1 : n;
                    for (int b = 0; b < n; b++)
                    {
                        double s = 0;
                        for (int k = -radius; k <= radius; k++) s += kernel[k + radius] * data[start + Math.Clamp(b + k, 0, n - 1) * stride];
                        line[b] = s;
                    }
                    for (int b = 0; b < n; b++) data[start + b * stride] = (float)line[b];
                }
        }
    }

    private static void ApplyBiasAndNoise(float[] data, int slices, int n, double dxy, double dz, PhantomSite site, PhantomAnatomy anatomy, Xoshiro256 rng)
    {
        // Bias: exp of a few very long-wavelength (150–300 mm) cosines, i.e. one gentle gradient and bend across the field of view.
        var terms = new (double Kx, double Ky, double Kz, double Phase, double Amp)[4];
        for (int k = 0; k < terms.Length; k++)
        {
            double wavelength = rng.Uniform(150, 300), phi = rng.Uniform(0, 2 * Math.PI), fz = rng.Uniform(-0.5, 0.5), fr = Math.Sqrt(1 - fz * fz);
            double kk = 2 * Math.PI / wavelength;
            terms[k] = (kk * fr * Math.Cos(phi), kk * fr * Math.Sin(phi), kk * fz, rng.Uniform(0, 2 * Math.PI), rng.NextGaussian() / 2);
        }
        var (rx, ry) = anatomy.RectumCentre;
        double x0 = -(n - 1) / 2.0 * dxy, z0 = -(slices - 1) / 2.0 * dz, sigma = site.NoiseSigma * site.IntensityScale;
        for (int z = 0; z < slices; z++)
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                {
                    double xc = x0 + x * dxy, yc = x0 + y * dxy, zc = z0 + z * dz, logBias = 0;
                    foreach (var t in terms) logBias += t.Amp * Math.Cos(t.Kx * xc + t.Ky * yc + t.Kz * zc + t.Phase);
                    double coil = 1 + site.CoilGain * Math.Exp(-Math.Max(0, Math.Sqrt((xc - rx) * (xc - rx) + (yc - ry) * (yc - ry)) - 8) / 20);
                    int i = (z * n + y) * n + x;
                    double clean = data[i] * Math.Exp(site.BiasStrength * logBias) * coil * site.IntensityScale;
                    double noisy = site.Noise == PhantomNoise.Rician
                        ? Math.Sqrt(Square(clean + sigma * rng.NextGaussian()) + Square(sigma * rng.NextGaussian()))
                        : clean + sigma * rng.NextGaussian();
                    if (site.StoredAs != VoxelType.Float32) noisy = Math.Clamp(noisy, 0, 32767);
                    data[i] = (float)noisy;
                }
    }

    private static double Square(double v) => v * v;

    /// <summary>A site's stream key from its name (FNV-1a), so adding, removing or reordering sites leaves the others' data unchanged.</summary>
    private static ulong SiteKey(string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(name)) h = (h ^ b) * 1099511628211UL;
        return h;
    }

    private static IReadOnlyList<PhantomCase> CasesIn(string dir, PhantomOptions options) =>
        (from site in options.Sites
         from c in Enumerable.Range(0, options.CasesOf(site))
         let name = CaseName(c)
         select new PhantomCase(site.Name, name, Path.Combine(dir, site.Name, name + ".nii.gz"), Path.Combine(dir, site.Name, name + "_Segmentation.nii.gz"))).ToArray();

    private static bool HasSize(string path, long size)
    {
        var info = new FileInfo(path);
        return info.Exists && info.Length == size;
    }

    private static PhantomMarker? ReadMarker(string dir)
    {
        var path = Path.Combine(dir, MarkerName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<PhantomMarker>(File.ReadAllText(path), MarkerJson); }
        catch (JsonException) { return null; } // an unreadable marker means: regenerate
    }

    private static readonly JsonSerializerOptions MarkerJson = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };
}

internal sealed record PhantomFile(string Path, long Size, string Sha256);

internal sealed record PhantomMarker(string Generator, string OptionsHash, PhantomOptions Options, PhantomFile[] Files);

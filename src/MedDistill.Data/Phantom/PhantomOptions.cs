using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Phantom;

/// <summary>How one synthetic site's scanner renders the shared anatomy: its grid, contrast, bias field, noise and blur.</summary>
/// <param name="Name">Site folder name (the real dataset's: RUNMC, BMC, I2CVB, UCL, BIDMC, HK).</param>
/// <param name="Matrix">In-plane matrix (square), before <see cref="PhantomOptions.MatrixScale"/>.</param>
/// <param name="PixelSpacingMm">In-plane voxel size in mm, before <see cref="PhantomOptions.MatrixScale"/> (the field of view, Matrix × PixelSpacingMm, is kept).</param>
/// <param name="SliceThicknessMm">Slice spacing in mm.</param>
/// <param name="ContrastGamma">Exponent of the contrast curve applied to the tissue's reference (T2-like) brightness t in [0, 1].</param>
/// <param name="ContrastInversion">Weight w of the inverted curve: brightness = (1 − w)·t^γ + w·(1 − t^γ); 0 keeps T2-like order, above 0.5 reverses it.</param>
/// <param name="IntensityScale">Stored value of brightness 1 (sites store different ranges, like real scanners).</param>
/// <param name="BiasStrength">Amplitude of the log of the smooth multiplicative bias field (0 = flat).</param>
/// <param name="CoilGain">Extra gain near the rectum, like an endorectal coil's falloff: × (1 + CoilGain·exp(−d / 20 mm)).</param>
/// <param name="Noise">Rician (magnitude image) or Gaussian noise.</param>
/// <param name="NoiseSigma">Noise standard deviation as a fraction of <see cref="IntensityScale"/>.</param>
/// <param name="BlurSigmaMm">In-plane Gaussian point-spread sigma in mm.</param>
/// <param name="StoredAs">NIfTI voxel type of the image file.</param>
public sealed record PhantomSite(
    string Name,
    int Matrix,
    double PixelSpacingMm,
    double SliceThicknessMm,
    double ContrastGamma,
    double ContrastInversion,
    double IntensityScale,
    double BiasStrength,
    double CoilGain,
    PhantomNoise Noise,
    double NoiseSigma,
    double BlurSigmaMm,
    VoxelType StoredAs)
{
    /// <summary>
    /// Cases this site contributes when <see cref="PhantomOptions.CasesPerSite"/> is not set: the real multi-site data set's
    /// counts by default, so that per-case statistics on each target have the power the real tables would have.
    /// </summary>
    public int Cases { get; init; } = 5;

    /// <summary>
    /// The six default sites, in the S1..S6 order of the real data set. I2CVB has an inverted-ish contrast curve and BIDMC a
    /// strong endorectal-coil bias with high noise: these two are the clearly shifted domains; the other four differ mildly
    /// (grid, gamma, range, noise, blur), like scanners of one modality.
    /// </summary>
    public static IReadOnlyList<PhantomSite> Defaults { get; } =
    [
        new("RUNMC", 96, 1.20, 3.6, 1.00, 0.00, 1000, 0.15, 0.0, PhantomNoise.Rician, 0.030, 0.6, VoxelType.Int16) { Cases = 30 },
        new("BMC", 88, 1.25, 4.0, 0.80, 0.00, 800, 0.25, 0.8, PhantomNoise.Rician, 0.040, 0.8, VoxelType.Int16) { Cases = 30 },
        new("I2CVB", 96, 1.60, 3.0, 1.30, 0.85, 255, 0.20, 0.0, PhantomNoise.Gaussian, 0.040, 0.5, VoxelType.Float32) { Cases = 19 },
        new("UCL", 80, 1.40, 3.6, 0.90, 0.00, 1500, 0.20, 0.0, PhantomNoise.Rician, 0.035, 1.0, VoxelType.Int16) { Cases = 13 },
        new("BIDMC", 80, 1.35, 3.0, 1.10, 0.00, 2000, 0.45, 2.0, PhantomNoise.Rician, 0.070, 0.7, VoxelType.Float32) { Cases = 12 },
        new("HK", 72, 1.50, 3.6, 0.70, 0.00, 600, 0.30, 1.0, PhantomNoise.Rician, 0.050, 1.2, VoxelType.Int16) { Cases = 12 },
    ];

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || Name is "." or "..")
            throw new ArgumentException($"phantom site name '{Name}' is not a usable folder name");
        if (Matrix is < 8 or > 1024) throw new ArgumentException($"phantom site {Name}: Matrix {Matrix} must be in 8..1024");
        if (!(PixelSpacingMm > 0) || !(SliceThicknessMm > 0)) throw new ArgumentException($"phantom site {Name}: voxel sizes must be positive");
        if (!(ContrastGamma > 0)) throw new ArgumentException($"phantom site {Name}: ContrastGamma must be positive");
        if (ContrastInversion is < 0 or > 1 || double.IsNaN(ContrastInversion)) throw new ArgumentException($"phantom site {Name}: ContrastInversion must be in [0, 1]");
        if (!(IntensityScale > 0) || (StoredAs == VoxelType.Int16 && IntensityScale > 20000))
            throw new ArgumentException($"phantom site {Name}: IntensityScale {IntensityScale} must be positive (and at most 20000 when stored as Int16)");
        if (BiasStrength < 0 || CoilGain < 0 || NoiseSigma < 0 || BlurSigmaMm < 0 || double.IsNaN(BiasStrength + CoilGain + NoiseSigma + BlurSigmaMm))
            throw new ArgumentException($"phantom site {Name}: bias, coil gain, noise and blur must be non-negative");
        if (Cases is < 1 or > 100) throw new ArgumentException($"phantom site {Name}: Cases {Cases} must be in 1..100");
        if (StoredAs is not (VoxelType.Int16 or VoxelType.Float32 or VoxelType.UInt16))
            throw new ArgumentException($"phantom site {Name}: images are stored as Int16, UInt16 or Float32, not {StoredAs}");
    }
}

public enum PhantomNoise { Rician, Gaussian }

/// <summary>
/// What <see cref="PhantomGenerator"/> makes. The defaults give 6 sites with the real data set's case counts (116 cases) × 16–20
/// slices of 72²–96² voxels (about 16 million voxels, some 15 MB gzipped).
/// </summary>
public sealed record PhantomOptions
{
    /// <summary>Seed of everything random (anatomy, bias fields, noise).</summary>
    public ulong Seed { get; init; } = 20240611;

    /// <summary>
    /// Cases of every site, named Case00, Case01, …; null = each site's own <see cref="PhantomSite.Cases"/> (by default the
    /// real data set's: RUNMC 30, BMC 30, I2CVB 19, UCL 13, BIDMC 12, HK 12).
    /// </summary>
    public int? CasesPerSite { get; init; }

    /// <summary>Cases <paramref name="site"/> gets under these options.</summary>
    public int CasesOf(PhantomSite site) => CasesPerSite ?? site.Cases;

    /// <summary>Slice count of each case, drawn uniformly from [MinSlices, MaxSlices].</summary>
    public int MinSlices { get; init; } = 16;

    public int MaxSlices { get; init; } = 20;

    /// <summary>Multiplies every site's matrix (rounded, at least 8) and divides its pixel spacing, keeping the field of view;
    /// 0.5 gives quarter-size images for tests.</summary>
    public double MatrixScale { get; init; } = 1.0;

    /// <summary>The sites and their acquisitions (default <see cref="PhantomSite.Defaults"/>).</summary>
    public IReadOnlyList<PhantomSite> Sites { get; init; } = PhantomSite.Defaults;

    public void Validate()
    {
        if (CasesPerSite is not null and (< 1 or > 100)) throw new ArgumentException($"phantom: CasesPerSite {CasesPerSite} must be in 1..100");
        if (MinSlices < 1 || MaxSlices < MinSlices || MaxSlices > 512)
            throw new ArgumentException($"phantom: slices [{MinSlices}, {MaxSlices}] must satisfy 1 <= MinSlices <= MaxSlices <= 512");
        if (!(MatrixScale is > 0 and <= 4)) throw new ArgumentException($"phantom: MatrixScale {MatrixScale} must be in (0, 4]");
        if (Sites is null || Sites.Count == 0) throw new ArgumentException("phantom: at least one site is needed");
        foreach (var s in Sites) s.Validate();
        var dup = Sites.GroupBy(s => s.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"phantom: site {dup.Key} appears twice");
    }

    /// <summary>Matrix of <paramref name="site"/> after <see cref="MatrixScale"/>.</summary>
    public int MatrixOf(PhantomSite site) => Math.Max(8, (int)Math.Round(site.Matrix * MatrixScale));

    /// <summary>Pixel spacing of <paramref name="site"/> after scaling, so that the field of view stays Matrix × PixelSpacingMm.</summary>
    public double PixelSpacingOf(PhantomSite site) => site.Matrix * site.PixelSpacingMm / MatrixOf(site);

    /// <summary>SHA-256 (hex) of the canonical JSON of these options and the generator version: equal hashes mean equal files.</summary>
    public string Hash()
    {
        var bytes = Encoding.UTF8.GetBytes(PhantomGenerator.Version + "\n" + ToCanonicalJson());
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>Properties in declaration order, numbers in .NET's shortest round-trip form, enums by name.</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(this, JsonOptions);

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
    };
}

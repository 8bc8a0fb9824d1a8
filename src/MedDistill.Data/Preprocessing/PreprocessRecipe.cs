using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MedDistill.Data.Preprocessing;

/// <summary>In-plane resampling method.</summary>
public enum Interpolation
{
    /// <summary>Bilinear on pixel centres (PyTorch's <c>interpolate(mode="bilinear", align_corners=False)</c>, no antialiasing).</summary>
    Bilinear,

    /// <summary>The source pixel whose centre is nearest (PyTorch's <c>mode="nearest-exact"</c>): same pixel-centre grid as Bilinear, so labels stay aligned with images.</summary>
    Nearest,
}

/// <summary>Per-volume intensity normalisation after clipping.</summary>
public enum IntensityNormalisation
{
    /// <summary>Subtract the mean and divide by the standard deviation (population, over every voxel of the clipped volume).</summary>
    ZScore,

    /// <summary>Map the clip range linearly onto [0, 1].</summary>
    MinMax,

    /// <summary>Leave values as clipped.</summary>
    None,
}

/// <summary>How source label values become cached class indices.</summary>
public enum LabelMapping
{
    /// <summary>label &gt; 0 → 1, else 0 (the prostate data sets: zones merged into one gland class).</summary>
    Binarise,

    /// <summary>Keep integer labels 0..255 as they are (multi-organ data sets).</summary>
    Keep,
}

/// <summary>
/// What the preprocessing cache does to each case. Every value is a named, documented setting; the cache is keyed by
/// <see cref="Hash"/>, so changing any of them rebuilds it. Order of operations per volume: labels mapped; every axial
/// slice resized to <see cref="Height"/> × <see cref="Width"/> (slice count and spacing along z kept); image intensities
/// clipped to the volume's [<see cref="ClipLowerPercentile"/>, <see cref="ClipUpperPercentile"/>] percentiles, computed on the
/// resized volume over all voxels with linear interpolation between order statistics (NumPy's default); then normalised.
/// </summary>
public sealed record PreprocessRecipe
{
    /// <summary>Name of the data set the recipe is for (recorded in the index; part of the hash).</summary>
    public string Dataset { get; init; } = "prostate";

    /// <summary>Output slice height in pixels (384 for prostate, like SAML's input).</summary>
    public int Height { get; init; } = 384;

    /// <summary>Output slice width in pixels.</summary>
    public int Width { get; init; } = 384;

    public Interpolation ImageInterpolation { get; init; } = Interpolation.Bilinear;

    public Interpolation LabelInterpolation { get; init; } = Interpolation.Nearest;

    /// <summary>Lower clipping percentile in [0, 100] (0.5 by default: cuts dark outliers).</summary>
    public double ClipLowerPercentile { get; init; } = 0.5;

    /// <summary>Upper clipping percentile in [0, 100] (99.5 by default: cuts bright outliers such as coil hot spots).</summary>
    public double ClipUpperPercentile { get; init; } = 99.5;

    public IntensityNormalisation Normalisation { get; init; } = IntensityNormalisation.ZScore;

    public LabelMapping Labels { get; init; } = LabelMapping.Binarise;

    /// <summary>The real multi-site prostate data: 384 × 384 slices, bilinear/nearest, 0.5–99.5 % clip, z-score, binarised labels.</summary>
    public static PreprocessRecipe Prostate { get; } = new();

    /// <summary>The built-in phantom: the prostate recipe at the phantom's own scale, 96 × 96.</summary>
    public static PreprocessRecipe Phantom { get; } = new() { Dataset = "phantom-prostate", Height = 96, Width = 96 };

    /// <summary>The default recipe of each data set that has one, by data-set name.</summary>
    public static IReadOnlyDictionary<string, PreprocessRecipe> ByDataset { get; } = new Dictionary<string, PreprocessRecipe>(StringComparer.OrdinalIgnoreCase)
    {
        ["phantom-prostate"] = Phantom,
        ["multisite-prostate"] = Prostate,
    };

    /// <summary>Format of the cache this recipe produces; part of the hash, bumped when the preprocessing code's output changes.</summary>
    public const string FormatVersion = "meddistill-preprocess/1";

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Dataset)) throw new ArgumentException("recipe: Dataset must be named");
        if (Height is < 1 or > 8192 || Width is < 1 or > 8192) throw new ArgumentException($"recipe: output size {Height}×{Width} must be within 1..8192");
        if (!(ClipLowerPercentile >= 0 && ClipLowerPercentile < ClipUpperPercentile && ClipUpperPercentile <= 100))
            throw new ArgumentException($"recipe: clip percentiles [{ClipLowerPercentile}, {ClipUpperPercentile}] must satisfy 0 <= lower < upper <= 100");
        if (!Enum.IsDefined(ImageInterpolation) || !Enum.IsDefined(LabelInterpolation) || !Enum.IsDefined(Normalisation) || !Enum.IsDefined(Labels))
            throw new ArgumentException("recipe: unknown interpolation, normalisation or label mapping");
    }

    /// <summary>Properties in declaration order, enums by name, numbers in .NET's shortest round-trip form.</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(this, CanonicalJson);

    /// <summary>SHA-256 (hex) of <see cref="FormatVersion"/> and <see cref="ToCanonicalJson"/>: stable across runs and machines.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(FormatVersion + "\n" + ToCanonicalJson())));

    internal static readonly JsonSerializerOptions CanonicalJson = new() { Converters = { new JsonStringEnumConverter() } };
}

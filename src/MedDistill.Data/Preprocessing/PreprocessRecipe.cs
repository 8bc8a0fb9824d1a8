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

    /// <summary>Keep integer labels as class indices (multi-organ data sets); each must be in 0..<see cref="PreprocessRecipe.Classes"/>−1.</summary>
    Keep,
}

/// <summary>How image intensities are clipped before normalisation.</summary>
public enum IntensityClip
{
    /// <summary>To the volume's own [lower, upper] percentiles (MRI: no absolute scale).</summary>
    Percentile,

    /// <summary>To a fixed window, e.g. [−125, 275] HU for abdominal CT.</summary>
    Window,

    /// <summary>Not at all: the source is already scaled (TransUNet's Synapse, in [0, 1]).</summary>
    None,
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

    // The settings below were added after the prostate caches existed. Left at null they are omitted from the canonical
    // JSON, so every recipe written before them keeps its hash and its caches stay valid.

    /// <summary>Number of classes, background included, for <see cref="LabelMapping.Keep"/> (required there); null means 2 (binarised).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Classes { get; init; }

    /// <summary>How intensities are clipped; null means <see cref="IntensityClip.Percentile"/> with the percentiles above.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IntensityClip? Clip { get; init; }

    /// <summary>[low, high] of <see cref="IntensityClip.Window"/>, in source units (HU for CT).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? Window { get; init; }

    /// <summary>Classes of the cached labels: <see cref="Classes"/>, or 2 for binarised labels.</summary>
    [JsonIgnore]
    public int ClassCount => Classes ?? 2;

    /// <summary>The real multi-site prostate data: 384 × 384 slices, bilinear/nearest, 0.5–99.5 % clip, z-score, binarised labels.</summary>
    public static PreprocessRecipe Prostate { get; } = new();

    /// <summary>The built-in phantom: the prostate recipe at the phantom's own scale, 96 × 96.</summary>
    public static PreprocessRecipe Phantom { get; } = new() { Dataset = "phantom-prostate", Height = 96, Width = 96 };

    /// <summary>
    /// TransUNet's Synapse as shipped (train_npz / test_vol_h5): already clipped to [−125, 275] HU and scaled to [0, 1], so
    /// neither clipped nor normalised again; 224 × 224 like TransUNet's input; 9 classes (background + 8 organs).
    /// </summary>
    public static PreprocessRecipe Synapse { get; } = new()
    {
        Dataset = "synapse", Height = 224, Width = 224, Clip = IntensityClip.None, Normalisation = IntensityNormalisation.None,
        Labels = LabelMapping.Keep, Classes = 9,
    };

    /// <summary>FLARE22 from raw HU: Synapse's [−125, 275] window mapped onto [0, 1], so both CT sets share one scale; 14 classes.</summary>
    public static PreprocessRecipe Flare { get; } = new()
    {
        Dataset = "flare22", Height = 224, Width = 224, Clip = IntensityClip.Window, Window = [-125, 275],
        Normalisation = IntensityNormalisation.MinMax, Labels = LabelMapping.Keep, Classes = 14,
    };

    /// <summary>The abdomen phantoms at their own matrix (64 by default).</summary>
    public static PreprocessRecipe PhantomAbdomen { get; } = Synapse with { Dataset = "phantom-abdomen", Height = 64, Width = 64 };

    public static PreprocessRecipe PhantomFlare { get; } = Flare with { Dataset = "phantom-flare", Height = 64, Width = 64 };

    /// <summary>The default recipe of each data set that has one, by data-set name.</summary>
    public static IReadOnlyDictionary<string, PreprocessRecipe> ByDataset { get; } = new Dictionary<string, PreprocessRecipe>(StringComparer.OrdinalIgnoreCase)
    {
        ["phantom-prostate"] = Phantom,
        ["multisite-prostate"] = Prostate,
        ["phantom-abdomen"] = PhantomAbdomen,
        ["phantom-flare"] = PhantomFlare,
        ["synapse"] = Synapse,
        ["flare22"] = Flare,
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
        if (Clip is { } clip && !Enum.IsDefined(clip)) throw new ArgumentException($"recipe: unknown clip mode {clip}");
        if (Labels == LabelMapping.Keep && Classes is not (>= 2 and <= 256))
            throw new ArgumentException($"recipe: Labels = Keep needs Classes in 2..256 (got {Classes?.ToString() ?? "none"})");
        if (Labels == LabelMapping.Binarise && Classes is not (null or 2))
            throw new ArgumentException($"recipe: binarised labels have 2 classes, not {Classes}");
        bool window = Clip == IntensityClip.Window;
        if (window != Window is not null)
            throw new ArgumentException("recipe: Window [low, high] is given exactly when Clip = Window");
        if (window && !(Window!.Length == 2 && double.IsFinite(Window[0]) && Window[0] < Window[1]))
            throw new ArgumentException($"recipe: Window [{string.Join(", ", Window!)}] must be two finite values, low < high");
    }

    /// <summary>Properties in declaration order, enums by name, numbers in .NET's shortest round-trip form.</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(this, CanonicalJson);

    /// <summary>SHA-256 (hex) of <see cref="FormatVersion"/> and <see cref="ToCanonicalJson"/>: stable across runs and machines.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(FormatVersion + "\n" + ToCanonicalJson())));

    internal static readonly JsonSerializerOptions CanonicalJson = new() { Converters = { new JsonStringEnumConverter() } };
}

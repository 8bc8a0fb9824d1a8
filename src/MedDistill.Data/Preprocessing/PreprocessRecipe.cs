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

/// <summary>Which channel of a colour (R, G, B) source image becomes the cached greyscale image.</summary>
public enum ImageChannel
{
    Red,

    /// <summary>Retinal vessels absorb green most, so the green channel shows them with the best contrast (the usual vessel-segmentation input).</summary>
    Green,

    Blue,
}

/// <summary>How a case's field of view (the camera's lit disc of a fundus photograph) is found.</summary>
public enum FieldOfView
{
    /// <summary>
    /// The case's own FOV mask file when the data set ships one (DRIVE's <c>mask/*_mask.gif</c>, non-zero = inside); else
    /// the pixels whose red value is at least <see cref="PreprocessRecipe.FovThreshold"/> × the image's largest red value
    /// (CHASE_DB1, STARE: the surround is near-black in every channel, the fundus brightest in red, so red separates them best).
    /// </summary>
    MaskOrRedThreshold,
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

    /// <summary>The channel kept of a colour (H, W, 3) source image; null keeps images as read (greyscale sources).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ImageChannel? Channel { get; init; }

    /// <summary>
    /// Whether and how a field-of-view mask is cached beside image and label (<see cref="CachedCase.FovFile"/>, 0/1, resized
    /// nearest); null caches none. Vessel metrics are computed inside the FOV only, as the retinal benchmarks define them.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FieldOfView? Fov { get; init; }

    /// <summary>Fraction of the image's largest red value a pixel needs to count as inside the FOV when no mask file exists; required with <see cref="Fov"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? FovThreshold { get; init; }

    /// <summary>
    /// True keeps all three channels of a colour (H, W, 3) source image, cached channel-planar (R, G, B planes per slice;
    /// <see cref="CachedCase.Channels"/> = 3), for networks that take colour input; null or false keeps images as read
    /// (or the one <see cref="Channel"/>). Each frame is then one slice: colour sources are 2D photographs.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? KeepColour { get; init; }

    /// <summary>
    /// The colour map (<see cref="Volumes.ColourPalette.ByName"/>) that decodes colour-coded label masks into class
    /// indices; null reads labels as stored values. Needs <see cref="LabelMapping.Keep"/> with <see cref="Classes"/> = the
    /// map's class count.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Palette { get; init; }

    /// <summary>
    /// The FOV threshold of the registered fundus recipes: the camera surround is a few grey levels at most, the dimmest
    /// fundus edge still a third or more of the brightest red, so a tenth sits safely between them.
    /// </summary>
    public const double DefaultFovThreshold = 0.1;

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

    /// <summary>
    /// GKD's vessel data (CHASE_DB1, STARE, DRIVE in one folder, <see cref="FundusLayout"/>): the green channel, where vessels
    /// contrast best; divided by 255 (window [0, 255] → [0, 1], what a PyTorch loader's ToTensor does) rather than normalised
    /// per image, so each camera's brightness, the domain shift GKD studies, survives; binarised labels; the FOV cached for
    /// FOV-restricted metrics; 256 × 256, the output size the authors' student code comments.
    /// </summary>
    public static PreprocessRecipe RetinalVessels { get; } = new()
    {
        Dataset = "retinal-vessels", Height = 256, Width = 256, Clip = IntensityClip.Window, Window = [0, 255],
        Normalisation = IntensityNormalisation.MinMax, Labels = LabelMapping.Binarise, Channel = ImageChannel.Green,
        Fov = FieldOfView.MaskOrRedThreshold, FovThreshold = DefaultFovThreshold,
    };

    /// <summary>The fundus phantom: the real recipe at 96 × 96, enough for its vessel trees at the phantom's small scales.</summary>
    public static PreprocessRecipe PhantomFundus { get; } = RetinalVessels with { Dataset = "phantom-fundus", Height = 96, Width = 96 };

    /// <summary>
    /// GKD's liver data (CHAOS CT and LiTS, <see cref="LiverLayout"/>): the [−100, 400] HU window, which spans liver
    /// parenchyma, enhanced vessels and hypodense tumours while dropping air and bone, mapped onto [0, 1]; liver and tumour
    /// binarised into one liver class (LiTS 1 and 2, CHAOS's 255); 256 × 256, as for the vessels.
    /// </summary>
    public static PreprocessRecipe Liver { get; } = new()
    {
        Dataset = "liver", Height = 256, Width = 256, Clip = IntensityClip.Window, Window = [-100, 400],
        Normalisation = IntensityNormalisation.MinMax, Labels = LabelMapping.Binarise,
    };

    /// <summary>The liver phantom at its own 64 × 64 matrix.</summary>
    public static PreprocessRecipe PhantomLiver { get; } = Liver with { Dataset = "phantom-liver", Height = 64, Width = 64 };

    /// <summary>
    /// ACW-SKD's M2caiSeg (<see cref="M2caiSegLayout"/>): the RGB frame kept whole (3 channels), divided by 255 (window
    /// [0, 255] → [0, 1], a PyTorch loader's ToTensor) rather than normalised per frame; the colour masks decoded with
    /// the authors' map into its 19 classes (<see cref="Volumes.ColourPalette.M2caiSeg"/>); 256 × 256: the 774 × 434
    /// frames squeezed to a square, as public M2caiSeg loaders resize them, so HD95 comes out in source pixels along
    /// each axis.
    /// </summary>
    public static PreprocessRecipe M2caiSeg { get; } = new()
    {
        Dataset = "m2caiseg", Height = 256, Width = 256, Clip = IntensityClip.Window, Window = [0, 255],
        Normalisation = IntensityNormalisation.MinMax, Labels = LabelMapping.Keep, Classes = 19, KeepColour = true, Palette = "m2caiseg",
    };

    /// <summary>The laparoscopy phantom at 64 × 64, small enough for ACW-SKD's CPU phantom graph.</summary>
    public static PreprocessRecipe PhantomLaparoscopy { get; } = M2caiSeg with { Dataset = "phantom-laparoscopy", Height = 64, Width = 64 };

    /// <summary>The default recipe of each data set that has one, by data-set name.</summary>
    public static IReadOnlyDictionary<string, PreprocessRecipe> ByDataset { get; } = new Dictionary<string, PreprocessRecipe>(StringComparer.OrdinalIgnoreCase)
    {
        ["phantom-prostate"] = Phantom,
        ["multisite-prostate"] = Prostate,
        ["phantom-abdomen"] = PhantomAbdomen,
        ["phantom-flare"] = PhantomFlare,
        ["synapse"] = Synapse,
        ["flare22"] = Flare,
        ["phantom-fundus"] = PhantomFundus,
        ["retinal-vessels"] = RetinalVessels,
        ["phantom-liver"] = PhantomLiver,
        ["liver"] = Liver,
        ["phantom-laparoscopy"] = PhantomLaparoscopy,
        ["m2caiseg"] = M2caiSeg,
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
        if (Channel is { } channel && !Enum.IsDefined(channel)) throw new ArgumentException($"recipe: unknown image channel {channel}");
        if (Fov is { } fov && !Enum.IsDefined(fov)) throw new ArgumentException($"recipe: unknown field-of-view mode {fov}");
        if ((Fov is null) != (FovThreshold is null))
            throw new ArgumentException("recipe: FovThreshold is given exactly when Fov is");
        if (FovThreshold is { } t && !(t > 0 && t < 1))
            throw new ArgumentException($"recipe: FovThreshold {t} must be in (0, 1), a fraction of the image's largest red value");
        if (KeepColour == true && Channel is not null)
            throw new ArgumentException($"recipe: KeepColour keeps all three channels, Channel = {Channel} keeps one; give one of them");
        if (Palette is not null)
        {
            var palette = Volumes.ColourPalette.ByName(Palette) ?? throw new ArgumentException($"recipe: unknown colour map \"{Palette}\" (known: {Volumes.ColourPalette.M2caiSeg.Name})");
            int count = palette.Classes.Max(c => c.Index) + 1;
            if (Labels != LabelMapping.Keep || Classes != count)
                throw new ArgumentException($"recipe: colour map {Palette} decodes masks into {count} classes, so it needs Labels = Keep and Classes = {count}");
        }
    }

    /// <summary>Properties in declaration order, enums by name, numbers in .NET's shortest round-trip form.</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(this, CanonicalJson);

    /// <summary>SHA-256 (hex) of <see cref="FormatVersion"/> and <see cref="ToCanonicalJson"/>: stable across runs and machines.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(FormatVersion + "\n" + ToCanonicalJson())));

    internal static readonly JsonSerializerOptions CanonicalJson = new() { Converters = { new JsonStringEnumConverter() } };
}

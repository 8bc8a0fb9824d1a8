using MedDistill.Data.Preprocessing;

namespace MedDistill.Data.Loading;

/// <summary>
/// Random 2D augmentations of a training slice, each with its probability and range. Geometry (flips, rotation about the
/// slice centre, isotropic scaling) moves image channels and label together: the image is sampled with
/// <see cref="ImageInterpolation"/>, the label with nearest neighbour, and pixels from outside the slice are 0 (the volume
/// mean after z-scoring; background class). Intensity jitter then maps v ↦ a·v + b on every image channel.
/// The defaults follow common 2D segmentation practice (the papers do not state theirs): flips 0.5, rotation ±15° and
/// scaling 0.9–1.1 each with probability 0.5, intensity scale ±10 % and shift ±0.1 with probability 0.5.
/// </summary>
public sealed record AugmentationOptions
{
    public double HorizontalFlipProbability { get; init; } = 0.5;
    public double VerticalFlipProbability { get; init; } = 0;
    public double RotationProbability { get; init; } = 0.5;

    /// <summary>Rotation angle drawn uniformly from [−MaxRotationDegrees, MaxRotationDegrees].</summary>
    public double MaxRotationDegrees { get; init; } = 15;

    public double ScaleProbability { get; init; } = 0.5;
    public double MinScale { get; init; } = 0.9;
    public double MaxScale { get; init; } = 1.1;
    public double IntensityProbability { get; init; } = 0.5;

    /// <summary>Intensity factor a drawn from [1 − MaxIntensityScale, 1 + MaxIntensityScale].</summary>
    public double MaxIntensityScale { get; init; } = 0.1;

    /// <summary>Intensity offset b drawn from [−MaxIntensityShift, MaxIntensityShift] (in normalised units).</summary>
    public double MaxIntensityShift { get; init; } = 0.1;

    /// <summary>How image channels are resampled under rotation and scaling (labels always nearest).</summary>
    public Interpolation ImageInterpolation { get; init; } = Interpolation.Bilinear;

    /// <summary>No augmentation at all (evaluation).</summary>
    public static AugmentationOptions None { get; } = new()
    {
        HorizontalFlipProbability = 0, VerticalFlipProbability = 0, RotationProbability = 0, ScaleProbability = 0, IntensityProbability = 0,
    };

    public void Validate()
    {
        foreach (var (name, p) in new[] { ("HorizontalFlipProbability", HorizontalFlipProbability), ("VerticalFlipProbability", VerticalFlipProbability),
                     ("RotationProbability", RotationProbability), ("ScaleProbability", ScaleProbability), ("IntensityProbability", IntensityProbability) })
            if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentException($"augmentation: {name} {p} must be in [0, 1]");
        if (MaxRotationDegrees < 0 || MaxIntensityScale is < 0 or >= 1 || MaxIntensityShift < 0)
            throw new ArgumentException("augmentation: MaxRotationDegrees and MaxIntensityShift must be >= 0 and MaxIntensityScale in [0, 1)");
        if (!(MinScale > 0 && MinScale <= MaxScale)) throw new ArgumentException($"augmentation: scale range [{MinScale}, {MaxScale}] must satisfy 0 < min <= max");
    }
}

/// <summary>The augmentation drawn for one sample.</summary>
public readonly record struct AugmentationDraw(bool FlipHorizontal, bool FlipVertical, double AngleDegrees, double Scale, double IntensityScale, double IntensityShift)
{
    public static AugmentationDraw Identity => new(false, false, 0, 1, 1, 0);

    public bool MovesPixels => FlipHorizontal || FlipVertical || AngleDegrees != 0 || Scale != 1;

    /// <summary>Draws every value in a fixed order whatever fires, so one setting's change does not shift the others' draws.</summary>
    public static AugmentationDraw Sample(AugmentationOptions o, Randomness.Xoshiro256 rng)
    {
        bool flipH = rng.Chance(o.HorizontalFlipProbability);
        bool flipV = rng.Chance(o.VerticalFlipProbability);
        bool rotate = rng.Chance(o.RotationProbability);
        double angle = rng.Uniform(-o.MaxRotationDegrees, o.MaxRotationDegrees);
        bool scale = rng.Chance(o.ScaleProbability);
        double factor = rng.Uniform(o.MinScale, o.MaxScale);
        bool intensity = rng.Chance(o.IntensityProbability);
        double a = rng.Uniform(1 - o.MaxIntensityScale, 1 + o.MaxIntensityScale), b = rng.Uniform(-o.MaxIntensityShift, o.MaxIntensityShift);
        return new AugmentationDraw(flipH, flipV, rotate ? angle : 0, scale ? factor : 1, intensity ? a : 1, intensity ? b : 0);
    }
}

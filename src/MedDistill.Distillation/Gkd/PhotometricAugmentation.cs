using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.Gkd;

/// <summary>
/// DCGD's augmented views: intensity changes only, so a view keeps the anchor's geometry (and label) and differs the way
/// scanners and sites do. Per image, in this order: gamma γ ~ U[<paramref name="GammaMin"/>, <paramref name="GammaMax"/>] on
/// the image min–max rescaled to [0, 1] and mapped back (images are z-scored, so a power of the raw values is undefined);
/// contrast c ~ U[1 − <paramref name="Contrast"/>, 1 + <paramref name="Contrast"/>] around the image mean; brightness
/// b ~ U[−<paramref name="Brightness"/>, <paramref name="Brightness"/>]·std; additive N(0, (<paramref name="NoiseStd"/>·std)²)
/// noise. Mean and std are the image's own (over channels and pixels), so the ranges mean the same for any normalisation.
/// Every draw uses torch's generator on the images' device, so a seeded CPU run repeats exactly.
/// </summary>
public sealed record PhotometricAugmentation(double GammaMin, double GammaMax, double Contrast, double Brightness, double NoiseStd)
{
    /// <summary>Below this intensity range an image counts as constant (its gamma step is the identity).</summary>
    public const double RangeFloor = 1e-8;

    /// <summary>An augmented copy of images (N, C, H, W), each drawn independently; the input is not modified and no gradient flows.</summary>
    public Tensor Apply(Tensor images)
    {
        TensorChecks.Map(images, nameof(images), nameof(PhotometricAugmentation));
        var shape = images.shape;
        long n = shape[0];
        var flat = images.detach().flatten(1);
        var lo = flat.min(1, keepdim: true).values;
        var range = flat.max(1, keepdim: true).values.sub(lo).clamp_min(RangeFloor);
        var gamma = Uniform(n, GammaMin, GammaMax, images);
        var x = flat.sub(lo).div(range).clamp(0.0, 1.0).pow(gamma).mul(range).add(lo);

        var mean = x.mean(1, keepdim: true);
        var std = x.sub(mean).square().mean(1, keepdim: true).sqrt();
        var contrast = Uniform(n, 1 - Contrast, 1 + Contrast, images);
        var brightness = Uniform(n, -Brightness, Brightness, images);
        x = x.sub(mean).mul(contrast).add(mean).add(brightness.mul(std));
        if (NoiseStd > 0) x = x.add(randn_like(x).mul(std.mul(NoiseStd)));
        return x.view(shape);
    }

    /// <summary>K augmented views of each image, view-major: row k·N + i is view k of image i.</summary>
    public Tensor Views(Tensor images, int views)
    {
        if (views < 1) throw new ArgumentOutOfRangeException(nameof(views), views, "at least one view");
        return Apply(views == 1 ? images : cat(Enumerable.Repeat(images, views).ToArray(), 0));
    }

    /// <summary>(n, 1) draws from U[lo, hi] (always drawn, even when lo = hi, so the generator's sequence does not depend on the ranges).</summary>
    private static Tensor Uniform(long n, double lo, double hi, Tensor like) =>
        rand([n, 1], like.dtype, like.device).mul(hi - lo).add(lo);
}

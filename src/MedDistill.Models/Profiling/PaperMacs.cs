namespace MedDistill.Models.Profiling;

/// <summary>
/// A count in the convention of the Python tool ptflops 0.6.5–0.7.0 (default mode), split by what produced it so the
/// distance to the true multiply-accumulate count can be explained term by term. <see cref="Total"/> is what ptflops
/// prints as "MACs"/"GMac"; the Affinity-KD paper's "FLOPs" are twice that.
/// </summary>
/// <param name="ConvolutionMacs">True multiply-accumulates of Conv2d and ConvTranspose2d (the latter per input position).</param>
/// <param name="TransposedGridExcess">
/// ptflops evaluates a ConvTranspose2d's kernel at every OUTPUT position; this is that count minus the true one
/// (3× the true cost for a stride-2 layer whose output is twice the input's size).
/// </param>
/// <param name="ConvolutionBias">One per output element of a convolution that has a bias.</param>
/// <param name="Linear">A Linear layer's input elements × out_features, plus out_features once when it has a bias.</param>
/// <param name="BatchNorm">Input elements, twice when affine.</param>
/// <param name="Activation">Output elements of ReLU, ReLU6, PReLU, LeakyReLU and GELU modules.</param>
/// <param name="Pooling">Input elements of max/average (adaptive) pooling modules.</param>
/// <param name="Upsample">Output elements (of the first image) of Upsample modules.</param>
public readonly record struct PaperMacs(
    long ConvolutionMacs,
    long TransposedGridExcess,
    long ConvolutionBias,
    long Linear,
    long BatchNorm,
    long Activation,
    long Pooling,
    long Upsample)
{
    public long Total => ConvolutionMacs + TransposedGridExcess + ConvolutionBias + Linear + BatchNorm + Activation + Pooling + Upsample;

    public static PaperMacs operator +(PaperMacs a, PaperMacs b) => new(
        a.ConvolutionMacs + b.ConvolutionMacs,
        a.TransposedGridExcess + b.TransposedGridExcess,
        a.ConvolutionBias + b.ConvolutionBias,
        a.Linear + b.Linear,
        a.BatchNorm + b.BatchNorm,
        a.Activation + b.Activation,
        a.Pooling + b.Pooling,
        a.Upsample + b.Upsample);

    public static PaperMacs operator *(long k, PaperMacs a) => new(
        k * a.ConvolutionMacs, k * a.TransposedGridExcess, k * a.ConvolutionBias, k * a.Linear,
        k * a.BatchNorm, k * a.Activation, k * a.Pooling, k * a.Upsample);
}

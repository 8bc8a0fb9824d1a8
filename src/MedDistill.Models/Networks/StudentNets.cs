using MedDistill.Torch;

namespace MedDistill.Models.Networks;

/// <summary>Rules the three student networks (ESPNet, ENet, ERFNet) share: width scaling and the input-size check.</summary>
internal static class StudentNets
{
    /// <summary>
    /// A published channel count scaled by the width multiplier: round(channels × width), halves away from zero, and never
    /// below <paramref name="minimum"/> (so a thin network keeps every layer valid). Width 1 returns the published count.
    /// </summary>
    public static int Scale(int channels, double width, int minimum) =>
        Math.Max(minimum, (int)Math.Round(channels * width, MidpointRounding.AwayFromZero));

    /// <summary>
    /// Checks an input before any layer runs: 4-D (N, C, H, W), the configured channels, and H, W positive multiples of
    /// <paramref name="multiple"/>. The students halve the resolution three times and then concatenate, add or unpool
    /// encoder and decoder maps of matching size, which only works when every halving is exact.
    /// </summary>
    public static void CheckInput(string network, Tensor input, int inChannels, int multiple = 8)
    {
        if (input.dim() != 4)
            throw new ArgumentException(
                $"{network}: expected a 4-D input (N, C, H, W), got shape [{string.Join(", ", input.shape)}]", nameof(input));
        var shape = input.shape;
        if (shape[1] != inChannels)
            throw new ArgumentException(
                $"{network}: expected {inChannels} input channel(s), got {shape[1]} (input shape [{string.Join(", ", shape)}])", nameof(input));
        long h = shape[2], w = shape[3];
        if (h < multiple || w < multiple || h % multiple != 0 || w % multiple != 0)
            throw new ArgumentException(
                $"{network}: input size {h}×{w} is not supported; height and width must be positive multiples of {multiple} " +
                "(the network halves the resolution three times and joins encoder and decoder maps of matching size)", nameof(input));
    }
}

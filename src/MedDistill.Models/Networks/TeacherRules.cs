using MedDistill.Torch;

namespace MedDistill.Models.Networks;

/// <summary>
/// How the teacher networks (U-Net, UNet++, DeepLabV3+) scale their channel counts by <see cref="ModelOptions.Width"/>.
/// </summary>
public static class ChannelWidth
{
    /// <summary>No scaled layer gets fewer channels than this, however small the multiplier.</summary>
    public const int MinChannels = 4;

    /// <summary>
    /// round(<paramref name="channels"/> × <paramref name="width"/>), halves rounded away from zero, and at least
    /// <see cref="MinChannels"/>. Width 1 returns every published count unchanged (all of them are at least 4).
    /// </summary>
    public static int Scale(int channels, double width)
    {
        double scaled = Math.Round(channels * width, MidpointRounding.AwayFromZero);
        if (scaled > int.MaxValue) throw new ArgumentException($"width multiplier {width} makes {channels} channels overflow", nameof(width));
        return Math.Max(MinChannels, (int)scaled);
    }
}

/// <summary>The input checks the teacher networks run before their first convolution.</summary>
internal static class InputShape
{
    /// <summary>
    /// Requires a 4-D (N, C, H, W) float input with <paramref name="channels"/> channels whose height and width are positive
    /// multiples of <paramref name="multiple"/>; <paramref name="why"/> says what the multiple comes from.
    /// </summary>
    public static void Require(string network, Tensor input, long channels, int multiple, string why)
    {
        var shape = input.shape;
        if (shape.Length != 4)
            throw new ArgumentException($"{network}: expected a 4-D (N, C, H, W) input, got shape [{string.Join(", ", shape)}]", nameof(input));
        if (shape[0] < 1)
            throw new ArgumentException($"{network}: the input batch is empty (shape [{string.Join(", ", shape)}])", nameof(input));
        if (shape[1] != channels)
            throw new ArgumentException($"{network}: expected {channels} input channel(s), got {shape[1]} (shape [{string.Join(", ", shape)}])", nameof(input));
        long h = shape[2], w = shape[3];
        if (h < multiple || w < multiple || h % multiple != 0 || w % multiple != 0)
            throw new ArgumentException(
                $"{network}: input size {h}×{w} is not supported: height and width must be positive multiples of {multiple} ({why})",
                nameof(input));
    }
}

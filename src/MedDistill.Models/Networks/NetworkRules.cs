using MedDistill.Torch;

namespace MedDistill.Models.Networks;

/// <summary>Rules every network of the zoo shares: how the width multiplier scales channels, and the input check.</summary>
public static class NetworkRules
{
    /// <summary>The smallest channel count a scaled layer gets unless a network asks for another floor.</summary>
    public const int MinChannels = 4;

    /// <summary>
    /// A published channel count scaled by the width multiplier: round(channels × width), halves away from zero, and never
    /// below <paramref name="minimum"/> (so a thin network keeps every layer valid). Width 1 returns the published count
    /// (all of them are at least 4).
    /// </summary>
    public static int ScaleChannels(int channels, double width, int minimum = MinChannels)
    {
        double scaled = Math.Round(channels * width, MidpointRounding.AwayFromZero);
        if (scaled > int.MaxValue) throw new ArgumentException($"width multiplier {width} makes {channels} channels overflow", nameof(width));
        return Math.Max(minimum, (int)scaled);
    }

    /// <summary>
    /// Checks an input before any layer runs: 4-D (N, C, H, W) with a non-empty batch, <paramref name="channels"/> channels,
    /// and height and width positive multiples of <paramref name="multiple"/>; <paramref name="why"/> says where the
    /// multiple comes from, so the message tells the user what the network needs.
    /// </summary>
    internal static void CheckInput(string network, Tensor input, long channels, int multiple, string why)
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

    /// <summary>Why the three students need multiples of 8.</summary>
    internal const string StudentSizeReason = "the network halves the resolution three times and joins encoder and decoder maps of matching size";
}

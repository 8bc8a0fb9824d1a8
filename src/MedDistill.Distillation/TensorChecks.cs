using MedDistill.Torch;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation;

/// <summary>
/// Shape checks shared by the losses (host-side metadata only: none of them reads tensor values, so none of them waits for a
/// GPU) and the one resize rule every loss uses when two maps differ in size.
/// </summary>
internal static class TensorChecks
{
    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    /// <summary>A 4-D (N, C, H, W) floating-point map.</summary>
    public static long[] Map(Tensor t, string what, string loss)
    {
        ArgumentNullException.ThrowIfNull(t, what);
        var shape = t.shape;
        if (shape.Length != 4)
            throw new ArgumentException($"{loss}: {what} must be 4-D (N, C, H, W), got shape {Shape(t)}", what);
        if (!t.dtype.IsFloatingPoint())
            throw new ArgumentException($"{loss}: {what} must be floating point, got {t.dtype}", what);
        return shape;
    }

    /// <summary>An int64 label map (N, H, W) matching <paramref name="logitsShape"/>'s batch and size.</summary>
    public static void Label(Tensor label, long[] logitsShape, string loss)
    {
        ArgumentNullException.ThrowIfNull(label);
        var shape = label.shape;
        if (label.dtype != ScalarType.Int64)
            throw new ArgumentException($"{loss}: label must hold int64 class indices, got {label.dtype}", nameof(label));
        if (shape.Length != 3 || shape[0] != logitsShape[0] || shape[1] != logitsShape[2] || shape[2] != logitsShape[3])
            throw new ArgumentException(
                $"{loss}: label must be (N, H, W) = [{logitsShape[0]}, {logitsShape[2]}, {logitsShape[3]}] to match the logits, got {Shape(label)}",
                nameof(label));
    }

    public static void SameBatch(long[] student, long[] teacher, string loss)
    {
        if (student[0] != teacher[0])
            throw new ArgumentException($"{loss}: student and teacher batches differ ({student[0]} vs {teacher[0]})");
    }

    /// <summary>
    /// <paramref name="x"/> resized to (h, w) when its size differs (otherwise <paramref name="x"/> itself). Every resize in
    /// the losses goes through here: bilinear with align_corners=false unless the caller asks for another mode.
    /// </summary>
    public static Tensor ResizeTo(Tensor x, long h, long w, InterpolationMode mode = InterpolationMode.Bilinear)
    {
        var shape = x.shape;
        if (shape[2] == h && shape[3] == w) return x;
        return F.interpolate(x, size: [h, w], mode: mode, align_corners: mode == InterpolationMode.Nearest ? null : false);
    }

    /// <summary>
    /// Logits with at least two class channels: a single-channel (binary, sigmoid) map z becomes (0, z), whose softmax is
    /// (1 − σ(z), σ(z)). Maps with two or more channels are returned as they are.
    /// </summary>
    public static Tensor AsClassLogits(Tensor logits) =>
        logits.size(1) == 1 ? torch.cat([torch.zeros_like(logits), logits], 1) : logits;

    /// <summary>
    /// argmax over the class dimension of (N, C, H, W) logits, as (N, H, W) of <paramref name="dtype"/> (int64 unless asked;
    /// it must hold C − 1); ties go to the lower class, as argmax. Built from elementwise comparisons because libtorch's CPU
    /// argmax over a non-innermost dimension is some 100× slower (measured: 260 ms against 2 ms for 16×2×384×384).
    /// </summary>
    public static Tensor ClassArgmax(Tensor logits, ScalarType dtype = ScalarType.Int64)
    {
        long classes = logits.size(1);
        var best = logits.select(1, 0);
        if (classes == 1) return torch.zeros_like(best, dtype);
        Tensor index = null!;
        for (long c = 1; c < classes; c++)
        {
            var candidate = logits.select(1, c);
            var better = candidate.gt(best);
            // Class 1 against class 0 is the comparison itself; where() is slower (CPU) and only needed from class 2 on.
            index = c == 1 ? better.to(dtype) : torch.where(better, c, index);
            if (c + 1 < classes) best = best.maximum(candidate);
        }
        return index;
    }

    public static void Finite(double value, string name, string owner, bool positive = false, bool allowZero = true)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"{owner}: {name} must be finite, got {value}");
        if (positive && !(value > 0)) throw new ArgumentException($"{owner}: {name} must be positive, got {value}");
        if (!allowZero && value == 0) throw new ArgumentException($"{owner}: {name} must not be zero");
    }

    public static void NonNegative(double value, string name, string owner)
    {
        if (!double.IsFinite(value) || value < 0) throw new ArgumentException($"{owner}: {name} must be a finite number ≥ 0, got {value}");
    }
}

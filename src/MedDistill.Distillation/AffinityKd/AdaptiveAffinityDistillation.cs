using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.AffinityKd;

/// <summary>Settings of the adaptive affinity module (AAM, Affinity-KD eqs. 1–4).</summary>
public sealed record AdaptiveAffinityOptions
{
    /// <summary>
    /// Side of the square neighbourhood (default 3, as Adaptive Affinity Fields; odd, ≥ 3). Each pixel is paired with the
    /// K² − 1 offsets (dy, dx) ∈ {−r..r}² \ {(0, 0)}, r = (K − 1)/2, each multiplied by every dilation.
    /// </summary>
    public int Kernel { get; init; } = 3;

    /// <summary>Dilations of the neighbourhood (default [1]: the 8 direct neighbours). AAF uses several; all are pooled.</summary>
    public IReadOnlyList<int> Dilations { get; init; } = [1];

    /// <summary>Margin m of the hinge max(0, m − W_ij) on different-label pairs (default 3.0, about AAF's; the paper gives none).</summary>
    public double Margin { get; init; } = 3.0;

    /// <summary>
    /// Which class distributions W_ij = KL(F_i ‖ F_j) compares. The paper's "F_i and F_j", read as the student's at both
    /// pixels (<see cref="AffinityProbabilities.StudentStudent"/>, the default); the alternative reading compares the
    /// student's at i with the teacher's at j (<see cref="AffinityProbabilities.StudentTeacher"/>), so same-label pairs pull the
    /// student towards the teacher's neighbouring prediction instead of towards its own.
    /// </summary>
    public AffinityProbabilities Compare { get; init; } = AffinityProbabilities.StudentStudent;

    public void Validate()
    {
        const string owner = nameof(AdaptiveAffinityOptions);
        if (!Enum.IsDefined(Compare)) throw new ArgumentException($"{owner}: Compare {Compare} is not known");
        if (Kernel < 3 || Kernel % 2 == 0) throw new ArgumentException($"{owner}: Kernel must be odd and at least 3, got {Kernel}");
        if (Dilations is null || Dilations.Count == 0) throw new ArgumentException($"{owner}: Dilations is empty");
        foreach (var d in Dilations)
            if (d < 1) throw new ArgumentException($"{owner}: dilations must be positive, got {d}");
        if (Dilations.Distinct().Count() != Dilations.Count)
            throw new ArgumentException($"{owner}: Dilations repeats a value ([{string.Join(", ", Dilations)}])");
        TensorChecks.NonNegative(Margin, nameof(Margin), owner);
    }

    /// <summary>The neighbour offsets (dy, dx), for every dilation, in a fixed order.</summary>
    public IEnumerable<(int dy, int dx)> Offsets()
    {
        int r = (Kernel - 1) / 2;
        foreach (var d in Dilations)
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++)
                    if (dy != 0 || dx != 0) yield return (dy * d, dx * d);
    }
}

/// <summary>The distributions at the two pixels of an AAM pair: the student's at both, or the student's at i and the teacher's at j.</summary>
public enum AffinityProbabilities { StudentStudent, StudentTeacher }

/// <summary>
/// The adaptive affinity module. The teacher's predicted labels ŷ = argmax(z_t) split neighbouring pixel pairs (i, j) into
/// same-label pairs P+ and different-label pairs P−; W_ij = KL(P_i ‖ P_j) = Σ_c P_i,c (log P_i,c − log P_j,c) compares the
/// student's class distributions (softmax of its logits) at i and j.
/// L = Σ_{P+} W_ij / |P+| + Σ_{P−} max(0, m − W_ij) / |P−|, each set pooled over all offsets, dilations and the batch; an
/// empty set contributes 0. Pairs are ordered (W is asymmetric): (i, j) and (j, i) are two pairs. Only pairs whose both pixels
/// are inside the image count (no padding).
/// <para>
/// Teacher logits of another spatial size are resized bilinearly to the student's before the argmax. Single-channel
/// (binary) logits z stand for the two classes (0, z). Gradients reach only the student logits. No value is read back to the host, so a GPU step does not wait here.
/// </para>
/// </summary>
public sealed class AdaptiveAffinityDistillation
{
    public AdaptiveAffinityDistillation(AdaptiveAffinityOptions? options = null)
    {
        Options = options ?? new AdaptiveAffinityOptions();
        Options.Validate();
        // An offset and its negation slice the same pixel pairs in the two orders: each such couple is handled once, both
        // directions at a time (W_ij and W_ji share the slices and the label comparison).
        halfOffsets = Options.Offsets().Where(o => o.dy > 0 || (o.dy == 0 && o.dx > 0)).ToArray();
    }

    private readonly (int dy, int dx)[] halfOffsets;

    public AdaptiveAffinityOptions Options { get; }

    public Tensor Compute(Tensor studentLogits, Tensor teacherLogits) => ComputeParts(studentLogits, teacherLogits).Total;

    /// <summary>The two halves of the loss and the pair counts (0-dim tensors; counts in the logits' dtype).</summary>
    public AffinityParts ComputeParts(Tensor studentLogits, Tensor teacherLogits)
    {
        const string name = nameof(AdaptiveAffinityDistillation);
        var s = TensorChecks.Map(studentLogits, nameof(studentLogits), name);
        var t = TensorChecks.Map(teacherLogits, nameof(teacherLogits), name);
        TensorChecks.SameBatch(s, t, name);
        long n = s[0], h = s[2], w = s[3];

        // Labels as bytes when they fit: the per-offset comparisons then read an eighth of the memory of int64.
        var labelType = t[1] <= 256 ? ScalarType.Byte : ScalarType.Int64;
        var teacherLabels = TensorChecks.ClassArgmax(TensorChecks.AsClassLogits(TensorChecks.ResizeTo(teacherLogits.detach(), h, w)), labelType);
        var logProbs = TensorChecks.AsClassLogits(studentLogits).log_softmax(1);
        var probs = logProbs.exp();
        // The distribution each pair's second pixel j contributes log F_j from.
        var otherLogProbs = Options.Compare == AffinityProbabilities.StudentTeacher
            ? TensorChecks.AsClassLogits(TensorChecks.ResizeTo(teacherLogits.detach(), h, w)).log_softmax(1)
            : logProbs;
        // Σ_c P_i log P_i, shared by every pair starting at i: W_ij = negEntropy_i − Σ_c P_i log P_j.
        var negEntropy = probs.mul(logProbs).sum(1);

        Tensor? plusSum = null, cappedMinusSum = null, plusCount = null;
        long pairs = 0;
        double margin = Options.Margin;
        foreach (var (dy, dx) in halfOffsets)
        {
            long ph = h - Math.Abs(dy), pw = w - Math.Abs(dx);
            if (ph <= 0 || pw <= 0) continue;
            // A: the pixels i whose neighbour i + (dy, dx) is inside; B: those neighbours.
            long ay = Math.Max(0, -dy), ax = Math.Max(0, -dx), by = Math.Max(0, dy), bx = Math.Max(0, dx);
            Tensor A(Tensor x, int dims) => Window(x, dims, ay, ax, ph, pw);
            Tensor B(Tensor x, int dims) => Window(x, dims, by, bx, ph, pw);

            var wAB = A(negEntropy, 3).sub(A(probs, 4).mul(B(otherLogProbs, 4)).sum(1));
            var wBA = B(negEntropy, 3).sub(B(probs, 4).mul(A(otherLogProbs, 4)).sum(1));
            var sameMask = A(teacherLabels, 3).eq(B(teacherLabels, 3));
            var same = sameMask.to(wAB.dtype).flatten();
            var different = 1.0 - same;

            // Masked sums as dot products with 0/1 masks: one BLAS pass each, no product tensor (and far faster on the CPU
            // than where(), which libtorch does not vectorise here).
            var plus = Dot(wAB.add(wBA), same);
            // Σ_{P−} max(0, m − W) = m·|P−| − Σ_{P−} min(W, m); no cancellation where it matters (few P− pairs, W ≪ m).
            var capped = wAB.clamp_max(margin).add(wBA.clamp_max(margin));
            var cappedMinus = Dot(capped, different);
            var count = sameMask.sum();   // int64: exact at any size
            plusSum = plusSum is null ? plus : plusSum.add(plus);
            cappedMinusSum = cappedMinusSum is null ? cappedMinus : cappedMinusSum.add(cappedMinus);
            plusCount = plusCount is null ? count : plusCount.add(count);
            pairs += 2 * n * ph * pw;
        }

        if (plusSum is null)
        {
            // An image too small for any offset has no pairs at all: both sets are empty.
            var zero = negEntropy.sum().mul(0.0);
            return new AffinityParts(zero, zero, zero, zero);
        }
        // Each couple of slices holds 2·count same-label pairs (both orders). Counted in int64 and converted once: float32
        // cannot hold every count above 2^24 (16×384² images have some 19 million pairs).
        var plusPairs = plusCount!.mul(2).to(plusSum.dtype);
        var minusPairs = (pairs - plusCount.mul(2)).to(plusSum.dtype);
        var minusSum = minusPairs.mul(margin).sub(cappedMinusSum!);
        // clamp_min(1): an empty set has a zero sum, so it contributes 0 without a host-side test.
        var lossPlus = plusSum.div(plusPairs.clamp_min(1.0));
        var lossMinus = minusSum.div(minusPairs.clamp_min(1.0));
        return new AffinityParts(lossPlus, lossMinus, plusPairs, minusPairs);
    }

    private static Tensor Dot(Tensor values, Tensor flatMask) => values.flatten().matmul(flatMask);

    private static Tensor Window(Tensor x, int dims, long y, long xStart, long height, long width)
    {
        int rowDim = dims - 2;
        return x.narrow(rowDim, y, height).narrow(rowDim + 1, xStart, width);
    }
}

/// <summary>The parts of the AAM loss: L+ (same-label pairs), L− (different-label pairs) and the pair counts |P+|, |P−|.</summary>
public sealed record AffinityParts(Tensor SameLabelLoss, Tensor DifferentLabelLoss, Tensor SameLabelPairs, Tensor DifferentLabelPairs)
{
    /// <summary>L+ + L−, computed on each read (a new tensor in the current dispose scope).</summary>
    public Tensor Total => SameLabelLoss.add(DifferentLabelLoss);
}

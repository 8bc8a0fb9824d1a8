using MedDistill.Torch;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Gkd;

/// <summary>
/// The GKD terms as functions on plain tensors (our reconstruction; docs/distillation.md, "GKD"). Teacher-side inputs are
/// detached here whatever the caller did. Tensors created belong to the caller's dispose scope; nothing is read to the host.
/// </summary>
public static class GkdLosses
{
    /// <summary>Below this norm a vector is divided by the floor instead (as F.normalize's eps).</summary>
    public const double NormFloor = 1e-12;

    /// <summary>Rows of (M, D) scaled to unit L2 norm.</summary>
    public static Tensor Normalize(Tensor vectors) => vectors.div(vectors.norm(2, 1, keepdim: true).clamp_min(NormFloor));

    /// <summary>
    /// DCGD's intra-coupling graph: row i holds anchor i's cosine similarities to all M view vectors over τ, softmaxed; the
    /// term is the mean over the N rows of KL(P_T ‖ P_S). Anchors (N, D), views (M, D) per network; teacher detached.
    /// </summary>
    public static Tensor IntraGraph(Tensor studentAnchors, Tensor studentViews, Tensor teacherAnchors, Tensor teacherViews, double tau)
    {
        const string name = nameof(IntraGraph);
        Vectors(studentAnchors, teacherAnchors, name, "anchors");
        Vectors(studentViews, teacherViews, name, "views");
        var s = Normalize(studentAnchors).matmul(Normalize(studentViews).t()).div(tau);
        var t = Normalize(teacherAnchors.detach()).matmul(Normalize(teacherViews.detach()).t()).div(tau);
        return RowKl(t.to(s.dtype), s);
    }

    /// <summary>
    /// DCGD's inter-coupling graph: row j holds view j's cosine similarities to the other M − 1 views over τ (itself left
    /// out, so the row is not dominated by the trivial similarity 1), softmaxed; the term is the mean over the M rows of
    /// KL(P_T ‖ P_S). Views (M, D) per network, M ≥ 2; teacher detached.
    /// </summary>
    public static Tensor InterGraph(Tensor studentViews, Tensor teacherViews, double tau)
    {
        const string name = nameof(InterGraph);
        Vectors(studentViews, teacherViews, name, "views");
        long m = studentViews.size(0);
        if (m < 2) throw new ArgumentException($"{name}: needs at least 2 view vectors (batch × views), got {m}; raise views or the batch");
        var index = arange(m, ScalarType.Int64, studentViews.device);
        var offDiagonal = index.unsqueeze(1).ne(index.unsqueeze(0));
        Tensor Similarities(Tensor v)
        {
            var u = Normalize(v);
            return u.matmul(u.t()).div(tau).masked_select(offDiagonal).view(m, m - 1);
        }
        return RowKl(Similarities(teacherViews.detach()).to(studentViews.dtype), Similarities(studentViews));
    }

    /// <summary>
    /// DICD's soft target: τc²·KL(softmax(z_T/τc) ‖ softmax(z×/τc)), the KL summed over classes and averaged over the
    /// N·H·W pixels. Logits (N, K, H, W) of equal shape; single-channel logits count as two classes; teacher detached.
    /// </summary>
    public static Tensor CrossKl(Tensor crossLogits, Tensor teacherLogits, double temperature)
    {
        Logits(crossLogits, teacherLogits, nameof(CrossKl));
        var target = TensorChecks.AsClassLogits(teacherLogits.detach().to(crossLogits.dtype)).div(temperature).log_softmax(1);
        var student = TensorChecks.AsClassLogits(crossLogits).div(temperature).log_softmax(1);
        return target.exp().mul(target.sub(student)).sum(1).mean().mul(temperature * temperature);
    }

    /// <summary>DICD's hard target: cross-entropy of the cross logits against the teacher's argmax (pixel mean).</summary>
    public static Tensor CrossHard(Tensor crossLogits, Tensor teacherLogits)
    {
        Logits(crossLogits, teacherLogits, nameof(CrossHard));
        var label = TensorChecks.ClassArgmax(TensorChecks.AsClassLogits(teacherLogits.detach()));
        return F.cross_entropy(TensorChecks.AsClassLogits(crossLogits), label);
    }

    /// <summary>The cross term of one exchanged path under the chosen target.</summary>
    public static Tensor Cross(Tensor crossLogits, Tensor teacherLogits, CrossTarget target, double temperature) => target switch
    {
        CrossTarget.Soft => CrossKl(crossLogits, teacherLogits, temperature),
        CrossTarget.Hard => CrossHard(crossLogits, teacherLogits),
        _ => throw new ArgumentException($"{nameof(Cross)}: unknown target {target}", nameof(target)),
    };

    /// <summary>
    /// ACT: MSE(F̂_T, F_T) + MSE(F̂_S, F_S) + <paramref name="alignWeight"/>·MSE(v_S, v_T), every target detached (the
    /// reconstructions and v_S carry the gradient; F_S does through F̂_S's input, not as the target).
    /// </summary>
    public static Tensor Act(Tensor teacherRestored, Tensor teacherFeatures, Tensor studentRestored, Tensor studentFeatures,
        Tensor studentVectors, Tensor teacherVectors, double alignWeight)
    {
        const string name = nameof(Act);
        SameShape(teacherRestored, teacherFeatures, name, "teacher reconstruction", "teacher features");
        SameShape(studentRestored, studentFeatures, name, "student reconstruction", "student features");
        Vectors(studentVectors, teacherVectors, name, "semantic vectors");
        var loss = Mse(teacherRestored, teacherFeatures).add(Mse(studentRestored, studentFeatures));
        return alignWeight == 0 ? loss : loss.add(Mse(studentVectors, teacherVectors).mul(alignWeight));
    }

    private static Tensor Mse(Tensor x, Tensor target) => x.sub(target.detach().to(x.dtype)).square().mean();

    /// <summary>Mean over rows of Σ_j P_T (log P_T − log P_S), each side a softmax of its row logits.</summary>
    private static Tensor RowKl(Tensor teacherLogits, Tensor studentLogits)
    {
        var t = teacherLogits.log_softmax(1);
        var s = studentLogits.log_softmax(1);
        return t.exp().mul(t.sub(s)).sum(1).mean();
    }

    private static void Vectors(Tensor student, Tensor teacher, string loss, string what)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (student.dim() != 2 || !student.shape.SequenceEqual(teacher.shape))
            throw new ArgumentException($"{loss}: student and teacher {what} must both be (M, D) of one shape, got {TensorChecks.Shape(student)} and {TensorChecks.Shape(teacher)}");
    }

    private static void Logits(Tensor cross, Tensor teacher, string loss)
    {
        TensorChecks.Map(cross, "cross logits", loss);
        TensorChecks.Map(teacher, "teacher logits", loss);
        SameShape(cross, teacher, loss, "cross logits", "teacher logits");
    }

    private static void SameShape(Tensor a, Tensor b, string loss, string aName, string bName)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"{loss}: {aName} {TensorChecks.Shape(a)} and {bName} {TensorChecks.Shape(b)} differ");
    }
}

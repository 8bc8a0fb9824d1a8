using MedDistill.Distillation.Mskd;
using MedDistill.Torch;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.AcwSkd;

/// <summary>
/// The ACW-SKD terms as functions on plain tensors (our reconstruction from the abstract; docs/distillation.md, "ACW-SKD"),
/// so they do not depend on the network that produces the taps. "Aux" is the auxiliary branch (the student signal), "final"
/// / "target" the final branch (the self-teacher): every final-branch input is detached here, whatever the caller did.
/// Tensors created belong to the caller's dispose scope; nothing is read back to the host.
/// </summary>
public static class AcwSkdLosses
{
    public const double CosineEps = 1e-8;

    /// <summary>
    /// Class masks (N, K, h, w) from logits (N, K, h', w'): soft = softmax probabilities resized to (h, w) (resizing the
    /// probabilities, not the logits, keeps every pixel a distribution under bilinear weights); hard = one-hot of the argmax
    /// of the resized probabilities. Single-channel logits count as two classes. Not detached: the caller decides.
    /// </summary>
    public static Tensor ClassMasks(Tensor logits, long h, long w, ClassMaskKind kind = ClassMaskKind.Soft,
        InterpolationMode resize = InterpolationMode.Bilinear)
    {
        TensorChecks.Map(logits, nameof(logits), nameof(ClassMasks));
        var probabilities = TensorChecks.ResizeTo(TensorChecks.AsClassLogits(logits).softmax(1), h, w, resize);
        if (kind == ClassMaskKind.Soft) return probabilities;
        long classes = probabilities.size(1);
        var index = arange(classes, ScalarType.Int64, logits.device).view(1, classes, 1, 1);
        return TensorChecks.ClassArgmax(probabilities).unsqueeze(1).eq(index).to(logits.dtype);
    }

    /// <summary>
    /// Class prototypes (N, K, C) = Σ_hw P_k·F / (Σ_hw P_k + ε) of features (N, C, H, W) under masks (N, K, H, W) of the same
    /// size, and their validity (N, K): 1 where the class's mean mask over the map exceeds <paramref name="minFraction"/>.
    /// Validity is a comparison, so it carries no gradient.
    /// </summary>
    public static (Tensor Prototypes, Tensor Valid) ClassPrototypes(Tensor features, Tensor masks, double eps = 1e-6, double minFraction = 0)
    {
        const string name = nameof(ClassPrototypes);
        var f = TensorChecks.Map(features, nameof(features), name);
        var m = TensorChecks.Map(masks, nameof(masks), name);
        TensorChecks.SameBatch(f, m, name);
        if (m[2] != f[2] || m[3] != f[3])
            throw new ArgumentException($"{name}: masks {TensorChecks.Shape(masks)} must have the features' size {TensorChecks.Shape(features)}; resize them first");
        var weights = masks.to(features.dtype).flatten(2);                  // (N, K, H·W)
        var mass = weights.sum(2);                                          // (N, K)
        var sums = weights.bmm(features.flatten(2).transpose(1, 2));        // (N, K, C)
        var valid = mass.detach().div(f[2] * f[3]).gt(minFraction).to(features.dtype);
        return (sums.div(mass.add(eps).unsqueeze(2)), valid);
    }

    /// <summary>
    /// Class-wise relation distillation: the mean over ordered pairs k ≠ l of classes valid in a sample of
    /// (S_aux[k, l] − S_target[k, l])², S the cosine similarity of two prototypes. The target is detached. 0 without pairs.
    /// The K×K matrices do not depend on the channel count, so the two branches may differ in width.
    /// </summary>
    public static Tensor ClassRelation(Tensor auxPrototypes, Tensor targetPrototypes, Tensor valid)
    {
        long k = valid.size(1);
        var index = arange(k, ScalarType.Int64, valid.device);
        var offDiagonal = index.unsqueeze(1).ne(index.unsqueeze(0)).to(valid.dtype);
        var pairs = valid.unsqueeze(2).mul(valid.unsqueeze(1)).mul(offDiagonal);
        var difference = MskdLosses.Adjacency(auxPrototypes).sub(MskdLosses.Adjacency(targetPrototypes.detach()).to(auxPrototypes.dtype));
        return MaskedMean(difference.square(), pairs);
    }

    /// <summary>Prototype-wise distillation: mean over valid (sample, class) of 1 − cos(p_aux, p_target); target detached.</summary>
    public static Tensor PrototypeAlignment(Tensor auxPrototypes, Tensor targetPrototypes, Tensor valid)
    {
        if (auxPrototypes.size(2) != targetPrototypes.size(2))
            throw new ArgumentException(
                $"{nameof(PrototypeAlignment)}: aux prototypes have {auxPrototypes.size(2)} channels, the target's {targetPrototypes.size(2)}; use the relation form or FRM's class level");
        var cos = F.cosine_similarity(auxPrototypes, targetPrototypes.detach().to(auxPrototypes.dtype), 2, CosineEps);
        return MaskedMean(cos.neg().add(1), valid);
    }

    /// <summary>
    /// FRM's map-level loss between a reconstruction and the target map, both (N, C, H, W); target detached. MSE and L1 are
    /// means over every element; cosine is the mean over pixels of 1 − cos over channels.
    /// </summary>
    public static Tensor MapDistance(Tensor reconstruction, Tensor target, ReconstructionDistance distance = ReconstructionDistance.Mse)
    {
        const string name = nameof(MapDistance);
        var r = TensorChecks.Map(reconstruction, nameof(reconstruction), name);
        var t = TensorChecks.Map(target, nameof(target), name);
        if (!r.SequenceEqual(t)) throw new ArgumentException($"{name}: reconstruction {TensorChecks.Shape(reconstruction)} and target {TensorChecks.Shape(target)} differ");
        var goal = target.detach().to(reconstruction.dtype);
        return distance switch
        {
            ReconstructionDistance.Mse => reconstruction.sub(goal).square().mean(),
            ReconstructionDistance.L1 => reconstruction.sub(goal).abs().mean(),
            ReconstructionDistance.Cosine => F.cosine_similarity(reconstruction, goal, 1, CosineEps).neg().add(1).mean(),
            _ => throw new ArgumentException($"{name}: unknown distance {distance}", nameof(distance)),
        };
    }

    /// <summary>
    /// FRM's class-level loss: the mean over valid (sample, class) of the distance between reconstructed and target
    /// prototypes (N, K, C): MSE / L1 averaged over channels, or 1 − cos. Target detached.
    /// </summary>
    public static Tensor PrototypeDistance(Tensor reconstruction, Tensor target, Tensor valid, ReconstructionDistance distance = ReconstructionDistance.Mse)
    {
        var goal = target.detach().to(reconstruction.dtype);
        var d = distance switch
        {
            ReconstructionDistance.Mse => reconstruction.sub(goal).square().mean(2),
            ReconstructionDistance.L1 => reconstruction.sub(goal).abs().mean(2),
            ReconstructionDistance.Cosine => F.cosine_similarity(reconstruction, goal, 2, CosineEps).neg().add(1),
            _ => throw new ArgumentException($"{nameof(PrototypeDistance)}: unknown distance {distance}", nameof(distance)),
        };
        return MaskedMean(d, valid);
    }

    /// <summary>Cross-entropy of the aux logits, resized to the label's (H, W), against the int64 label (N, H, W).</summary>
    public static Tensor AuxCrossEntropy(Tensor auxLogits, Tensor label, InterpolationMode resize = InterpolationMode.Bilinear)
    {
        var a = TensorChecks.Map(auxLogits, nameof(auxLogits), nameof(AuxCrossEntropy));
        ArgumentNullException.ThrowIfNull(label);
        if (label.dtype != ScalarType.Int64 || label.dim() != 3 || label.size(0) != a[0])
            throw new ArgumentException($"{nameof(AuxCrossEntropy)}: label must be int64 (N, H, W) with N = {a[0]}, got {label.dtype} {TensorChecks.Shape(label)}");
        var logits = TensorChecks.AsClassLogits(TensorChecks.ResizeTo(auxLogits, label.size(1), label.size(2), resize));
        return F.cross_entropy(logits, label);
    }

    /// <summary>
    /// τ²·KL(softmax(z_final/τ) ‖ softmax(z_aux/τ)), the KL summed over classes and averaged over the final map's N·H·W
    /// pixels. The final logits are detached (the target); the aux logits are resized to their size. <paramref name="tau"/>
    /// is a 0-dim tensor, so a learnable (and reversed) temperature receives its gradient through every use of τ.
    /// </summary>
    public static Tensor TemperatureKd(Tensor auxLogits, Tensor finalLogits, Tensor tau, InterpolationMode resize = InterpolationMode.Bilinear)
    {
        const string name = nameof(TemperatureKd);
        var a = TensorChecks.Map(auxLogits, nameof(auxLogits), name);
        var f = TensorChecks.Map(finalLogits, nameof(finalLogits), name);
        TensorChecks.SameBatch(a, f, name);
        if (a[1] != f[1]) throw new ArgumentException($"{name}: aux logits have {a[1]} classes, final logits {f[1]}");
        if (tau.dim() != 0) throw new ArgumentException($"{name}: τ must be a 0-dim tensor, got {TensorChecks.Shape(tau)}");
        var t = tau.to(auxLogits.dtype);
        var aux = TensorChecks.AsClassLogits(TensorChecks.ResizeTo(auxLogits, f[2], f[3], resize)).div(t).log_softmax(1);
        var target = TensorChecks.AsClassLogits(finalLogits.detach().to(auxLogits.dtype)).div(t).log_softmax(1);
        var kl = target.exp().mul(target.sub(aux)).sum();
        return kl.mul(t.square()).div(f[0] * f[2] * f[3]);
    }

    /// <summary>
    /// Gradient reversal without custom autograd: x.detach() + (−λ)·(x − x.detach()). Forward, the second part is exactly 0,
    /// so the value is x bit for bit; backward, only that part has a path to x, so the gradient is multiplied by −λ.
    /// </summary>
    public static Tensor GradientReversal(Tensor x, double lambda)
    {
        var constant = x.detach();
        return constant.add(x.sub(constant).mul(-lambda));
    }

    /// <summary>
    /// λ at <paramref name="step"/> of <paramref name="totalSteps"/>: cosine from 0 to λ_max over the first
    /// <paramref name="rampFraction"/> of training, then λ_max; or λ_max throughout (constant).
    /// </summary>
    public static double ReversalFactor(long step, long totalSteps, double lambdaMax = 1.0, ReversalSchedule schedule = ReversalSchedule.Cosine,
        double rampFraction = 1.0)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total steps must be ≥ 1");
        if (schedule == ReversalSchedule.Constant) return lambdaMax;
        double progress = Math.Clamp(step / (rampFraction * totalSteps), 0.0, 1.0);
        return lambdaMax * (1 - Math.Cos(Math.PI * progress)) / 2;
    }

    /// <summary>Σ value·weight / max(Σ weight, 1): the mean over the weighted entries, 0 (not 0/0) when there are none.</summary>
    private static Tensor MaskedMean(Tensor value, Tensor weight) =>
        value.mul(weight).sum().div(weight.sum().clamp_min(1.0));
}

using MedDistill.Torch;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Mskd;

/// <summary>
/// The two MSKD terms as functions on tensors (our reconstruction; docs/distillation.md, "MSKD"). Shapes: label (N, H, W)
/// int64; teacher logits (N, K, H', W'); feature maps (N, C, h, w), each network's at its own size. Every tensor created
/// here belongs to the caller's dispose scope and nothing is read back to the host; teacher inputs are detached.
/// <para>
/// A region is a class's filtered mask (<see cref="RegionMasks"/>); a region prototype is the mask-weighted mean of a
/// feature map over the region, the mask first area-averaged to the map's size (<see cref="Prototypes"/>). A region is a
/// node of a sample only where its mask is not empty; empty regions drop out of both terms.
/// </para>
/// </summary>
public static class MskdLosses
{
    public const double CosineEps = 1e-8;

    /// <summary>Below this norm a prototype is divided by the clamp instead (PyTorch's F.normalize eps).</summary>
    public const double NormClamp = 1e-12;

    /// <summary>
    /// Filtered region masks (N, K', H, W) of 0/1 in the teacher logits' dtype, at the label's resolution: K' = K classes (K'
    /// = K − 1 without background). Single-channel teacher logits count as two classes. Teacher logits of another size are
    /// resized bilinearly to the label's.
    /// </summary>
    public static Tensor RegionMasks(Tensor label, Tensor teacherLogits, MskdOptions options)
    {
        const string name = nameof(RegionMasks);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(label);
        var z = TensorChecks.Map(teacherLogits, nameof(teacherLogits), name);
        if (label.dtype != ScalarType.Int64 || label.dim() != 3 || label.size(0) != z[0])
            throw new ArgumentException($"{name}: label must be int64 (N, H, W) with N = {z[0]}, got {label.dtype} {TensorChecks.Shape(label)}", nameof(label));

        long height = label.size(1), width = label.size(2);
        var logits = TensorChecks.ResizeTo(TensorChecks.AsClassLogits(teacherLogits.detach()), height, width);
        long classes = logits.size(1);
        bool needPrediction = options.Regions == RegionSource.TeacherPrediction || options.Filter == RegionFilter.TeacherCorrect;
        var predicted = needPrediction ? TensorChecks.ClassArgmax(logits) : null;
        var regions = options.Regions == RegionSource.Label ? label : predicted!;

        var dtype = logits.dtype;
        var classIndex = arange(classes, ScalarType.Int64, label.device).view(1, classes, 1, 1);
        var masks = regions.unsqueeze(1).eq(classIndex).to(dtype);
        var keep = options.Filter switch
        {
            RegionFilter.None => null,
            RegionFilter.TeacherCorrect => predicted!.eq(label),
            // "Some class has p ≥ τ" is "max p ≥ τ" for every τ, without a max over the class dimension.
            RegionFilter.TeacherConfident => logits.softmax(1).ge(options.ConfidenceThreshold).any(1),
            _ => throw new ArgumentException($"{name}: unknown filter {options.Filter}"),
        };
        if (keep is not null) masks = masks.mul(keep.unsqueeze(1).to(dtype));
        return options.IncludeBackground ? masks : masks.narrow(1, 1, classes - 1);
    }

    /// <summary>
    /// Region prototypes (N, K, C) of <paramref name="features"/> (N, C, h, w) and their validity (N, K; 1 where the region
    /// has any pixel, else 0). Masks (N, K, H, W) are area-averaged to (h, w) (adaptive average pooling: exact pixel
    /// fractions when H, W are multiples of h, w, as for every tap of the zoo), so a prototype at any resolution is the
    /// mean of the feature over the region's pixels as the map sees them. An empty region's prototype is 0.
    /// </summary>
    public static (Tensor Prototypes, Tensor Valid) Prototypes(Tensor features, Tensor masks)
    {
        const string name = nameof(Prototypes);
        var f = TensorChecks.Map(features, nameof(features), name);
        var m = TensorChecks.Map(masks, nameof(masks), name);
        TensorChecks.SameBatch(f, m, name);
        var pooled = masks.to(features.dtype);
        if (m[2] != f[2] || m[3] != f[3]) pooled = F.adaptive_avg_pool2d(pooled, [f[2], f[3]]);
        var weights = pooled.flatten(2);                                   // (N, K, h·w)
        var mass = weights.sum(2);                                         // (N, K)
        var valid = mass.gt(0).to(features.dtype);
        var sums = weights.bmm(features.flatten(2).transpose(1, 2));       // (N, K, C)
        // An empty region divides 0 by 1 instead of 0 by 0: its prototype stays 0 and its gradient finite.
        return (sums.div(mass.add(valid.neg().add(1)).unsqueeze(2)), valid);
    }

    /// <summary>
    /// FFD for one tap pair: the mean over valid (sample, region) nodes of the distance between the student's prototype
    /// (through the adapter when given) and the teacher's; 0 when no region has a pixel.
    /// <para>
    /// The adapter is a 1×1 convolution (weight (Ct, Cs, 1, 1) or (Ct, Cs), optional bias (Ct)). It is applied to the
    /// prototypes rather than to the map: a prototype is an average with weights summing to 1, so W·mean(f) + b equals
    /// mean(W·f + b), at K instead of h·w positions.
    /// </para>
    /// </summary>
    public static Tensor FeatureFiltering(Tensor studentFeatures, Tensor teacherFeatures, Tensor masks,
        PrototypeDistance distance = PrototypeDistance.Cosine, Tensor? adapterWeight = null, Tensor? adapterBias = null)
    {
        const string name = nameof(FeatureFiltering);
        var (student, teacher, valid) = Nodes(studentFeatures, teacherFeatures, masks, name);
        if (adapterWeight is not null)
        {
            student = student.matmul(adapterWeight.flatten(1).t());
            if (adapterBias is not null) student = student.add(adapterBias);
        }
        else if (adapterBias is not null) throw new ArgumentException($"{name}: an adapter bias needs an adapter weight", nameof(adapterBias));
        if (student.size(2) != teacher.size(2))
            throw new ArgumentException(
                $"{name}: student prototypes have {student.size(2)} channels, the teacher's {teacher.size(2)}; channels that differ need an adapter");

        var d = distance switch
        {
            PrototypeDistance.Cosine => F.cosine_similarity(student, teacher, 2, CosineEps).neg().add(1),
            PrototypeDistance.SquaredError => student.sub(teacher).square().mean(2),
            _ => throw new ArgumentException($"{name}: unknown distance {distance}", nameof(distance)),
        };
        return MaskedMean(d, valid);
    }

    /// <summary>
    /// RGD for one tap pair. Each sample's graph has the valid regions as nodes, each node embedded as its L2-normalised
    /// prototype; the adjacency is the cosine similarity of every two nodes (a K×K matrix per sample, independent of the
    /// channel count, so no adapter is needed). RGD is the mean over the edges (ordered pairs of distinct valid nodes) of
    /// (A_s − A_t)²; 0 when no sample has two valid nodes.
    /// </summary>
    public static Tensor RegionGraph(Tensor studentFeatures, Tensor teacherFeatures, Tensor masks)
    {
        var (student, teacher, valid) = Nodes(studentFeatures, teacherFeatures, masks, nameof(RegionGraph));
        long k = valid.size(1);
        var index = arange(k, ScalarType.Int64, valid.device);
        var offDiagonal = index.unsqueeze(1).ne(index.unsqueeze(0)).to(valid.dtype);     // the diagonal is 1 for both
        var edges = valid.unsqueeze(2).mul(valid.unsqueeze(1)).mul(offDiagonal);      // (N, K, K)
        return MaskedMean(Adjacency(student).sub(Adjacency(teacher)).square(), edges);
    }

    /// <summary>Cosine adjacency (N, K, K) of prototypes (N, K, C).</summary>
    public static Tensor Adjacency(Tensor prototypes)
    {
        var unit = prototypes.div(prototypes.norm(2, 2, keepdim: true).clamp_min(NormClamp));
        return unit.bmm(unit.transpose(1, 2));
    }

    private static (Tensor Student, Tensor Teacher, Tensor Valid) Nodes(Tensor studentFeatures, Tensor teacherFeatures, Tensor masks, string name)
    {
        var s = TensorChecks.Map(studentFeatures, nameof(studentFeatures), name);
        var t = TensorChecks.Map(teacherFeatures, nameof(teacherFeatures), name);
        TensorChecks.SameBatch(s, t, name);
        var (student, studentValid) = Prototypes(studentFeatures, masks);
        var (teacher, teacherValid) = Prototypes(teacherFeatures.detach(), masks);
        // Area pooling keeps every pixel, so the two agree at any sizes; the product guards against rounding to 0. The
        // teacher may run in another precision than the student.
        var dtype = student.dtype;
        return (student, teacher.to(dtype), studentValid.mul(teacherValid.to(dtype)));
    }

    /// <summary>Σ value·weight / max(Σ weight, 1): a mean over the weighted entries, 0 (not 0/0) when there are none.</summary>
    private static Tensor MaskedMean(Tensor value, Tensor weight) =>
        value.mul(weight).sum().div(weight.sum().clamp_min(1.0));
}

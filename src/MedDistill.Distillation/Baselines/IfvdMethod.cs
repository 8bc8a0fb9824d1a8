using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Baselines;

/// <summary>
/// <c>ifvd</c>: intra-class feature variation distillation (Wang, Zhou, Yu, Zhang, Tao, ECCV 2020). On one map of each
/// network (default the <c>decoder</c> taps), the IFV map is every pixel's cosine similarity to its own class's prototype
/// (<see cref="VariationMap"/>); the value is the mean over the student's N·h·w pixels of (IFV_s − IFV_t)², the teacher's
/// map detached. Cosines do not depend on the channel count, so no adapter. Term <c>ifvd</c>.
/// </summary>
public sealed class IfvdMethod : IDistillationMethod
{
    public const string MethodName = "ifvd";
    public const string Term = "ifvd";

    /// <summary>Below this norm a feature or prototype is divided by it instead (PyTorch's cosine_similarity eps).</summary>
    public const double NormClamp = 1e-8;

    public IfvdMethod(IfvdOptions? options = null)
    {
        Options = options ?? new IfvdOptions();
        Options.Validate();
        StudentTaps = Taps.Requested([Options.StudentTap]);
        TeacherTaps = Taps.Requested([Options.TeacherTap]);
    }

    /// <summary>As above, and checks that both networks have the taps.</summary>
    public IfvdMethod(IfvdOptions? options, SegmentationModel student, SegmentationModel teacher) : this(options)
    {
        Taps.Check(student, StudentTaps, "student", MethodName);
        Taps.Check(teacher, TeacherTaps, "teacher", MethodName);
    }

    public IfvdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }
    public IEnumerable<nn.Parameter> TrainableParameters() => [];
    public nn.Module? TrainableModule => null;

    /// <summary>The classes are the student logits' channels (at least 2: a single sigmoid channel means background/foreground).</summary>
    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        long classes = Math.Max(2, student.Logits.size(1));
        var value = Loss(Taps.Read(student, Options.StudentTap), Taps.Read(teacher, Options.TeacherTap), label, classes);
        return [new LossTerm(Term, Options.Weight, value)];
    }

    /// <summary>
    /// Mean over the student map's pixels of (IFV_s − IFV_t)². Each IFV map is computed at its own map's size (the label
    /// resized to each); a teacher map of another size is then resized to the student's (<see cref="TensorChecks.ResizeTo"/>,
    /// bilinear: for the usual factor 2 that is the 2×2 block mean).
    /// </summary>
    public static Tensor Loss(Tensor student, Tensor teacher, Tensor label, long classes)
    {
        const string name = "IFVD";
        var s = TensorChecks.Map(student, nameof(student), name);
        var t = TensorChecks.Map(teacher, nameof(teacher), name);
        TensorChecks.SameBatch(s, t, name);
        var ifvS = VariationMap(student, label, classes);
        var ifvT = TensorChecks.ResizeTo(VariationMap(teacher.detach(), label, classes), s[2], s[3]);
        return ifvS.sub(ifvT).square().mean();
    }

    /// <summary>
    /// The IFV map (N, 1, h, w) of features (N, C, h, w): the label (N, H, W) brought to (h, w) by nearest-neighbour
    /// resizing (PyTorch's rule: source index ⌊i·H/h⌋, the top-left pixel of each block for whole factors); per image and
    /// class the prototype p_k = mean of the features of the pixels labelled k (masked average pooling); each pixel's
    /// cos(f, p_label) = f·p / (max(‖f‖, ε)·max(‖p‖, ε)), ε = <see cref="NormClamp"/>. A class absent from an image has
    /// no prototype and no pixel that would read one; a pixel whose label is outside 0..classes−1 gets 0 in every map.
    /// </summary>
    public static Tensor VariationMap(Tensor features, Tensor label, long classes)
    {
        const string name = "IFVD";
        var shape = TensorChecks.Map(features, nameof(features), name);
        ArgumentNullException.ThrowIfNull(label);
        if (label.dtype != ScalarType.Int64 || label.dim() != 3 || label.size(0) != shape[0])
            throw new ArgumentException($"{name}: label must be int64 (N, H, W) with N = {shape[0]}, got {label.dtype} {TensorChecks.Shape(label)}", nameof(label));
        if (classes < 1) throw new ArgumentException($"{name}: classes must be at least 1, got {classes}", nameof(classes));
        long n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        // Half-precision maps (autocast) are upcast: ε² = 1e-16 is below float16's smallest value and would clamp to 0.
        if (features.dtype is ScalarType.Float16 or ScalarType.BFloat16) features = features.to(ScalarType.Float32);

        var small = label.size(1) == h && label.size(2) == w
            ? label
            : F.interpolate(label.unsqueeze(1).to(ScalarType.Float32), size: [h, w], mode: InterpolationMode.Nearest).squeeze(1).to(ScalarType.Int64);
        var flatLabel = small.reshape(n, h * w);
        // (N, K, hw) one-hot masks built by comparison, so out-of-range labels simply match no class.
        var masks = stack(Enumerable.Range(0, (int)classes).Select(k => flatLabel.eq(k)).ToArray(), 1).to(features.dtype);
        var f = features.reshape(n, c, h * w);
        // Σ of each class's features over its pixels (N, K, C), divided by its pixel count; an absent class's count is
        // clamped to 1 only to avoid 0/0: its zero prototype is never read.
        var counts = masks.sum(2, keepdim: true).clamp_min(1);
        var prototypes = masks.bmm(f.transpose(1, 2)).div(counts);
        // Each pixel's own class prototype (N, C, hw): exactly one mask is 1 at a labelled pixel.
        var own = prototypes.transpose(1, 2).bmm(masks);
        var dot = f.mul(own).sum(1);
        // Squared norms clamped at ε² then rsqrt: the same value as clamping the norms, and no 0·∞ in the gradient at 0.
        double eps2 = NormClamp * NormClamp;
        var inverse = f.square().sum(1).clamp_min(eps2).rsqrt().mul(own.square().sum(1).clamp_min(eps2).rsqrt());
        return dot.mul(inverse).reshape(n, 1, h, w);
    }

    public void Dispose() { }
}

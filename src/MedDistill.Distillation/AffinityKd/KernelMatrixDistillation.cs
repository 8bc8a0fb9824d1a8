using MedDistill.Models;
using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.AffinityKd;

/// <summary>How the L1 part of the kernel matrix loss reduces |K_s − K_t|.</summary>
public enum L1Reduction
{
    /// <summary>Mean over the n×n entries: the same scale as the squared part (default).</summary>
    Mean,

    /// <summary>Sum over the entries: ‖K_s − K_t‖₁ literally, as eq. 6 writes it (grows with n²).</summary>
    Sum,
}

/// <summary>Settings of the kernel matrix module (KMM, Affinity-KD eqs. 5–6).</summary>
public sealed record KernelMatrixOptions
{
    /// <summary>Student feature tap compared (default <c>encoder</c>, the deepest encoder map; the paper does not name a layer).</summary>
    public string StudentTap { get; init; } = SegmentationModel.EncoderTap;

    /// <summary>Teacher feature tap compared (default <c>encoder</c>).</summary>
    public string TeacherTap { get; init; } = SegmentationModel.EncoderTap;

    /// <summary>
    /// Divide each sample's flattened features by their L2 norm (clamped at 1e-12) before the Gram product (default true, as
    /// the full-kernel-matrix KD work the paper builds on does; the paper is silent). Then every K entry is a cosine in [−1, 1].
    /// </summary>
    public bool Normalise { get; init; } = true;

    /// <summary>Reduction of the L1 part (default <see cref="AffinityKd.L1Reduction.Mean"/>).</summary>
    public L1Reduction L1Reduction { get; init; } = L1Reduction.Mean;

    /// <summary>Whether the 1×1 adapter convolution has a bias (default true, PyTorch's Conv2d default; the paper is silent).</summary>
    public bool AdapterBias { get; init; } = true;

    /// <summary>
    /// How the adapted student map is resized when its spatial size differs from the teacher's (default bilinear with
    /// align_corners=false).
    /// </summary>
    public InterpolationMode ResizeMode { get; init; } = InterpolationMode.Bilinear;

    public void Validate()
    {
        const string owner = nameof(KernelMatrixOptions);
        if (string.IsNullOrWhiteSpace(StudentTap)) throw new ArgumentException($"{owner}: StudentTap is empty");
        if (string.IsNullOrWhiteSpace(TeacherTap)) throw new ArgumentException($"{owner}: TeacherTap is empty");
        if (!Enum.IsDefined(L1Reduction)) throw new ArgumentException($"{owner}: unknown L1 reduction {L1Reduction}");
        if (!Enum.IsDefined(ResizeMode)) throw new ArgumentException($"{owner}: unknown resize mode {ResizeMode}");
    }
}

/// <summary>
/// The kernel matrix module. A trainable 1×1 convolution (the adapter, Cs → Ct channels) maps the student's feature map to
/// the teacher's width; the result is resized to the teacher map's (h, w) if needed (the two steps commute; the cheaper
/// order is used). Each sample's map is flattened to a row
/// (X: N × Ct·h·w), optionally L2-normalised, and the n×n Gram matrices K = X·Xᵀ of student and teacher are compared:
/// loss = mean((K_s − K_t)²) + L1(K_s − K_t). The teacher map is detached.
/// <para>
/// The adapter's parameters must join the student's optimiser (<see cref="nn.Module.parameters"/>) and its state the
/// checkpoint. The adapter is created on the given device and dtype; <see cref="Create"/> uses the student's.
/// </para>
/// </summary>
public sealed class KernelMatrixDistillation : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Below this norm a row is divided by the clamp instead (PyTorch's F.normalize eps).</summary>
    public const double NormClamp = 1e-12;

    /// <summary>Probe input side used by <see cref="ProbeChannels"/>: a multiple of every zoo network's input multiple (≤ 32).</summary>
    public const long DefaultProbeSize = 32;

    private readonly Conv2d adapter;

    public KernelMatrixDistillation(long studentChannels, long teacherChannels, KernelMatrixOptions? options = null,
        Device? device = null, ScalarType? dtype = null)
    {
        Options = options ?? new KernelMatrixOptions();
        Options.Validate();
        if (studentChannels < 1 || teacherChannels < 1)
            throw new ArgumentException($"{nameof(KernelMatrixDistillation)}: channel counts must be positive, got {studentChannels} → {teacherChannels}");
        StudentChannels = studentChannels;
        TeacherChannels = teacherChannels;
        adapter = nn.Conv2d(studentChannels, teacherChannels, 1, bias: Options.AdapterBias, device: device, dtype: dtype);
        register_module("adapter", adapter);
    }

    public KernelMatrixOptions Options { get; }
    public long StudentChannels { get; }
    public long TeacherChannels { get; }

    /// <summary>The 1×1 convolution Cs → Ct (state dict keys <c>adapter.weight</c>, <c>adapter.bias</c>).</summary>
    public Conv2d Adapter => adapter;

    /// <summary>
    /// Builds the module for <paramref name="student"/> and <paramref name="teacher"/>: probes the channel counts of the
    /// chosen taps (<see cref="ProbeChannels"/>) and puts the adapter on the student's device and dtype.
    /// </summary>
    public static KernelMatrixDistillation Create(SegmentationModel student, SegmentationModel teacher, KernelMatrixOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        options ??= new KernelMatrixOptions();
        options.Validate();
        long cs = ProbeChannels(student, options.StudentTap);
        long ct = ProbeChannels(teacher, options.TeacherTap);
        var first = student.parameters().FirstOrDefault();
        return new KernelMatrixDistillation(cs, ct, options, first?.device, first?.dtype);
    }

    /// <summary>
    /// The channel count of <paramref name="model"/>'s feature tap <paramref name="tap"/>, learnt from one forward pass on a
    /// 1×C×size×size zero image (eval mode, no_grad, its own dispose scope; the model's training mode is restored, so BatchNorm
    /// statistics are untouched). The input follows the model's first parameter's dtype and device.
    /// </summary>
    public static long ProbeChannels(SegmentationModel model, string tap, long size = DefaultProbeSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.TapNames.Contains(tap))
            throw new ArgumentException($"{model.Name} has no feature tap '{tap}'; it has: {string.Join(", ", model.TapNames)}", nameof(tap));
        bool wasTraining = model.training;
        try
        {
            model.eval();
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var first = model.parameters().FirstOrDefault();
            var input = zeros([1, model.InChannels, size, size], first?.dtype, first?.device);
            var features = model.forward_features(input, tap);
            var map = features[tap];
            if (map.dim() != 4)
                throw new InvalidOperationException($"{model.Name}: tap '{tap}' is not a 4-D feature map (shape {TensorChecks.Shape(map)})");
            return map.size(1);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>The KMM loss for student features (N, Cs, hs, ws) and teacher features (N, Ct, ht, wt).</summary>
    public Tensor Compute(Tensor studentFeatures, Tensor teacherFeatures) => call(studentFeatures, teacherFeatures);

    public override Tensor forward(Tensor studentFeatures, Tensor teacherFeatures)
    {
        const string name = nameof(KernelMatrixDistillation);
        var s = TensorChecks.Map(studentFeatures, nameof(studentFeatures), name);
        var t = TensorChecks.Map(teacherFeatures, nameof(teacherFeatures), name);
        TensorChecks.SameBatch(s, t, name);
        if (s[1] != StudentChannels || t[1] != TeacherChannels)
            throw new ArgumentException(
                $"{name}: built for {StudentChannels} → {TeacherChannels} channels, got student {TensorChecks.Shape(studentFeatures)} and teacher {TensorChecks.Shape(teacherFeatures)}");

        var adapted = Adapt(studentFeatures, t[2], t[3]);
        var studentGram = Gram(adapted.flatten(1));
        var teacherGram = Gram(teacherFeatures.detach().flatten(1));
        var difference = studentGram.sub(teacherGram);
        var l1 = Options.L1Reduction == L1Reduction.Mean ? difference.abs().mean() : difference.abs().sum();
        return difference.square().mean().add(l1);
    }

    /// <summary>
    /// The adapter's output resized to (h, w). A 1×1 convolution acts on each pixel alone and every resize mode here mixes
    /// pixels with weights that sum to 1, so the two commute (up to rounding). The convolution runs at the smaller of the
    /// two sizes: after the resize when the map shrinks (the resize then also sees Cs channels instead of Ct), before it
    /// when the map grows.
    /// </summary>
    private Tensor Adapt(Tensor studentFeatures, long h, long w)
    {
        var shape = studentFeatures.shape;
        bool shrinks = h * w < shape[2] * shape[3];
        return shrinks
            ? adapter.call(TensorChecks.ResizeTo(studentFeatures, h, w, Options.ResizeMode))
            : TensorChecks.ResizeTo(adapter.call(studentFeatures), h, w, Options.ResizeMode);
    }

    private Tensor Gram(Tensor rows)
    {
        if (Options.Normalise)
            rows = rows.div(rows.norm(2, 1, keepdim: true).clamp_min(NormClamp));
        return rows.mm(rows.t());
    }

    public override string extra_repr() =>
        $"{StudentChannels} → {TeacherChannels}, normalise={Options.Normalise}, l1={Options.L1Reduction}";
}

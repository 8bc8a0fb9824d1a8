using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.AffinityKd;

/// <summary>
/// Affinity-KD (eq. 8) without L_seg: λ1·LM + λ2·KMM + λ3·AAM over the chosen subset of modules. Terms come out in the
/// order lm, kmm, aam. LM and AAM read only the logits; KMM reads the configured taps and owns the adapter, which is
/// <see cref="TrainableModule"/> (null when KMM is not used).
/// </summary>
public sealed class AffinityKdMethod : IDistillationMethod
{
    public const string MethodName = "affinity-kd";

    private readonly LogitsDistillation? logits;
    private readonly KernelMatrixDistillation? kernelMatrix;
    private readonly AdaptiveAffinityDistillation? affinity;

    /// <summary>
    /// Builds the method; with KMM in <see cref="AffinityKdOptions.Terms"/> the adapter is sized by one probe forward of each
    /// network (<see cref="KernelMatrixDistillation.Create"/>) and placed on the student's device and dtype.
    /// </summary>
    public AffinityKdMethod(AffinityKdOptions options, SegmentationModel student, SegmentationModel teacher)
        : this(options, CreateKernelMatrix(options, student, teacher))
    {
    }

    private static KernelMatrixDistillation? CreateKernelMatrix(AffinityKdOptions options, SegmentationModel student, SegmentationModel teacher)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.Terms.HasFlag(AffinityKdTerms.KernelMatrix) ? KernelMatrixDistillation.Create(student, teacher, options.KernelMatrix) : null;
    }

    /// <summary>
    /// Builds the method with a ready KMM module (required when KMM is used; it is owned and disposed by the method), e.g.
    /// from known channel counts without probing the networks.
    /// </summary>
    public AffinityKdMethod(AffinityKdOptions options, KernelMatrixDistillation? kernelMatrix)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        bool useKmm = options.Terms.HasFlag(AffinityKdTerms.KernelMatrix);
        if (useKmm && kernelMatrix is null) throw new ArgumentException("Affinity-KD with KMM needs a KernelMatrixDistillation module", nameof(kernelMatrix));
        if (!useKmm && kernelMatrix is not null) throw new ArgumentException("KMM is not among the Affinity-KD terms, but a module was given", nameof(kernelMatrix));
        if (options.Terms.HasFlag(AffinityKdTerms.Logits)) logits = new LogitsDistillation(options.Logits);
        if (options.Terms.HasFlag(AffinityKdTerms.AdaptiveAffinity)) affinity = new AdaptiveAffinityDistillation(options.Affinity);
        this.kernelMatrix = kernelMatrix;
        StudentTaps = useKmm ? [kernelMatrix!.Options.StudentTap] : [];
        TeacherTaps = useKmm ? [kernelMatrix!.Options.TeacherTap] : [];
    }

    public AffinityKdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }

    /// <summary>The KMM module (null when KMM is not among the terms).</summary>
    public KernelMatrixDistillation? KernelMatrix => kernelMatrix;

    public nn.Module? TrainableModule => kernelMatrix;
    public IEnumerable<nn.Parameter> TrainableParameters() => kernelMatrix?.parameters() ?? [];

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        var terms = new List<LossTerm>(3);
        if (logits is not null)
            terms.Add(new LossTerm(AffinityKdTermNames.Logits, Options.LogitsWeight, logits.Compute(student.Logits, teacher.Logits)));
        if (kernelMatrix is not null)
            terms.Add(new LossTerm(AffinityKdTermNames.KernelMatrix, Options.KernelMatrixWeight,
                kernelMatrix.Compute(student[kernelMatrix.Options.StudentTap], teacher[kernelMatrix.Options.TeacherTap])));
        if (affinity is not null)
            terms.Add(new LossTerm(AffinityKdTermNames.AdaptiveAffinity, Options.AffinityWeight, affinity.Compute(student.Logits, teacher.Logits)));
        return terms;
    }

    public void Dispose() => kernelMatrix?.Dispose();
}

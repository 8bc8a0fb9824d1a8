using MedDistill.Distillation.AcwSkd;
using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Baselines;
using MedDistill.Distillation.Emkd;
using MedDistill.Distillation.Gkd;
using MedDistill.Distillation.Mskd;
using MedDistill.Models;

namespace MedDistill.Distillation;

/// <summary>Settings of every distillation method; <see cref="DistillationMethods.Create"/> reads the one it builds.</summary>
public sealed record DistillationOptions
{
    public AffinityKdOptions AffinityKd { get; init; } = new();
    public EmkdOptions Emkd { get; init; } = new();
    public MskdOptions Mskd { get; init; } = new();
    public AcwSkdOptions AcwSkd { get; init; } = new();
    public GkdOptions Gkd { get; init; } = new();
    public KdOptions Kd { get; init; } = new();
    public AtOptions At { get; init; } = new();
    public SkdOptions Skd { get; init; } = new();
    public CwdOptions Cwd { get; init; } = new();
    public ByotOptions Byot { get; init; } = new();
    public FspOptions Fsp { get; init; } = new();
    public IfvdOptions Ifvd { get; init; } = new();
}

/// <summary>Resolves distillation methods by name, as configurations and the CLI spell them.</summary>
public static class DistillationMethods
{
    /// <summary>Registered names: <c>none</c>, <c>affinity-kd</c>, <c>emkd</c>, <c>mskd</c>, <c>acw-skd</c>, <c>gkd</c>, and the ACW-SKD paper's
    /// baselines <c>kd</c>, <c>at</c>, <c>skd</c>, <c>cwd</c>, <c>byot</c>, and GKD's baselines <c>fsp</c>, <c>ifvd</c>.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        NoDistillation.MethodName, AffinityKdMethod.MethodName, EmkdMethod.MethodName, MskdMethod.MethodName, AcwSkdMethod.MethodName, GkdMethod.MethodName,
        KdMethod.MethodName, AtMethod.MethodName, SkdMethod.MethodName, CwdMethod.MethodName, ByotMethod.MethodName,
        FspMethod.MethodName, IfvdMethod.MethodName,
    ];

    /// <summary>Methods that learn from the network's own branches (no teacher run): a train run may use them.</summary>
    public static IReadOnlyList<string> SelfDistillation { get; } = [AcwSkdMethod.MethodName, ByotMethod.MethodName];

    public static bool IsSelfDistillation(string? name) =>
        name is not null && SelfDistillation.Contains(name.Trim().ToLowerInvariant());

    /// <summary>
    /// Builds the method <paramref name="name"/> (case-insensitive) for this student and teacher. Affinity-KD with KMM
    /// probes both networks once (no_grad, eval mode, modes restored) to size its adapter, which it puts on the student's
    /// device and dtype; so does MSKD for each FFD tap pair whose channel counts differ. The caller disposes the method
    /// (which disposes the adapters); so do CWD on taps of unequal width, BYOT with its hint, and FSP, which probes both
    /// networks for each pair's four taps and adapts the student maps whose widths differ from the teacher's. GKD probes
    /// both networks' tap widths for its two MSAN headers. ACW-SKD and BYOT are
    /// self-distillation: they probe only the student and accept a null teacher.
    /// </summary>
    public static IDistillationMethod Create(string name, DistillationOptions? options, SegmentationModel student, SegmentationModel? teacher)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(student);
        options ??= new DistillationOptions();
        var key = name.Trim().ToLowerInvariant();
        if (!IsSelfDistillation(key)) ArgumentNullException.ThrowIfNull(teacher);
        return key switch
        {
            NoDistillation.MethodName => new NoDistillation(),
            AffinityKdMethod.MethodName => new AffinityKdMethod(options.AffinityKd, student, teacher!),
            EmkdMethod.MethodName => new EmkdMethod(options.Emkd, student, teacher!),
            MskdMethod.MethodName => new MskdMethod(options.Mskd, student, teacher!),
            AcwSkdMethod.MethodName => new AcwSkdMethod(options.AcwSkd, student),
            GkdMethod.MethodName => new GkdMethod(options.Gkd, student, teacher!),
            KdMethod.MethodName => new KdMethod(options.Kd),
            AtMethod.MethodName => new AtMethod(options.At, student, teacher!),
            SkdMethod.MethodName => new SkdMethod(options.Skd, student, teacher!),
            CwdMethod.MethodName => new CwdMethod(options.Cwd, student, teacher!),
            ByotMethod.MethodName => new ByotMethod(options.Byot, student),
            FspMethod.MethodName => new FspMethod(options.Fsp, student, teacher!),
            IfvdMethod.MethodName => new IfvdMethod(options.Ifvd, student, teacher!),
            _ => throw new ArgumentException($"unknown distillation method '{name}'; known methods: {string.Join(", ", Names)}", nameof(name)),
        };
    }
}

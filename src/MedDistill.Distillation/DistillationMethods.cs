using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Emkd;
using MedDistill.Distillation.Mskd;
using MedDistill.Models;

namespace MedDistill.Distillation;

/// <summary>Settings of every distillation method; <see cref="DistillationMethods.Create"/> reads the one it builds.</summary>
public sealed record DistillationOptions
{
    public AffinityKdOptions AffinityKd { get; init; } = new();
    public EmkdOptions Emkd { get; init; } = new();
    public MskdOptions Mskd { get; init; } = new();
}

/// <summary>Resolves distillation methods by name, as configurations and the CLI spell them.</summary>
public static class DistillationMethods
{
    /// <summary>Registered names: <c>none</c>, <c>affinity-kd</c>, <c>emkd</c>, <c>mskd</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = [NoDistillation.MethodName, AffinityKdMethod.MethodName, EmkdMethod.MethodName, MskdMethod.MethodName];

    /// <summary>
    /// Builds the method <paramref name="name"/> (case-insensitive) for this student and teacher. Affinity-KD with KMM
    /// probes both networks once (no_grad, eval mode, modes restored) to size its adapter, which it puts on the student's
    /// device and dtype; so does MSKD for each FFD tap pair whose channel counts differ. The caller disposes the method
    /// (which disposes the adapters).
    /// </summary>
    public static IDistillationMethod Create(string name, DistillationOptions? options, SegmentationModel student, SegmentationModel teacher)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        options ??= new DistillationOptions();
        return name.Trim().ToLowerInvariant() switch
        {
            NoDistillation.MethodName => new NoDistillation(),
            AffinityKdMethod.MethodName => new AffinityKdMethod(options.AffinityKd, student, teacher),
            EmkdMethod.MethodName => new EmkdMethod(options.Emkd, student, teacher),
            MskdMethod.MethodName => new MskdMethod(options.Mskd, student, teacher),
            _ => throw new ArgumentException($"unknown distillation method '{name}'; known methods: {string.Join(", ", Names)}", nameof(name)),
        };
    }
}

using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation;

/// <summary>
/// A distillation objective as the trainer sees it, once per step:
/// <code>
/// var s = student.forward_features(image, method.StudentTaps.ToArray());
/// FeatureMaps t; using (no_grad()) t = teacher.forward_features(image, method.TeacherTaps.ToArray());
/// var terms = segLoss.Terms(s.Logits, label).Concat(method.Compute(s, t, label)).ToList();
/// LossTerms.Total(terms).backward();
/// </code>
/// The segmentation loss is not part of the method. Teacher maps are detached inside <see cref="Compute"/> whatever the
/// caller did, so no gradient ever reaches the teacher; running the teacher under no_grad (and in eval mode) only saves work.
/// </summary>
public interface IDistillationMethod : IDisposable
{
    /// <summary>The registry name: <c>none</c>, <c>affinity-kd</c>, <c>emkd</c>, <c>mskd</c>, <c>acw-skd</c>, <c>gkd</c>, <c>kd</c>, <c>at</c>, <c>skd</c>, <c>cwd</c>, <c>byot</c>, <c>fsp</c>, <c>ifvd</c>.</summary>
    string Name { get; }

    /// <summary>Feature taps the student's forward_features must capture (logits are always there and are not listed).</summary>
    IReadOnlyList<string> StudentTaps { get; }

    /// <summary>Feature taps the teacher's forward_features must capture.</summary>
    IReadOnlyList<string> TeacherTaps { get; }

    /// <summary>Parameters the method trains (e.g. KMM's or FFD's adapters); they join the student's optimiser. Empty if none.</summary>
    IEnumerable<nn.Parameter> TrainableParameters();

    /// <summary>The module holding those parameters, for checkpoints (its state_dict); null if the method trains nothing.</summary>
    nn.Module? TrainableModule { get; }

    /// <summary>
    /// The distillation terms for one batch, each unweighted with its weight (the objective adds Σ Weight·Value). Values are
    /// 0-dim tensors in the caller's dispose scope. <paramref name="label"/> is the ground truth (N, H, W), int64.
    /// </summary>
    IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label);
}

/// <summary>Training without a teacher signal: no taps, no terms.</summary>
public sealed class NoDistillation : IDistillationMethod
{
    public const string MethodName = "none";
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps => [];
    public IReadOnlyList<string> TeacherTaps => [];
    public IEnumerable<nn.Parameter> TrainableParameters() => [];
    public nn.Module? TrainableModule => null;
    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label) => [];
    public void Dispose() { }
}

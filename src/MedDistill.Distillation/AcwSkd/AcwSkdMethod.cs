using MedDistill.Distillation.AffinityKd;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.AcwSkd;

/// <summary>
/// Our reconstruction of ACW-SKD without the final head's segmentation loss: terms <c>aux</c>, <c>cw</c>, <c>frm</c>,
/// <c>at</c> (in that order, restricted to <see cref="AcwSkdOptions.Terms"/>). It is SELF-distillation: every signal comes
/// from the network being trained, the final branch (<see cref="FeatureMaps.Logits"/> and the penultimate tap) acting as
/// the detached teacher of the auxiliary branch (aux logits and aux features). <see cref="TeacherTaps"/> is empty and
/// <see cref="Compute"/> ignores its teacher argument: a trainer may pass the student's own maps or an empty FeatureMaps.
/// The gradient-reversal factor follows training progress through <see cref="IStepAware"/>.
/// </summary>
public sealed class AcwSkdMethod : IDistillationMethod, IStepAware
{
    public const string MethodName = "acw-skd";

    private readonly AcwSkdModules? modules;

    /// <summary>
    /// Builds the method for known channel counts of the aux-features and penultimate taps (only read when FRM runs), with
    /// the trainable parts on <paramref name="device"/> and <paramref name="dtype"/>.
    /// </summary>
    public AcwSkdMethod(AcwSkdOptions? options, long auxChannels, long penultimateChannels, Device? device = null, ScalarType? dtype = null)
    {
        Options = options ?? new AcwSkdOptions();
        Options.Validate();
        var o = Options;
        var frm = Uses(AcwSkdTerms.Reconstruction)
            ? new FeatureReconstruction(auxChannels, penultimateChannels, o.ReconstructionHidden, o.ReconstructClassWise, device, dtype)
            : null;
        var temperature = Uses(AcwSkdTerms.AdversarialTemperature) && o.LearnableTemperature
            ? new LearnableTemperature(o.MinTemperature, o.MaxTemperature, o.InitialTemperature, device, dtype)
            : null;
        if (frm is not null || temperature is not null) modules = new AcwSkdModules(frm, temperature);
        bool features = Uses(AcwSkdTerms.ClassWise) || Uses(AcwSkdTerms.Reconstruction);
        StudentTaps = features ? [o.AuxLogitsTap, o.AuxFeaturesTap, o.PenultimateTap] : [o.AuxLogitsTap];
        SetProgress(0, 1);
    }

    /// <summary>As above, the channel counts probed from <paramref name="student"/> (when FRM runs) and its device and dtype.</summary>
    public AcwSkdMethod(AcwSkdOptions? options, SegmentationModel student)
        : this(options, Probe(options, student, o => o.AuxFeaturesTap), Probe(options, student, o => o.PenultimateTap),
            student.parameters().FirstOrDefault()?.device, student.parameters().FirstOrDefault()?.dtype)
    {
    }

    public AcwSkdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps => [];

    /// <summary>The current gradient-reversal factor λ (0 before any progress under the cosine schedule).</summary>
    public double Lambda { get; private set; }

    public FeatureReconstruction? Frm => modules?.Frm;
    public LearnableTemperature? Temperature => modules?.Temperature;
    public nn.Module? TrainableModule => modules;
    public IEnumerable<nn.Parameter> TrainableParameters() => modules?.parameters() ?? [];

    public void SetProgress(long step, long totalSteps) =>
        Lambda = AcwSkdLosses.ReversalFactor(step, totalSteps, Options.LambdaMax, Options.Schedule, Options.RampFraction);

    /// <summary>The terms for one batch of the network's own maps; <paramref name="teacher"/> is not read.</summary>
    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps? teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        var o = Options;
        var final = student.Logits;
        var auxLogits = student[o.AuxLogitsTap];
        var terms = new List<LossTerm>(4);
        if (Uses(AcwSkdTerms.Aux))
            terms.Add(new LossTerm(AcwSkdTermNames.Aux, o.AuxWeight, AcwSkdLosses.AuxCrossEntropy(auxLogits, label, o.LogitsResize)));
        if (Uses(AcwSkdTerms.ClassWise) || Uses(AcwSkdTerms.Reconstruction))
            AddFeatureTerms(terms, student, auxLogits, final);
        if (Uses(AcwSkdTerms.AdversarialTemperature))
        {
            var tau = modules?.Temperature is { } learnable
                ? AcwSkdLosses.GradientReversal(learnable.Temperature(), Lambda)
                : scalar_tensor(o.InitialTemperature, auxLogits.dtype, auxLogits.device);
            terms.Add(new LossTerm(AcwSkdTermNames.AdversarialTemperature, o.TemperatureWeight,
                AcwSkdLosses.TemperatureKd(auxLogits, final, tau, o.LogitsResize)));
        }
        return terms;
    }

    private void AddFeatureTerms(List<LossTerm> terms, FeatureMaps student, Tensor auxLogits, Tensor final)
    {
        var o = Options;
        var auxFeatures = student[o.AuxFeaturesTap];
        var penultimate = student[o.PenultimateTap].detach();
        var maskLogits = o.DetachMask ? auxLogits.detach() : auxLogits;
        var auxMasks = AcwSkdLosses.ClassMasks(maskLogits, auxFeatures.size(2), auxFeatures.size(3), o.Mask, o.MaskResize);
        var (auxPrototypes, auxValid) = AcwSkdLosses.ClassPrototypes(auxFeatures, auxMasks, o.PoolingEps, o.MinClassFraction);
        // The target is a constant of this step whatever the mask option: only the aux side learns from it.
        var targetLogits = o.TargetMask == TargetMaskSource.Aux ? auxLogits.detach() : final.detach();
        var targetMasks = AcwSkdLosses.ClassMasks(targetLogits, penultimate.size(2), penultimate.size(3), o.Mask, o.MaskResize);
        var (targetPrototypes, targetValid) = AcwSkdLosses.ClassPrototypes(penultimate, targetMasks, o.PoolingEps, o.MinClassFraction);
        var valid = auxValid.mul(targetValid.to(auxValid.dtype));

        if (Uses(AcwSkdTerms.ClassWise))
        {
            var cw = o.ClassWise switch
            {
                ClassWiseForm.Relation => AcwSkdLosses.ClassRelation(auxPrototypes, targetPrototypes, valid),
                ClassWiseForm.Prototype => AcwSkdLosses.PrototypeAlignment(auxPrototypes, targetPrototypes, valid),
                _ => AcwSkdLosses.ClassRelation(auxPrototypes, targetPrototypes, valid)
                    .add(AcwSkdLosses.PrototypeAlignment(auxPrototypes, targetPrototypes, valid)),
            };
            terms.Add(new LossTerm(AcwSkdTermNames.ClassWise, o.ClassWiseWeight, cw));
        }
        if (Uses(AcwSkdTerms.Reconstruction))
        {
            var frm = modules!.Frm!;
            var reconstruction = frm.ReconstructMap(auxFeatures, penultimate.size(2), penultimate.size(3), o.FeatureResize);
            var loss = AcwSkdLosses.MapDistance(reconstruction, penultimate, o.Reconstruction);
            if (frm.ClassLevel)
                loss = loss.add(AcwSkdLosses.PrototypeDistance(frm.ReconstructPrototypes(auxPrototypes), targetPrototypes, valid, o.Reconstruction));
            terms.Add(new LossTerm(AcwSkdTermNames.Reconstruction, o.ReconstructionWeight, loss));
        }
    }

    private bool Uses(AcwSkdTerms term) => (Options.Terms & term) != 0;

    private static long Probe(AcwSkdOptions? options, SegmentationModel student, Func<AcwSkdOptions, string> tap)
    {
        ArgumentNullException.ThrowIfNull(student);
        options ??= new AcwSkdOptions();
        options.Validate();
        if ((options.Terms & AcwSkdTerms.Reconstruction) == 0) return 1;
        return KernelMatrixDistillation.ProbeChannels(student, tap(options));
    }

    public void Dispose() => modules?.Dispose();
}

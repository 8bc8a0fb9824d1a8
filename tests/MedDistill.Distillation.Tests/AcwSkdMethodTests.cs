using MedDistill.Distillation.AcwSkd;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

/// <summary>ACW-SKD's gradients (float64 finite differences), gradient reversal, the λ schedule and the method as a whole.</summary>
public class AcwSkdMethodTests
{
    private const long Aux = 4, Penultimate = 5;

    /// <summary>The resnet18-unet's taps as the method reads them: final logits 8×8, aux logits at ¼, aux features at ½.</summary>
    private static (Tensor Final, Tensor AuxLogits, Tensor AuxFeatures, Tensor Penultimate, Tensor Label) Inputs(long seed)
    {
        manual_seed(seed);
        return (randn([2, 3, 8, 8], ScalarType.Float64), randn([2, 3, 2, 2], ScalarType.Float64), randn([2, Aux, 4, 4], ScalarType.Float64),
            randn([2, Penultimate, 8, 8], ScalarType.Float64), randint(3, [2, 8, 8]));
    }

    private static FeatureMaps Maps(Tensor final, Tensor auxLogits, Tensor auxFeatures, Tensor penultimate) => new(final, new Dictionary<string, Tensor>
    {
        [AcwSkdOptions.DefaultAuxLogitsTap] = auxLogits,
        [AcwSkdOptions.DefaultAuxFeaturesTap] = auxFeatures,
        [AcwSkdOptions.DefaultPenultimateTap] = penultimate,
    });

    private static AcwSkdMethod Method(AcwSkdOptions? options = null, long seed = 1)
    {
        manual_seed(seed);
        return new AcwSkdMethod(options, Aux, Penultimate, dtype: ScalarType.Float64);
    }

    [Test]
    public void TermGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(71);
        var f = randn([2, 3, 3, 2], ScalarType.Float64);
        var masks = rand([2, 2, 3, 2], ScalarType.Float64);
        var w = randn([2, 2, 3], ScalarType.Float64);
        GradCheck.Inputs(x => AcwSkdLosses.ClassPrototypes(x[0], x[1]).Prototypes.mul(w).sum(), [f, masks]);
        // Soft masks from coarse logits, resized and not detached: the gradient reaches the aux logits through the mask.
        GradCheck.Inputs(x => AcwSkdLosses.ClassPrototypes(f, AcwSkdLosses.ClassMasks(x[0], 3, 2)).Prototypes.mul(w).sum(),
            [randn([2, 2, 2, 1], ScalarType.Float64)]);

        var aux = randn([2, 3, 4], ScalarType.Float64);
        var target = randn([2, 3, 4], ScalarType.Float64);
        var valid = tensor(new double[] { 1, 1, 1, 1, 0, 1 }, 2, 3);
        GradCheck.Inputs(x => AcwSkdLosses.ClassRelation(x[0], x[1], valid), [aux, target], checkInput: [true, false]);
        GradCheck.Inputs(x => AcwSkdLosses.PrototypeAlignment(x[0], x[1], valid), [aux, target], checkInput: [true, false]);
        var map = randn([2, 3, 2, 2], ScalarType.Float64);
        var goal = randn([2, 3, 2, 2], ScalarType.Float64);
        foreach (var d in Enum.GetValues<ReconstructionDistance>())
        {
            GradCheck.Inputs(x => AcwSkdLosses.MapDistance(x[0], x[1], d), [map, goal], checkInput: [true, false]);
            GradCheck.Inputs(x => AcwSkdLosses.PrototypeDistance(x[0], x[1], valid, d), [aux, target], checkInput: [true, false]);
        }

        var coarse = randn([2, 3, 2, 2], ScalarType.Float64);
        var final = randn([2, 3, 4, 4], ScalarType.Float64);
        var ceLabel = randint(3, [2, 4, 4]);
        GradCheck.Inputs(x => AcwSkdLosses.AuxCrossEntropy(x[0], ceLabel), [coarse]);
        GradCheck.Inputs(x => AcwSkdLosses.TemperatureKd(x[0], x[1], x[2].sum()), [coarse, final, tensor(new[] { 2.7 }, 1)],
            checkInput: [true, false, true]);
    }

    [Test]
    public void MethodGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        // Seed 72 put one FRM pre-activation within 1e-6 of ReLU's kink, so a 1e-6 step crossed it; this seed has none.
        var (final, auxLogits, auxFeatures, penultimate, label) = Inputs(9);
        // Every term, the mask not detached. The target prototypes use the final branch's mask: with the aux mask they would
        // move with the aux logits under finite differences while autograd (rightly) treats them as a constant.
        using var method = Method(new AcwSkdOptions { DetachMask = false, MinClassFraction = 0, TargetMask = TargetMaskSource.Final });
        Tensor Total(Tensor[] x) => LossTerms.Total(method.Compute(Maps(x[0], x[1], x[2], x[3]), null, label));
        GradCheck.Inputs(Total, [final, auxLogits, auxFeatures, penultimate], checkInput: [false, true, true, false]);
        // FRM's parameters (BN in training mode: batch statistics, deterministic).
        GradCheck.Parameters(() => Total([final, auxLogits, auxFeatures, penultimate]), method.Frm!.parameters());
        // The temperature's own derivative, without reversal: τ(t) through every use in the KD term.
        GradCheck.Parameters(() => AcwSkdLosses.TemperatureKd(auxLogits, final, method.Temperature!.Temperature()), method.Temperature!.parameters());
    }

    [Test]
    public void GradientReversalIsIdentityForwardAndMinusLambdaBackward([Values(0.0, 0.3, 1.0)] double lambda)
    {
        using var scope = NewDisposeScope();
        manual_seed(73);
        var x = randn([5], ScalarType.Float64).requires_grad_();
        var g = randn([5], ScalarType.Float64);
        var y = AcwSkdLosses.GradientReversal(x, lambda);
        Assert.That(y.ToArray<double>(), Is.EqualTo(x.detach().ToArray<double>()), "bit for bit");
        y.mul(g).sum().backward();
        var expected = g.ToArray<double>().Select(v => -lambda * v).ToArray();
        Assert.That(x.grad!.ToArray<double>(), Is.EqualTo(expected).Within(1e-15));
    }

    [Test]
    public void TemperatureAscendsTheKdLossThroughTheMethod()
    {
        using var scope = NewDisposeScope();
        var (final, auxLogits, auxFeatures, penultimate, label) = Inputs(74);
        var options = new AcwSkdOptions { Terms = AcwSkdTerms.AdversarialTemperature, Schedule = ReversalSchedule.Constant, LambdaMax = 0.7 };
        using var method = Method(options);
        Assert.That(method.Temperature!.Value, Is.EqualTo(4.0).Within(1e-12));
        var kd = method.Compute(Maps(final, auxLogits, auxFeatures, penultimate), null, label).Single().Value;
        kd.backward();
        double reversed = method.Temperature.Raw.grad!.ToArray<double>()[0];
        var t = method.Temperature.Raw;
        t.grad = null;
        var plain = AcwSkdLosses.TemperatureKd(auxLogits, final, method.Temperature.Temperature());
        Assert.That(kd.item<double>(), Is.EqualTo(plain.item<double>()), "forward unchanged by the reversal");
        plain.backward();
        double descent = t.grad!.ToArray<double>()[0];
        Assert.That(descent, Is.Not.EqualTo(0));
        // The optimiser's descent on t is an ascent of the KD loss: the student minimises it, the temperature maximises it.
        Assert.That(reversed, Is.EqualTo(-0.7 * descent).Within(1e-12 + 1e-9 * Math.Abs(descent)));
    }

    [Test]
    public void LambdaFollowsTheSchedule()
    {
        Assert.That(AcwSkdLosses.ReversalFactor(0, 100), Is.EqualTo(0));
        Assert.That(AcwSkdLosses.ReversalFactor(50, 100), Is.EqualTo(0.5).Within(1e-15));
        Assert.That(AcwSkdLosses.ReversalFactor(25, 100), Is.EqualTo((1 - Math.Cos(Math.PI / 4)) / 2).Within(1e-15));
        Assert.That(AcwSkdLosses.ReversalFactor(100, 100, 2), Is.EqualTo(2));
        Assert.That(AcwSkdLosses.ReversalFactor(150, 100, 2), Is.EqualTo(2));
        Assert.That(AcwSkdLosses.ReversalFactor(25, 100, 1, ReversalSchedule.Cosine, 0.5), Is.EqualTo(0.5).Within(1e-15));
        Assert.That(AcwSkdLosses.ReversalFactor(0, 100, 0.8, ReversalSchedule.Constant), Is.EqualTo(0.8));
        Assert.Throws<ArgumentOutOfRangeException>(() => AcwSkdLosses.ReversalFactor(0, 0));
        // Monotone non-decreasing over a run.
        var values = Enumerable.Range(0, 101).Select(s => AcwSkdLosses.ReversalFactor(s, 100)).ToArray();
        Assert.That(values.Zip(values.Skip(1)).All(p => p.Second >= p.First));
        using var method = Method();
        Assert.That(method.Lambda, Is.EqualTo(0));
        ((IStepAware)method).SetProgress(50, 100);
        Assert.That(method.Lambda, Is.EqualTo(0.5).Within(1e-15));
        using var constant = Method(new AcwSkdOptions { Schedule = ReversalSchedule.Constant });
        Assert.That(constant.Lambda, Is.EqualTo(1));
    }

    [Test]
    public void FinalBranchReceivesNoGradient([Values] bool detachMask, [Values] TargetMaskSource targetMask)
    {
        using var scope = NewDisposeScope();
        var (final, auxLogits, auxFeatures, penultimate, label) = Inputs(75);
        var leaves = new[] { final, auxLogits, auxFeatures, penultimate }.Select(t => t.requires_grad_()).ToArray();
        using var method = Method(new AcwSkdOptions { DetachMask = detachMask, TargetMask = targetMask, ClassWise = ClassWiseForm.Relation });
        method.SetProgress(60, 100);
        LossTerms.Total(method.Compute(Maps(leaves[0], leaves[1], leaves[2], leaves[3]), null, label)).backward();
        foreach (var teacherSide in new[] { final, penultimate })
            Assert.That(teacherSide.grad is null || teacherSide.grad.abs().max().item<double>() == 0, "final branch got a gradient");
        Assert.That(auxLogits.grad!.abs().max().item<double>(), Is.GreaterThan(0));
        Assert.That(auxFeatures.grad!.abs().max().item<double>(), Is.GreaterThan(0));
        Assert.That(method.TrainableParameters().All(p => p.grad is not null), "FRM and the temperature are trained");
    }

    [Test]
    public void TermsTapsAndParametersFollowTheOptions()
    {
        using var scope = NewDisposeScope();
        var (final, auxLogits, auxFeatures, penultimate, label) = Inputs(76);
        var maps = Maps(final, auxLogits, auxFeatures, penultimate);
        using var all = Method();
        Assert.That(all.Name, Is.EqualTo("acw-skd"));
        Assert.That(all.TeacherTaps, Is.Empty);
        Assert.That(all.StudentTaps, Is.EqualTo(new[] { "aux_logits", "aux_features", "penultimate" }));
        Assert.That(all.Compute(maps, null, label).Select(t => t.Name), Is.EqualTo(new[] { "aux", "cw", "frm", "at" }));
        Assert.That(all.Compute(maps, null, label).Select(t => t.Weight), Is.EqualTo(new[] { 0.4, 1, 1, 1 }));
        var keys = all.TrainableModule!.named_parameters().Select(p => p.name).ToList();
        Assert.That(keys, Does.Contain("frm.map.reduce.weight").And.Contain("frm.proto_out.bias").And.Contain("temperature.t"));
        Assert.That(all.TrainableParameters().Count(), Is.EqualTo(keys.Count));

        using var auxOnly = Method(new AcwSkdOptions { Terms = AcwSkdTerms.Aux });
        Assert.That(auxOnly.StudentTaps, Is.EqualTo(new[] { "aux_logits" }));
        Assert.That(auxOnly.TrainableModule, Is.Null);
        Assert.That(auxOnly.Compute(maps, null, label).Select(t => t.Name), Is.EqualTo(new[] { "aux" }));
        using var fixedTau = Method(new AcwSkdOptions { Terms = AcwSkdTermNames.Parse("cw+at"), LearnableTemperature = false });
        Assert.That(fixedTau.TrainableModule, Is.Null);
        Assert.That(fixedTau.Compute(maps, null, label)[1].Value.item<double>(),
            Is.EqualTo(AcwSkdLosses.TemperatureKd(auxLogits, final, scalar_tensor(4.0, ScalarType.Float64)).item<double>()).Within(1e-12));
        using var noClassLevel = Method(new AcwSkdOptions { ReconstructClassWise = false });
        Assert.That(noClassLevel.Frm!.ClassLevel, Is.False);
        // The prototype form needs equal widths (aux 4, penultimate 5 here).
        using var prototype = Method(new AcwSkdOptions { ClassWise = ClassWiseForm.Prototype });
        Assert.Throws<ArgumentException>(() => prototype.Compute(maps, null, label));
    }

    [Test]
    public void TeacherArgumentIsIgnoredAndResultsAreDeterministic()
    {
        using var scope = NewDisposeScope();
        var (final, auxLogits, auxFeatures, penultimate, label) = Inputs(77);
        var maps = Maps(final, auxLogits, auxFeatures, penultimate);
        double[] Values(AcwSkdMethod m, FeatureMaps? teacher) => m.Compute(maps, teacher, label).Select(t => t.Value.item<double>()).ToArray();
        using var a = Method(seed: 5);
        using var b = Method(seed: 5);
        a.SetProgress(30, 100);
        b.SetProgress(30, 100);
        var first = Values(a, null);
        Assert.That(Values(b, maps), Is.EqualTo(first), "same seed, same values; the teacher maps are not read");
        Assert.That(Values(b, new FeatureMaps(randn([2, 3, 8, 8], ScalarType.Float64), new Dictionary<string, Tensor>())), Is.EqualTo(first));
        Assert.That(first, Is.All.Not.NaN);
        Assert.That(first.Skip(1), Is.All.GreaterThan(0));
    }
}

using MedDistill.Distillation.AcwSkd;
using MedDistill.Distillation.Baselines;
using MedDistill.Distillation.Emkd;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

/// <summary>The baselines as registered methods: terms, options, adapters, gradients, and the factory on the real networks.</summary>
public class BaselineMethodTests
{
    private static FeatureMaps Maps(Tensor logits, params (string Tap, Tensor Map)[] taps) =>
        new(logits, taps.ToDictionary(t => t.Tap, t => t.Map));

    [Test]
    public void DefaultsAndTermSubsets()
    {
        Assert.That((new KdOptions().Temperature, new KdOptions().Weight), Is.EqualTo((4.0, 1.0)));
        var at = new AtOptions();
        Assert.That(at.TapPairs, Is.EqualTo(new[] { new TapPair("layer1", "enc3"), new TapPair("layer2", "enc4"), new TapPair("layer3", "encoder") }));
        Assert.That((at.Power, at.Size, at.Weight), Is.EqualTo((2.0, CommonSize.Teacher, 1.0)));
        var skd = new SkdOptions();
        Assert.That((skd.TermList, skd.Grid, skd.StudentTap, skd.TeacherTap), Is.EqualTo((new[] { "pi", "pa" }, 4, "encoder", "encoder")));
        var cwd = new CwdOptions();
        Assert.That((cwd.Temperature, cwd.StudentTap, cwd.TeacherTap), Is.EqualTo((4.0, "logits", "logits")));
        var byot = new ByotOptions();
        Assert.That((byot.TermList, byot.Temperature), Is.EqualTo((new[] { "ce", "kl", "hint" }, 3.0)));
        Assert.That(BaselineTerms.Parse(" PA + pi", SkdOptions.TermOrder, "skd"), Is.EqualTo(new[] { "pi", "pa" }));
        Assert.That(BaselineTerms.Parse("all", ByotOptions.TermOrder, "byot"), Is.EqualTo(new[] { "ce", "kl", "hint" }));
        foreach (var bad in new[] { "", "pi+", "pi+pi", "pi,pa", "hol" })
            Assert.Throws<FormatException>(() => BaselineTerms.Parse(bad, SkdOptions.TermOrder, "skd"), bad);
        Assert.Throws<ArgumentException>(() => new SkdMethod(new SkdOptions { Terms = "pi+holistic" }));
        Assert.Throws<ArgumentException>(() => new SkdMethod(new SkdOptions { Grid = 0 }));
        Assert.Throws<ArgumentException>(() => new KdMethod(new KdOptions { Temperature = 0 }));
        Assert.Throws<ArgumentException>(() => new AtMethod(new AtOptions { TapPairs = [] }));
        Assert.Throws<ArgumentException>(() => new CwdMethod(new CwdOptions { Weight = -1 }, 2, 2));
    }

    [Test]
    public void SkdAndAtTermsAndTaps()
    {
        using var scope = NewDisposeScope();
        manual_seed(511);
        var (sl, tl) = (randn([2, 3, 4, 4], ScalarType.Float64), randn([2, 3, 4, 4], ScalarType.Float64));
        var (sf, tf) = (randn([2, 5, 2, 2], ScalarType.Float64), randn([2, 7, 4, 4], ScalarType.Float64));
        using var skd = new SkdMethod(new SkdOptions { Grid = 2, PixelWeight = 10, PairWeight = 0.5 });
        Assert.That((skd.StudentTaps, skd.TeacherTaps), Is.EqualTo((new[] { "encoder" }, new[] { "encoder" })));
        var terms = skd.Compute(Maps(sl, ("encoder", sf)), Maps(tl, ("encoder", tf)), null!);
        Assert.That(terms.Select(t => (t.Name, t.Weight)), Is.EqualTo(new[] { ("pi", 10.0), ("pa", 0.5) }));
        Assert.That(terms[0].Value.item<double>(), Is.EqualTo(Reference.LogitsKl(Reference.Of(sl), Reference.Of(tl), 1, studentFirst: false)).Within(1e-10));
        Assert.That(terms[1].Value.item<double>(), Is.EqualTo(BaselineLosses.PairwiseSimilarity(sf, tf, 2).item<double>()));
        using var piOnly = new SkdMethod(new SkdOptions { Terms = "pi" });
        Assert.That(piOnly.StudentTaps, Is.Empty);

        using var at = new AtMethod(new AtOptions { TapPairs = [new("a", "b"), new("logits", "logits")] });
        Assert.That((at.StudentTaps, at.TeacherTaps), Is.EqualTo((new[] { "a" }, new[] { "b" })));
        var value = at.Compute(Maps(sl, ("a", sf)), Maps(tl, ("b", tf)), null!).Single();
        double expected = BaselineLosses.AttentionTransfer(sf, tf).item<double>() + BaselineLosses.AttentionTransfer(sl, tl).item<double>();
        Assert.That((value.Name, value.Value.item<double>()), Is.EqualTo(("at", expected)));
    }

    [Test]
    public void CwdAdapterOnlyWhenWidthsDifferAndItsGradients()
    {
        using var scope = NewDisposeScope();
        using var logits = new CwdMethod(null, 3, 3);
        Assert.That((logits.TrainableModule, logits.StudentTaps.Count), Is.EqualTo(((nn.Module?)null, 0)));
        manual_seed(512);
        var options = new CwdOptions { StudentTap = "decoder", TeacherTap = "up3", Temperature = 2 };
        using var method = new CwdMethod(options, 3, 2, dtype: ScalarType.Float64);
        Assert.That(method.TrainableModule!.state_dict(keep_vars: true).Keys, Is.EquivalentTo(new[] { "cwd.weight", "cwd.bias" }));
        var s = randn([2, 3, 4, 4], ScalarType.Float64);
        var t = randn([2, 2, 2, 2], ScalarType.Float64);
        Tensor Loss(Tensor[] x) => LossTerms.Total(method.Compute(Maps(x[0], ("decoder", x[1])), Maps(x[0], ("up3", x[2])), null!));
        GradCheck.Inputs(Loss, [randn([2, 3, 4, 4], ScalarType.Float64), s, t], checkInput: [false, true, false]);
        GradCheck.Parameters(() => Loss([s, s, t]), method.TrainableParameters());
        var expected = BaselineLosses.ChannelWise(method.Adapter!.call(s), t, 2).item<double>();
        Assert.That(Loss([s, s, t]).item<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    private static (Tensor Final, Tensor AuxLogits, Tensor AuxFeatures, Tensor Penultimate, Tensor Label) ByotInputs(long seed)
    {
        manual_seed(seed);
        return (randn([2, 3, 4, 4], ScalarType.Float64), randn([2, 3, 2, 2], ScalarType.Float64), randn([2, 4, 2, 2], ScalarType.Float64),
            randn([2, 5, 4, 4], ScalarType.Float64), randint(3, [2, 4, 4]));
    }

    private static FeatureMaps ByotMaps(Tensor final, Tensor auxLogits, Tensor auxFeatures, Tensor penultimate) =>
        Maps(final, (AcwSkdOptions.DefaultAuxLogitsTap, auxLogits), (AcwSkdOptions.DefaultAuxFeaturesTap, auxFeatures), (AcwSkdOptions.DefaultPenultimateTap, penultimate));

    [Test]
    public void ByotTermsValuesAndGradients()
    {
        using var scope = NewDisposeScope();
        var (final, aux, auxF, pen, label) = ByotInputs(513);
        manual_seed(5);
        using var method = new ByotMethod(new ByotOptions { KlWeight = 0.3, Temperature = 2 }, 4, 5, dtype: ScalarType.Float64);
        Assert.That(method.StudentTaps, Is.EqualTo(new[] { "aux_logits", "aux_features", "penultimate" }));
        Assert.That(method.TeacherTaps, Is.Empty);
        var terms = method.Compute(ByotMaps(final, aux, auxF, pen), null, label);
        Assert.That(terms.Select(t => (t.Name, t.Weight)), Is.EqualTo(new[] { ("ce", 1.0), ("kl", 0.3), ("hint", 1.0) }));
        Assert.That(terms[0].Value.item<double>(), Is.EqualTo(AcwSkdLosses.AuxCrossEntropy(aux, label).item<double>()));
        // The kl term with equal sizes against the loop reference (aux resized to the final map first).
        var resized = nn.functional.interpolate(aux, size: [4, 4], mode: InterpolationMode.Bilinear, align_corners: false);
        Assert.That(terms[1].Value.item<double>(), Is.EqualTo(Reference.LogitsKl(Reference.Of(resized), Reference.Of(final), 2, studentFirst: false)).Within(1e-10));
        Assert.That(terms[2].Value.item<double>(), Is.EqualTo(BaselineLosses.Hint(method.Adapter!, auxF, pen).item<double>()));

        Tensor Total(Tensor[] x) => LossTerms.Total(method.Compute(ByotMaps(x[0], x[1], x[2], x[3]), null, label));
        GradCheck.Inputs(Total, [final, aux, auxF, pen], checkInput: [false, true, true, false]);
        GradCheck.Parameters(() => Total([final, aux, auxF, pen]), method.TrainableParameters());
        // The final branch is the teacher: no gradient through the final logits or the penultimate features.
        var (f, p) = (final.detach().requires_grad_(), pen.detach().requires_grad_());
        Total([f, aux.detach().requires_grad_(), auxF, p]).backward();
        Assert.That((f.grad, p.grad), Is.EqualTo(((Tensor?)null, (Tensor?)null)));

        using var noHint = new ByotMethod(new ByotOptions { Terms = "ce+kl" }, 0, 0);
        Assert.That((noHint.StudentTaps, noHint.TrainableModule), Is.EqualTo((new[] { "aux_logits" }, (nn.Module?)null)));
        Assert.That(DistillationMethods.IsSelfDistillation("BYOT"));
    }

    [Test]
    public void FactoryBuildsEveryBaselineOnUnetTeacherAndResNetStudent()
    {
        using var scope = NewDisposeScope();
        manual_seed(514);
        using var student = ModelRegistry.Create("resnet18-unet", new ModelOptions(1, 3, 0.125));
        using var teacher = ModelRegistry.Create("unet", new ModelOptions(1, 3, 0.125));
        teacher.eval();
        var image = randn(2, 1, 32, 32);
        var label = randint(3, [2, 32, 32]);
        var options = new DistillationOptions { Cwd = new() { StudentTap = "decoder", TeacherTap = "decoder" } };
        var expected = new Dictionary<string, string[]>
        {
            ["kd"] = ["kd"], ["at"] = ["at"], ["skd"] = ["pi", "pa"], ["cwd"] = ["cwd"], ["byot"] = ["ce", "kl", "hint"],
        };
        foreach (var (name, termNames) in expected)
        {
            using var method = DistillationMethods.Create(name, options, student, name == "byot" ? null : teacher);
            var s = student.forward_features(image, method.StudentTaps.ToArray());
            // Gradients on for the teacher: only the method's detaching keeps its parameters' gradients empty.
            var t = teacher.forward_features(image, method.TeacherTaps.ToArray());
            var terms = method.Compute(s, t, label);
            Assert.That(terms.Select(x => x.Name), Is.EqualTo(termNames), name);
            Assert.That(terms.All(x => x.Value.dim() == 0 && double.IsFinite(x.Value.item<float>())), name);
            LossTerms.Total(terms).backward();
            Assert.That(teacher.parameters().All(p => p.grad is null), $"{name}: no teacher gradient");
            Assert.That(student.parameters().Any(p => p.grad is not null), name);
            foreach (var p in method.TrainableParameters()) Assert.That(p.grad, Is.Not.Null, name);
            student.zero_grad();
        }
        // unet decoder: 64·0.125 = 8 channels; resnet18-unet's: 16·0.125 = 2, raised to the zoo's minimum of 4.
        using (var cwd = (CwdMethod)DistillationMethods.Create("cwd", options, student, teacher))
            Assert.That((cwd.Adapter!.weight.size(0), cwd.Adapter.weight.size(1)), Is.EqualTo((8L, 4L)));
        Assert.Throws<ArgumentException>(() => DistillationMethods.Create("at", new() { At = new() { TapPairs = [new("layer1", "layer1")] } }, student, teacher));
        Assert.Throws<ArgumentNullException>(() => DistillationMethods.Create("kd", null, student, null));
    }
}

using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Emkd;
using MedDistill.Distillation.Losses;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

public class MethodTests
{
    [TestCase("lm+kmm+aam", AffinityKdTerms.All)]
    [TestCase("all", AffinityKdTerms.All)]
    [TestCase("lm", AffinityKdTerms.Logits)]
    [TestCase("aam+kmm", AffinityKdTerms.KernelMatrix | AffinityKdTerms.AdaptiveAffinity)]
    [TestCase(" LM + Aam ", AffinityKdTerms.Logits | AffinityKdTerms.AdaptiveAffinity)]
    public void ParsesTermSubsets(string text, AffinityKdTerms expected) =>
        Assert.That(AffinityKdTermNames.Parse(text), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("lm+")]
    [TestCase("lm+lm")]
    [TestCase("lm,kmm")]
    [TestCase("afm")]
    public void RejectsBadTermSubsets(string text) => Assert.Throws<FormatException>(() => AffinityKdTermNames.Parse(text));

    [Test]
    public void FormatsTermsInCanonicalOrder()
    {
        Assert.That(AffinityKdTermNames.Format(AffinityKdTermNames.Parse("aam+lm")), Is.EqualTo("lm+aam"));
        Assert.That(AffinityKdTermNames.Format(AffinityKdTerms.All), Is.EqualTo("lm+kmm+aam"));
        // All seven subsets of Table 4 round-trip.
        for (int bits = 1; bits < 8; bits++)
            Assert.That(AffinityKdTermNames.Parse(AffinityKdTermNames.Format((AffinityKdTerms)bits)), Is.EqualTo((AffinityKdTerms)bits));
    }

    [Test]
    public void TotalIsTheWeightedSum()
    {
        using var scope = NewDisposeScope();
        var terms = new[] { new LossTerm("a", 0.2, tensor(new[] { 3.0 }).squeeze()), new LossTerm("b", 0.9, tensor(new[] { -1.0 }).squeeze()) };
        Assert.That(LossTerms.Total(terms).item<double>(), Is.EqualTo(0.2 * 3 - 0.9).Within(1e-12));
        Assert.Throws<ArgumentException>(() => LossTerms.Total([]));
    }

    [Test]
    public void DefaultsAreThePapers()
    {
        var a = new AffinityKdOptions();
        Assert.That((a.LogitsWeight, a.KernelMatrixWeight, a.AffinityWeight), Is.EqualTo((0.2, 0.9, 0.9)));
        Assert.That(a.Terms, Is.EqualTo(AffinityKdTerms.All));
        Assert.That((a.Logits.Temperature, a.Logits.Direction), Is.EqualTo((1.0, KlDirection.StudentToTeacher)));
        Assert.That((a.KernelMatrix.StudentTap, a.KernelMatrix.TeacherTap, a.KernelMatrix.Normalise, a.KernelMatrix.L1Reduction),
            Is.EqualTo(("encoder", "encoder", true, L1Reduction.Mean)));
        Assert.That((a.Affinity.Kernel, a.Affinity.Margin), Is.EqualTo((3, 3.0)));
        Assert.That(a.Affinity.Dilations, Is.EqualTo(new[] { 1 }));
        var e = new EmkdOptions();
        Assert.That((e.PixelWeight, e.ImportanceMapWeight, e.RegionAffinityWeight, e.Temperature, e.Power), Is.EqualTo((0.1, 0.9, 0.9, 4.0, 2.0)));
        Assert.That(e.TapPairs, Is.EqualTo(new[] { new TapPair("encoder", "encoder"), new TapPair("decoder", "decoder") }));
        var s = new SegmentationLossOptions();
        Assert.That((s.DiceWeight, s.FocalWeight, s.FocalGamma, s.Smooth, s.IncludeBackground, s.ClassAlpha),
            Is.EqualTo((0.5, 0.5, 2.0, 1e-5, false, (IReadOnlyList<double>?)null)));
    }

    [Test]
    public void LogitsOnlySubsetNeedsNoTapsAndTrainsNothing()
    {
        using var scope = NewDisposeScope();
        using var method = new AffinityKdMethod(new AffinityKdOptions { Terms = AffinityKdTermNames.Parse("aam+lm") }, kernelMatrix: null);
        Assert.That(method.StudentTaps, Is.Empty);
        Assert.That(method.TeacherTaps, Is.Empty);
        Assert.That(method.TrainableModule, Is.Null);
        Assert.That(method.TrainableParameters(), Is.Empty);
        manual_seed(30);
        var s = new FeatureMaps(randn([2, 2, 4, 4], ScalarType.Float64), new Dictionary<string, Tensor>());
        var t = new FeatureMaps(randn([2, 2, 4, 4], ScalarType.Float64), new Dictionary<string, Tensor>());
        var terms = method.Compute(s, t, randint(2, [2, 4, 4]));
        Assert.That(terms.Select(x => (x.Name, x.Weight)), Is.EqualTo(new[] { ("lm", 0.2), ("aam", 0.9) }));
        Assert.That(terms[0].Value.item<double>(), Is.EqualTo(new LogitsDistillation().Compute(s.Logits, t.Logits).item<double>()));
        Assert.That(terms[1].Value.item<double>(), Is.EqualTo(new AdaptiveAffinityDistillation().Compute(s.Logits, t.Logits).item<double>()));
    }

    [Test]
    public void KernelMatrixModuleMustMatchTheTerms()
    {
        using var kmm = new KernelMatrixDistillation(2, 3);
        Assert.Throws<ArgumentException>(() => new AffinityKdMethod(new AffinityKdOptions(), kernelMatrix: null));
        Assert.Throws<ArgumentException>(() => new AffinityKdMethod(new AffinityKdOptions { Terms = AffinityKdTerms.Logits }, kmm));
        Assert.Throws<ArgumentException>(() => new AffinityKdMethod(new AffinityKdOptions { Terms = AffinityKdTerms.None }, kernelMatrix: null));
    }

    [Test]
    public void FactoryResolvesNames()
    {
        Assert.That(DistillationMethods.Names, Is.EqualTo(new[] { "none", "affinity-kd", "emkd", "mskd", "acw-skd", "gkd", "kd", "at", "skd", "cwd", "byot", "fsp", "ifvd" }));
        manual_seed(31);
        using var student = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.25));
        using var teacher = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.5));
        using (var none = DistillationMethods.Create("none", null, student, teacher))
        {
            Assert.That(none.Name, Is.EqualTo("none"));
            Assert.That(none.Compute(null!, null!, null!), Is.Empty);
        }
        using (var emkd = DistillationMethods.Create("EMKD", null, student, teacher))
            Assert.That(emkd.StudentTaps, Is.EqualTo(new[] { "encoder", "decoder" }));
        var options = new DistillationOptions { AffinityKd = new() { Terms = AffinityKdTerms.KernelMatrix, KernelMatrix = new() { TeacherTap = "stage2" } } };
        using (var akd = DistillationMethods.Create("affinity-kd", options, student, teacher))
        {
            var kmm = ((AffinityKdMethod)akd).KernelMatrix!;
            // Student encoder: round(128·0.25) = 32 channels; teacher stage 2 at width 0.5: round(128·0.5) = 64.
            Assert.That((kmm.StudentChannels, kmm.TeacherChannels), Is.EqualTo((32L, 64L)));
            Assert.That(akd.TeacherTaps, Is.EqualTo(new[] { "stage2" }));
            Assert.That(akd.TrainableModule, Is.SameAs(kmm));
            Assert.That(akd.TrainableModule!.state_dict(keep_vars: true).Keys, Is.EquivalentTo(new[] { "adapter.weight", "adapter.bias" }));
        }
        Assert.Throws<ArgumentException>(() => DistillationMethods.Create("cakd", null, student, teacher));
        Assert.Throws<ArgumentException>(() => DistillationMethods.Create("emkd", new() { Emkd = new() { TapPairs = [new("encoder", "nope")] } }, student, teacher));
    }

    [TestCase("deeplabv3plus", 0.0625)]
    [TestCase("unetpp", 0.125)]
    public void RealNetworksGradientsReachStudentAndAdapterOnly(string teacherName, double teacherWidth)
    {
        using var scope = NewDisposeScope();
        manual_seed(32);
        using var student = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.25));
        using var teacher = ModelRegistry.Create(teacherName, new ModelOptions(1, 2, teacherWidth));
        teacher.eval();
        using var method = DistillationMethods.Create("affinity-kd", null, student, teacher);
        var image = randn(2, 1, 32, 32);
        var label = randint(2, [2, 32, 32]);

        // The teacher runs with gradients on and its parameters trainable: only the method's own detaching keeps its
        // gradients empty.
        var s = student.forward_features(image, method.StudentTaps.ToArray());
        var t = teacher.forward_features(image, method.TeacherTaps.ToArray());
        var terms = method.Compute(s, t, label);
        Assert.That(terms.Select(x => x.Name), Is.EqualTo(new[] { "lm", "kmm", "aam" }));
        foreach (var term in terms)
        {
            Assert.That(term.Value.dim(), Is.EqualTo(0), term.Name);
            Assert.That(double.IsFinite(term.Value.item<float>()), term.Name);
        }
        var total = LossTerms.Total(new SegmentationLoss().Terms(s.Logits, label).Concat(terms));
        total.backward();

        var unused = student.UnusedParameterPrefixes;
        var studentGrads = student.named_parameters().Where(p => !unused.Any(u => p.name.StartsWith(u))).ToList();
        Assert.That(studentGrads.All(p => p.parameter.grad is not null), "every used student parameter gets a gradient");
        Assert.That(studentGrads.Any(p => p.parameter.grad!.abs().sum().item<float>() > 0));
        foreach (var p in method.TrainableParameters())
        {
            using var g = p.grad;
            Assert.That(g, Is.Not.Null);
            Assert.That(g!.abs().sum().item<float>(), Is.GreaterThan(0));
            Assert.That(g.isfinite().all().item<bool>());
        }
        Assert.That(teacher.parameters().All(p => p.grad is null), "no gradient reaches the teacher");
    }
}

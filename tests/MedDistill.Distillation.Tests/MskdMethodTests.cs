using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Emkd;
using MedDistill.Distillation.Mskd;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

public class MskdMethodTests
{
    [Test]
    public void DefaultsAreOurDocumentedChoices()
    {
        var o = new MskdOptions();
        Assert.That((o.FilteringWeight, o.GraphWeight), Is.EqualTo((1.0, 1.0)));
        var both = new[] { new TapPair("encoder", "encoder"), new TapPair("decoder", "decoder") };
        Assert.That(o.FilteringTaps, Is.EqualTo(both));
        Assert.That(o.GraphTaps, Is.EqualTo(both));
        Assert.That((o.Regions, o.Filter, o.ConfidenceThreshold, o.IncludeBackground, o.Distance, o.AdapterBias),
            Is.EqualTo((RegionSource.Label, RegionFilter.TeacherCorrect, 0.9, true, PrototypeDistance.Cosine, true)));
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        yield return new TestCaseData(new MskdOptions { FilteringWeight = -1 }, "FilteringWeight");
        yield return new TestCaseData(new MskdOptions { GraphWeight = double.NaN }, "GraphWeight");
        yield return new TestCaseData(new MskdOptions { FilteringTaps = [] }, "FilteringTaps");
        yield return new TestCaseData(new MskdOptions { GraphTaps = [new("encoder", " ")] }, "GraphTaps");
        yield return new TestCaseData(new MskdOptions { ConfidenceThreshold = 0 }, "ConfidenceThreshold");
        yield return new TestCaseData(new MskdOptions { ConfidenceThreshold = 1.5 }, "ConfidenceThreshold");
        yield return new TestCaseData(new MskdOptions { Filter = (RegionFilter)7 }, "Filter");
        yield return new TestCaseData(new MskdOptions { Regions = (RegionSource)7 }, "Regions");
        yield return new TestCaseData(new MskdOptions { Distance = (PrototypeDistance)7 }, "Distance");
    }

    [TestCaseSource(nameof(BadOptions))]
    public void RejectsBadOptionsNamingThem(MskdOptions options, string name)
    {
        var e = Assert.Throws<ArgumentException>(() => new MskdMethod(options));
        Assert.That(e!.Message, Does.Contain(name).And.Contain(nameof(MskdOptions)));
    }

    [Test]
    public void AdaptersOnlyWhereChannelsDiffer()
    {
        using var scope = NewDisposeScope();
        var options = new MskdOptions { FilteringTaps = [new("a", "x"), new("b", "y"), new("c", "z")], GraphTaps = [new("b", "x")] };
        using var method = new MskdMethod(options, [(3, 5), (4, 4), (2, 6)], dtype: ScalarType.Float64);
        Assert.That(method.StudentTaps, Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(method.TeacherTaps, Is.EqualTo(new[] { "x", "y", "z" }));
        Assert.That(method.TrainableModule, Is.SameAs(method.Adapters));
        Assert.That(method.TrainableModule!.state_dict().Keys, Is.EquivalentTo(new[] { "ffd0.weight", "ffd0.bias", "ffd2.weight", "ffd2.bias" }));
        Assert.That(method.Adapters![1], Is.Null);
        Assert.That(method.TrainableParameters().Count(), Is.EqualTo(4));
        using (var noBias = new MskdMethod(options with { AdapterBias = false }, [(3, 5), (4, 4), (2, 6)]))
            Assert.That(noBias.TrainableModule!.state_dict().Keys, Is.EquivalentTo(new[] { "ffd0.weight", "ffd2.weight" }));
        using (var same = new MskdMethod(options, [(3, 3), (4, 4), (2, 2)]))
        {
            Assert.That(same.TrainableModule, Is.Null);
            Assert.That(same.TrainableParameters(), Is.Empty);
        }
        Assert.Throws<ArgumentException>(() => new MskdMethod(options, [(3, 5)]), "one channel pair for three tap pairs");
    }

    [Test]
    public void MethodSumsTermsOverTapPairs()
    {
        using var scope = NewDisposeScope();
        manual_seed(46);
        var options = new MskdOptions
        {
            FilteringTaps = [new("a", "x"), new("b", "y")], GraphTaps = [new("a", "y"), new("b", "x")],
            FilteringWeight = 0.5, GraphWeight = 2,
        };
        using var method = new MskdMethod(options, [(3, 6), (5, 5)], dtype: ScalarType.Float64);
        var label = randint(3, [2, 4, 4]);
        var student = new FeatureMaps(randn([2, 3, 4, 4], ScalarType.Float64), new Dictionary<string, Tensor>
        {
            ["a"] = randn([2, 3, 2, 2], ScalarType.Float64), ["b"] = randn([2, 5, 4, 4], ScalarType.Float64),
        });
        var teacher = new FeatureMaps(randn([2, 3, 4, 4], ScalarType.Float64), new Dictionary<string, Tensor>
        {
            ["x"] = randn([2, 6, 2, 2], ScalarType.Float64), ["y"] = randn([2, 5, 1, 1], ScalarType.Float64),
        });
        var terms = method.Compute(student, teacher, label);
        Assert.That(terms.Select(t => (t.Name, t.Weight)), Is.EqualTo(new[] { ("ffd", 0.5), ("rgd", 2.0) }));
        var masks = MskdLosses.RegionMasks(label, teacher.Logits, options);
        var adapter = method.Adapters![0]!;
        double ffd = MskdLosses.FeatureFiltering(student["a"], teacher["x"], masks, PrototypeDistance.Cosine, adapter.weight, adapter.bias).item<double>()
            + MskdLosses.FeatureFiltering(student["b"], teacher["y"], masks).item<double>();
        double rgd = MskdLosses.RegionGraph(student["a"], teacher["y"], masks).item<double>()
            + MskdLosses.RegionGraph(student["b"], teacher["x"], masks).item<double>();
        Assert.That(terms[0].Value.item<double>(), Is.EqualTo(ffd).Within(1e-12));
        Assert.That(terms[1].Value.item<double>(), Is.EqualTo(rgd).Within(1e-12));
        Assert.That(ffd * rgd, Is.GreaterThan(0));
        // Adapter gradients agree with finite differences through the method.
        GradCheck.Parameters(() => method.Compute(student, teacher, label)[0].Value, method.TrainableParameters());
        // Without adapters, differing channels are an error, not a silent mismatch.
        using var bare = new MskdMethod(options);
        Assert.Throws<ArgumentException>(() => bare.Compute(student, teacher, label));
    }

    [Test]
    public void FactoryProbesTheNetworks()
    {
        manual_seed(47);
        using var student = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.25));
        using var teacher = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.5));
        var options = new DistillationOptions { Mskd = new() { FilteringTaps = [new("encoder", "stage2"), new("decoder", "decoder")] } };
        using (var method = DistillationMethods.Create("MSKD", options, student, teacher))
        {
            Assert.That(method.Name, Is.EqualTo("mskd"));
            Assert.That(method.StudentTaps, Is.EqualTo(new[] { "encoder", "decoder" }));
            Assert.That(method.TeacherTaps, Is.EqualTo(new[] { "stage2", "decoder", "encoder" }));
            var adapters = ((MskdMethod)method).Adapters!;
            // Student encoder: round(128·0.25) = 32 channels; teacher stage 2 at width 0.5: round(128·0.5) = 64.
            Assert.That((adapters[0]!.in_channels, adapters[0]!.out_channels), Is.EqualTo((32L, 64L)));
            long cs = KernelMatrixDistillation.ProbeChannels(student, "decoder"), ct = KernelMatrixDistillation.ProbeChannels(teacher, "decoder");
            Assert.That(adapters[1] is null, Is.EqualTo(cs == ct));
            Assert.That(method.TrainableParameters().First().dtype, Is.EqualTo(student.parameters().First().dtype));
        }
        var missing = new DistillationOptions { Mskd = new() { GraphTaps = [new("encoder", "nope")] } };
        var e = Assert.Throws<ArgumentException>(() => DistillationMethods.Create("mskd", missing, student, teacher));
        Assert.That(e!.Message, Does.Contain("nope"));
    }

    [TestCase("deeplabv3plus", 0.0625)]
    [TestCase("unetpp", 0.125)]
    public void RealNetworksGradientsReachStudentAndAdaptersOnly(string teacherName, double teacherWidth)
    {
        using var scope = NewDisposeScope();
        manual_seed(48);
        using var student = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.25));
        using var teacher = ModelRegistry.Create(teacherName, new ModelOptions(1, 2, teacherWidth));
        teacher.eval();
        using var method = DistillationMethods.Create("mskd", null, student, teacher);
        Assert.That(method.TrainableModule, Is.Not.Null, "ENet 0.25 and these teachers differ in channels");
        var image = randn(2, 1, 32, 32);
        var label = randint(2, [2, 32, 32]);
        // The teacher runs with gradients on: only the method's own detaching keeps its gradients empty. Only the MSKD terms
        // are backpropagated, so the student's gradients come from them. The second method has no filter, because an
        // untrained teacher may be wrong nearly everywhere, which would leave the filtered terms without nodes.
        using var unfiltered = new MskdMethod(new MskdOptions { Filter = RegionFilter.None }, student, teacher);
        foreach (var m in new[] { method, unfiltered })
        {
            var s = student.forward_features(image, m.StudentTaps.ToArray());
            var t = teacher.forward_features(image, m.TeacherTaps.ToArray());
            var terms = m.Compute(s, t, label);
            Assert.That(terms.Select(x => x.Name), Is.EqualTo(new[] { "ffd", "rgd" }));
            foreach (var term in terms)
            {
                Assert.That(term.Value.dim(), Is.EqualTo(0), term.Name);
                Assert.That(double.IsFinite(term.Value.item<float>()), term.Name);
            }
            LossTerms.Total(terms).backward();
        }
        foreach (var p in unfiltered.TrainableParameters())
        {
            using var g = p.grad;
            Assert.That(g, Is.Not.Null, "every adapter gets a gradient");
            Assert.That(g!.abs().sum().item<float>(), Is.GreaterThan(0));
            Assert.That(g.isfinite().all().item<bool>());
        }
        Assert.That(student.parameters().Any(p => p.grad is not null && p.grad.abs().sum().item<float>() > 0), "the student learns from MSKD");
        Assert.That(student.parameters().All(p => p.grad is null || p.grad.isfinite().all().item<bool>()));
        Assert.That(teacher.parameters().All(p => p.grad is null), "no gradient reaches the teacher");
    }
}

using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Emkd;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

public class EmkdTests
{
    [Test]
    public void PixelDistillationByHand()
    {
        using var scope = NewDisposeScope();
        // One pixel, T = 4: student logits (0, 0) → q_s = (1/2, 1/2); teacher (ln 3, 0)/4 → q_t = (3^¼, 1)/(3^¼ + 1).
        // PMD = T² · KL(q_t ‖ q_s).
        double r = Math.Pow(3, 0.25);
        double[] qt = [r / (r + 1), 1 / (r + 1)];
        double expected = 16 * (qt[0] * Math.Log(qt[0] / 0.5) + qt[1] * Math.Log(qt[1] / 0.5));
        var method = new EmkdMethod();
        var student = tensor(new[] { 0.0, 0.0 }, 1, 2, 1, 1);
        var teacher = tensor(new[] { Math.Log(3), 0.0 }, 1, 2, 1, 1);
        var pmd = new LogitsDistillation(method.Options.PixelDistillation);
        Assert.That(pmd.Compute(student, teacher).item<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void ImportanceMapByHand()
    {
        using var scope = NewDisposeScope();
        // Student (2 channels, 1×2): channel 0 = [1, 2], channel 1 = [3, 0] → A_s = [(1 + 9)/2, (4 + 0)/2] = [5, 2], normalised
        // [5, 2]/√29. Teacher (1 channel) = [1, 1] → [1, 1]/√2. IMD = mean of the two squared differences.
        var s = tensor(new[] { 1.0, 2.0, 3.0, 0.0 }, 1, 2, 1, 2);
        var t = tensor(new[] { 1.0, 1.0 }, 1, 1, 1, 2);
        double a = 5 / Math.Sqrt(29) - 1 / Math.Sqrt(2), b = 2 / Math.Sqrt(29) - 1 / Math.Sqrt(2);
        Assert.That(new ImportanceMapDistillation().Compute(s, t).item<double>(), Is.EqualTo((a * a + b * b) / 2).Within(1e-12));
        // p = 4: A_s = [(1 + 81)/2, (16 + 0)/2] = [41, 8].
        double n4 = Math.Sqrt(41 * 41 + 8 * 8);
        double a4 = 41 / n4 - 1 / Math.Sqrt(2), b4 = 8 / n4 - 1 / Math.Sqrt(2);
        Assert.That(new ImportanceMapDistillation(4).Compute(s, t).item<double>(), Is.EqualTo((a4 * a4 + b4 * b4) / 2).Within(1e-12));
        // Negative features count by magnitude: flipping a sign changes nothing.
        Assert.That(new ImportanceMapDistillation(3).Compute(s.neg(), t).item<double>(),
            Is.EqualTo(new ImportanceMapDistillation(3).Compute(s, t).item<double>()).Within(1e-12));
    }

    [Test]
    public void ImportanceMapResizesTheStudentToTheTeacher()
    {
        using var scope = NewDisposeScope();
        // A 1×1 student attention map becomes a constant 2×2 map: normalised [½, ½, ½, ½]. Teacher attention [1, 0, 0, 0]
        // (normalised the same). IMD = ((½ − 1)² + 3·(½)²)/4 = 1/4.
        var s = tensor(new[] { 3.0 }, 1, 1, 1, 1);
        var t = tensor(new[] { 2.0, 0, 0, 0 }, 1, 1, 2, 2);
        Assert.That(new ImportanceMapDistillation().Compute(s, t).item<double>(), Is.EqualTo(0.25).Within(1e-12));
    }

    [Test]
    public void RegionAffinityByHandSkipsASampleWithoutForeground()
    {
        using var scope = NewDisposeScope();
        // Sample 0, label [1, 0]: student fg (1, 0), bg (1, 1) → cos = 1/√2; teacher fg (1, 0), bg (0, 1) → cos = 0.
        // Sample 1 has no foreground and is left out: RAD = (1/√2 − 0)² / 1 = 1/2.
        var s = tensor(new[] { 1.0, 1.0, 0.0, 1.0, /* sample 1 */ 5.0, -2.0, 1.0, 4.0 }, 2, 2, 1, 2);
        var t = tensor(new[] { 1.0, 0.0, 0.0, 1.0, /* sample 1 */ 1.0, 3.0, 2.0, -1.0 }, 2, 2, 1, 2);
        var label = tensor(new long[] { 1, 0, 0, 0 }, 2, 1, 2);
        var rad = new RegionAffinityDistillation();
        Assert.That(rad.Compute(s, t, label).item<double>(), Is.EqualTo(0.5).Within(1e-12));
        // With gradients: finite, and zero for the sample that has no foreground.
        var leaf = s.detach().requires_grad_();
        rad.Compute(leaf, t, label).backward();
        var grad = leaf.grad!.ToArray<double>();
        Assert.That(grad.All(double.IsFinite));
        Assert.That(grad.Skip(4), Is.All.EqualTo(0.0));
        Assert.That(grad.Take(4).Any(g => g != 0));
        GradCheck.Inputs(x => rad.Compute(x[0], t, label), [s]);
    }

    [Test]
    public void RegionAffinityIsZeroWhenNoSampleHasBothRegions()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        var s = randn([2, 3, 2, 2], ScalarType.Float64).requires_grad_();
        var t = randn([2, 3, 2, 2], ScalarType.Float64);
        var label = tensor(new long[] { 0, 0, 0, 0, 1, 1, 1, 1 }, 2, 2, 2);
        var loss = new RegionAffinityDistillation().Compute(s, t, label);
        Assert.That(loss.item<double>(), Is.EqualTo(0));
        loss.backward();
        Assert.That(s.grad!.ToArray<double>(), Is.All.EqualTo(0.0));
    }

    [Test]
    public void RegionAffinityResizesTheMaskByNearest()
    {
        using var scope = NewDisposeScope();
        // Label 2×4, features 1×2: nearest (scale 1/2) keeps label columns 0 and 2 of row 0, so the mask is [1, 0] and the
        // result equals the hand example's sample 0.
        var s = tensor(new[] { 1.0, 1.0, 0.0, 1.0 }, 1, 2, 1, 2);
        var t = tensor(new[] { 1.0, 0.0, 0.0, 1.0 }, 1, 2, 1, 2);
        var label = tensor(new long[] { 1, 1, 0, 0, /* row 1, not sampled */ 0, 0, 1, 1 }, 1, 2, 4);
        Assert.That(new RegionAffinityDistillation().Compute(s, t, label).item<double>(), Is.EqualTo(0.5).Within(1e-12));
    }

    [Test]
    public void RegionAffinityNeedsBothRegionsInBothMaps()
    {
        using var scope = NewDisposeScope();
        // Label [[0, 1], [0, 0]]: the 2×2 student map has both regions, but the 1×1 teacher map keeps (nearest) only
        // label[0, 0] = 0, so the teacher has no foreground and the sample is left out: RAD = 0, not (c_s − 0)².
        manual_seed(16);
        var s = randn([1, 3, 2, 2], ScalarType.Float64);
        var t = randn([1, 3, 1, 1], ScalarType.Float64);
        var label = tensor(new long[] { 0, 1, 0, 0 }, 1, 2, 2);
        Assert.That(new RegionAffinityDistillation().Compute(s, t, label).item<double>(), Is.EqualTo(0));
    }

    [Test]
    public void MatchLoopReference()
    {
        using var scope = NewDisposeScope();
        manual_seed(13);
        var s = randn([3, 3, 2, 3], ScalarType.Float64);
        var t = randn([3, 4, 2, 3], ScalarType.Float64);
        // Sample 2 has no foreground; samples 0 and 1 have both regions.
        var label = tensor(new long[] { 1, 0, 2, 0, 0, 0, /* 1 */ 0, 1, 1, 1, 1, 0, /* 2 */ 0, 0, 0, 0, 0, 0 }, 3, 2, 3);
        var fs = Reference.Of(s); var ft = Reference.Of(t);
        Assert.That(new RegionAffinityDistillation().Compute(s, t, label).item<double>(),
            Is.EqualTo(Reference.RegionAffinity(fs, ft, Reference.Labels(label))).Within(1e-12));
        Assert.That(new ImportanceMapDistillation(2).Compute(s, t).item<double>(), Is.EqualTo(Reference.ImportanceMap(fs, ft, 2)).Within(1e-12));
        Assert.That(new ImportanceMapDistillation(3).Compute(s, t).item<double>(), Is.EqualTo(Reference.ImportanceMap(fs, ft, 3)).Within(1e-12));
    }

    [Test]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(14);
        var s = randn([3, 3, 2, 3], ScalarType.Float64);
        var t = randn([3, 4, 1, 2], ScalarType.Float64);
        var label = tensor(new long[] { 1, 0, 1, 0, 0, 0, /* 1 */ 0, 1, 1, 1, 1, 0, /* 2 */ 0, 0, 0, 0, 0, 0 }, 3, 2, 3);
        GradCheck.Inputs(x => new ImportanceMapDistillation(2).Compute(x[0], x[1]), [s, t], checkInput: [true, false]);
        GradCheck.Inputs(x => new ImportanceMapDistillation(3).Compute(x[0], x[1]), [s, t], checkInput: [true, false]);
        GradCheck.Inputs(x => new RegionAffinityDistillation().Compute(x[0], x[1], label), [s, t], checkInput: [true, false]);
        var logitsS = randn([2, 3, 2, 3], ScalarType.Float64);
        var logitsT = randn([2, 3, 2, 3], ScalarType.Float64);
        var pmd = new LogitsDistillation(new EmkdOptions().PixelDistillation);
        GradCheck.Inputs(x => pmd.Compute(x[0], x[1]), [logitsS, logitsT], checkInput: [true, false]);
    }

    [Test]
    public void MethodSumsImdAndRadOverTapPairs()
    {
        using var scope = NewDisposeScope();
        manual_seed(15);
        var options = new EmkdOptions { TapPairs = [new("a", "x"), new("b", "y")] };
        using var method = new EmkdMethod(options);
        Assert.That(method.StudentTaps, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(method.TeacherTaps, Is.EqualTo(new[] { "x", "y" }));
        var label = randint(2, [2, 4, 4]);
        var student = new FeatureMaps(randn([2, 2, 4, 4], ScalarType.Float64), new Dictionary<string, Tensor>
        {
            ["a"] = randn([2, 3, 2, 2], ScalarType.Float64),
            ["b"] = randn([2, 5, 4, 4], ScalarType.Float64),
        });
        var teacher = new FeatureMaps(randn([2, 2, 4, 4], ScalarType.Float64), new Dictionary<string, Tensor>
        {
            ["x"] = randn([2, 6, 2, 2], ScalarType.Float64),
            ["y"] = randn([2, 7, 4, 4], ScalarType.Float64),
        });
        var terms = method.Compute(student, teacher, label);
        Assert.That(terms.Select(t => (t.Name, t.Weight)), Is.EqualTo(new[] { ("pmd", 0.1), ("imd", 0.9), ("rad", 0.9) }));
        var imd = new ImportanceMapDistillation();
        var rad = new RegionAffinityDistillation();
        double expectedImd = imd.Compute(student["a"], teacher["x"]).item<double>() + imd.Compute(student["b"], teacher["y"]).item<double>();
        double expectedRad = rad.Compute(student["a"], teacher["x"], label).item<double>() + rad.Compute(student["b"], teacher["y"], label).item<double>();
        Assert.That(terms[1].Value.item<double>(), Is.EqualTo(expectedImd).Within(1e-12));
        Assert.That(terms[2].Value.item<double>(), Is.EqualTo(expectedRad).Within(1e-12));
        double expectedPmd = Reference.LogitsKl(Reference.Of(student.Logits), Reference.Of(teacher.Logits), 4, studentFirst: false);
        Assert.That(terms[0].Value.item<double>(), Is.EqualTo(expectedPmd).Within(1e-12));
    }

    [Test]
    public void RejectsBadOptions()
    {
        Assert.Throws<ArgumentException>(() => new EmkdMethod(new() { Temperature = 0 }));
        Assert.Throws<ArgumentException>(() => new EmkdMethod(new() { Power = -1 }));
        Assert.Throws<ArgumentException>(() => new EmkdMethod(new() { TapPairs = [] }));
        Assert.Throws<ArgumentException>(() => new EmkdMethod(new() { TapPairs = [new("", "encoder")] }));
        Assert.Throws<ArgumentException>(() => new EmkdMethod(new() { PixelWeight = -0.1 }));
    }
}

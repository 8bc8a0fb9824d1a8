using MedDistill.Distillation.Baselines;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

/// <summary>
/// GKD's baselines FSP and IFVD: values worked out by hand on 2×2 maps, plain-C# loop references, float64 finite
/// differences, no teacher gradient, absent classes, and the factory on the unet teacher with the three GKD students.
/// </summary>
public class GkdBaselineTests
{
    private static Tensor T(double[] values, params long[] shape) => tensor(values, shape);

    private static FeatureMaps Maps(Tensor logits, params (string Tap, Tensor Map)[] taps) =>
        new(logits, taps.ToDictionary(t => t.Tap, t => t.Map));

    private static readonly FspOptions AbPairs = new() { Pairs = [new("a", "b", "a", "b")] };

    // ---------------------------------------------------------------- FSP

    [Test]
    public void FspMatrixByHand()
    {
        using var scope = NewDisposeScope();
        // F1 (1, 2, 2, 2): channel 0 = [[1, 0], [0, 1]], channel 1 = [[1, 1], [0, 0]]; F2 (1, 1, 2, 2) = [[2, 0], [0, 4]].
        // G = F1·F2ᵀ/4 = [(2 + 4)/4, 2/4]ᵀ.
        var g = FspMethod.Matrix(T([1, 0, 0, 1, 1, 1, 0, 0], 1, 2, 2, 2), T([2, 0, 0, 4], 1, 1, 2, 2));
        Assert.That(g.shape, Is.EqualTo(new long[] { 1, 2, 1 }));
        Assert.That(g.ToArray<double>(), Is.EqualTo(new[] { 1.5, 0.5 }).Within(1e-12));
        // Sizes differ: the larger map is averaged down to the smaller, whichever comes first: 2·mean(1..4)/1 = 5.
        var one = T([2], 1, 1, 1, 1);
        var four = T([1, 2, 3, 4], 1, 1, 2, 2);
        Assert.That(FspMethod.Matrix(one, four).item<double>(), Is.EqualTo(5).Within(1e-12));
        Assert.That(FspMethod.Matrix(four, one).item<double>(), Is.EqualTo(5).Within(1e-12));
        // 2×4 against 4×2: both pooled to 2×2, [[1.5, 3.5], [5.5, 7.5]] and [[0.5, 0.5], [1, 1]]: (0.75 + 1.75 + 5.5 + 7.5)/4.
        var wide = T([1, 2, 3, 4, 5, 6, 7, 8], 1, 1, 2, 4);
        var tall = T([1, 0, 0, 1, 2, 2, 0, 0], 1, 1, 4, 2);
        Assert.That(FspMethod.Matrix(wide, tall).item<double>(), Is.EqualTo(15.5 / 4).Within(1e-12));
    }

    [Test]
    public void FspLossByHand()
    {
        using var scope = NewDisposeScope();
        // Student: a = [1, 2], b = ([3, 4], [1, 0]) over 1×2 positions: G_s = [5.5, 0.5]. Teacher: a = [1, 1],
        // b = ([0, 2], [2, 2]): G_t = [1, 2]. Mean of (4.5², 1.5²) = 11.25.
        using var method = new FspMethod(AbPairs, [(1, 2, 1, 2)]);
        Assert.That((method.StudentTaps, method.TeacherTaps, method.TrainableModule), Is.EqualTo((new[] { "a", "b" }, new[] { "a", "b" }, (nn.Module?)null)));
        var logits = zeros([1, 2, 1, 2], ScalarType.Float64);
        var student = Maps(logits, ("a", T([1, 2], 1, 1, 1, 2)), ("b", T([3, 4, 1, 0], 1, 2, 1, 2)));
        var teacher = Maps(logits, ("a", T([1, 1], 1, 1, 1, 2)), ("b", T([0, 2, 2, 2], 1, 2, 1, 2)));
        var term = method.Compute(student, teacher, null!).Single();
        Assert.That((term.Name, term.Weight), Is.EqualTo(("fsp", 1.0)));
        Assert.That(term.Value.item<double>(), Is.EqualTo(11.25).Within(1e-12));
        // Two pairs are summed.
        using var twice = new FspMethod(new FspOptions { Pairs = [new("a", "b", "a", "b"), new("b", "a", "b", "a")], Weight = 0.5 }, [(1, 2, 1, 2), (2, 1, 2, 1)]);
        var both = twice.Compute(student, teacher, null!).Single();
        Assert.That(both.Weight, Is.EqualTo(0.5));
        Assert.That(both.Value.item<double>(), Is.EqualTo(22.5).Within(1e-12));
    }

    [Test]
    public void FspMatchesALoopReference()
    {
        using var scope = NewDisposeScope();
        manual_seed(601);
        var (sa, sb) = (randn([2, 3, 4, 4], ScalarType.Float64), randn([2, 5, 8, 8], ScalarType.Float64));
        var (ta, tb) = (randn([2, 3, 2, 2], ScalarType.Float64), randn([2, 5, 2, 2], ScalarType.Float64));
        using var method = new FspMethod(AbPairs, [(3, 5, 3, 5)]);
        var logits = zeros([2, 2, 4, 4], ScalarType.Float64);
        var value = method.Compute(Maps(logits, ("a", sa), ("b", sb)), Maps(logits, ("a", ta), ("b", tb)), null!)[0].Value.item<double>();
        var gs = LoopFsp(Reference.Of(sa), Reference.Of(sb));
        var gt = LoopFsp(Reference.Of(ta), Reference.Of(tb));
        double expected = gs.Zip(gt, (x, y) => (x - y) * (x - y)).Average();
        Assert.That(value, Is.EqualTo(expected).Within(1e-10));
    }

    [Test]
    public void FspAdaptersGradientsAndNoTeacherGradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(602);
        using var method = new FspMethod(AbPairs, [(3, 5, 4, 2)], dtype: ScalarType.Float64);
        Assert.That(method.TrainableModule!.state_dict(keep_vars: true).Keys,
            Is.EquivalentTo(new[] { "pair1_first.weight", "pair1_first.bias", "pair1_second.weight", "pair1_second.bias" }));
        var (sa, sb) = (randn([2, 3, 2, 2], ScalarType.Float64), randn([2, 5, 4, 4], ScalarType.Float64));
        var (ta, tb) = (randn([2, 4, 4, 4], ScalarType.Float64), randn([2, 2, 2, 2], ScalarType.Float64));
        var logits = zeros([2, 2, 4, 4], ScalarType.Float64);
        Tensor Loss(Tensor[] x) => LossTerms.Total(method.Compute(Maps(logits, ("a", x[0]), ("b", x[1])), Maps(logits, ("a", x[2]), ("b", x[3])), null!));
        GradCheck.Inputs(Loss, [sa, sb, ta, tb], checkInput: [true, true, false, false]);
        GradCheck.Parameters(() => Loss([sa, sb, ta, tb]), method.TrainableParameters());
        // The adapters run after pooling; a 1×1 convolution commutes with averaging, so adapting first gives the same G.
        using (no_grad())
        {
            var after = FspMethod.Matrix(sa, sb, method.Adapter(0, true), method.Adapter(0, false));
            var before = FspMethod.Matrix(method.Adapter(0, true)!.call(sa), method.Adapter(0, false)!.call(sb));
            Assert.That(after.allclose(before, rtol: 1e-12, atol: 1e-12));
        }
        var (la, lb) = (ta.detach().requires_grad_(), tb.detach().requires_grad_());
        Loss([sa.requires_grad_(), sb, la, lb]).backward();
        Assert.That((la.grad, lb.grad), Is.EqualTo(((Tensor?)null, (Tensor?)null)), "teacher maps get no gradient");
        Assert.That(sa.grad, Is.Not.Null);
    }

    [Test]
    public void FspBadInputsAreErrors()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => new FspMethod(new FspOptions { Pairs = [] }, []));
        Assert.Throws<ArgumentException>(() => new FspMethod(new FspOptions { Pairs = [new("a", "", "a", "b")] }, [(1, 1, 1, 1)]));
        Assert.Throws<ArgumentException>(() => new FspMethod(AbPairs, [(1, 1, 1, 1), (1, 1, 1, 1)]));
        Assert.Throws<ArgumentException>(() => new FspMethod(new FspOptions { Weight = -1 }, [(1, 1, 1, 1)]));
        Assert.Throws<ArgumentException>(() => FspMethod.Matrix(zeros(2, 1, 2, 2), zeros(1, 1, 2, 2)));
        Assert.Throws<ArgumentException>(() => FspMethod.MatrixDistance(zeros(1, 2, 3), zeros(1, 3, 2)));
    }

    // ---------------------------------------------------------------- IFVD

    // Student pixels (1, 0), (0, 1), (1, 1), (2, 0); teacher pixels (1, 0), (1, 0), (0, 1), (1, 1); label [[0, 0], [1, 1]].
    private static readonly double[] StudentPixels = [1, 0, 1, 2, 0, 1, 1, 0];
    private static readonly double[] TeacherPixels = [1, 1, 0, 1, 0, 0, 1, 1];

    [Test]
    public void IfvByHand()
    {
        using var scope = NewDisposeScope();
        var student = T(StudentPixels, 1, 2, 2, 2);
        var teacher = T(TeacherPixels, 1, 2, 2, 2);
        var label = tensor(new long[] { 0, 0, 1, 1 }, [1, 2, 2]);
        // Student prototypes (0.5, 0.5) and (1.5, 0.5): cosines 1/√2, 1/√2, 2/√5, 3/√10. Teacher prototypes (1, 0) and
        // (0.5, 1): cosines 1, 1, 2/√5, 3/√10.
        double[] ifvS = [1 / Math.Sqrt(2), 1 / Math.Sqrt(2), 2 / Math.Sqrt(5), 3 / Math.Sqrt(10)];
        Assert.That(IfvdMethod.VariationMap(student, label, 2).ToArray<double>(), Is.EqualTo(ifvS).Within(1e-12));
        Assert.That(IfvdMethod.VariationMap(teacher, label, 2).ToArray<double>(), Is.EqualTo(new[] { 1, 1, 2 / Math.Sqrt(5), 3 / Math.Sqrt(10) }).Within(1e-12));
        double expected = Math.Pow(1 - 1 / Math.Sqrt(2), 2) / 2;
        Assert.That(IfvdMethod.Loss(student, teacher, label, 2).item<double>(), Is.EqualTo(expected).Within(1e-12));

        // A 4×4 label is brought to 2×2 by nearest neighbour: the top-left pixel of each 2×2 block, the others ignored.
        var big = tensor(new long[] { 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0 }, [1, 4, 4]);
        Assert.That(IfvdMethod.Loss(student, teacher, big, 2).item<double>(), Is.EqualTo(expected).Within(1e-12));

        // Through the method: classes from the student logits, term name and weight.
        using var method = new IfvdMethod(new IfvdOptions { Weight = 3 });
        Assert.That((method.StudentTaps, method.TeacherTaps), Is.EqualTo((new[] { "decoder" }, new[] { "decoder" })));
        var term = method.Compute(Maps(zeros([1, 2, 4, 4], ScalarType.Float64), ("decoder", student)),
            Maps(zeros([1, 2, 4, 4], ScalarType.Float64), ("decoder", teacher)), big).Single();
        Assert.That((term.Name, term.Weight), Is.EqualTo(("ifvd", 3.0)));
        Assert.That(term.Value.item<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void AbsentClassesAreSkippedAndDegenerateCasesStayFinite()
    {
        using var scope = NewDisposeScope();
        var student = T(StudentPixels, 1, 2, 2, 2);
        var allBackground = zeros([1, 2, 2], ScalarType.Int64);
        // One class present: every pixel against the image mean (1, 0.5): cosines 2/√5, 1/√5, 3/√10, 4/√20.
        double[] expected = [2 / Math.Sqrt(5), 1 / Math.Sqrt(5), 3 / Math.Sqrt(10), 4 / Math.Sqrt(20)];
        foreach (long classes in new long[] { 1, 2, 5 })
            Assert.That(IfvdMethod.VariationMap(student, allBackground, classes).ToArray<double>(), Is.EqualTo(expected).Within(1e-12), $"{classes} classes");
        // A zero prototype (one channel, class 0 = {1, −1}) and a label outside the classes both give 0, not NaN.
        var flat = T([1, -1, 2, 3], 1, 1, 2, 2);
        Assert.That(IfvdMethod.VariationMap(flat, tensor(new long[] { 0, 0, 1, 1 }, [1, 2, 2]), 2).ToArray<double>(), Is.EqualTo(new[] { 0.0, 0, 1, 1 }));
        Assert.That(IfvdMethod.VariationMap(student, tensor(new long[] { 0, 0, 7, 1 }, [1, 2, 2]), 2).ToArray<double>()[2], Is.EqualTo(0.0));
        // Half-precision maps (autocast) are computed in float32, so the zero prototype still gives 0 rather than NaN.
        var half = IfvdMethod.VariationMap(flat.to(ScalarType.Float16), tensor(new long[] { 0, 0, 1, 1 }, [1, 2, 2]), 2);
        Assert.That((half.dtype, half.ToArray<float>()), Is.EqualTo((ScalarType.Float32, new[] { 0f, 0, 1, 1 })));
        // Gradients stay finite with an absent class and a zero prototype.
        var leaf = flat.detach().requires_grad_();
        IfvdMethod.Loss(leaf, T(StudentPixels, 1, 2, 2, 2), tensor(new long[] { 0, 0, 1, 1 }, [1, 2, 2]), 3).backward();
        Assert.That(leaf.grad!.isfinite().all().item<bool>());
    }

    [Test]
    public void IfvdMatchesALoopReferenceWithAbsentClassesAndALargerTeacher()
    {
        using var scope = NewDisposeScope();
        manual_seed(603);
        var student = randn([2, 3, 4, 4], ScalarType.Float64);
        var teacher = randn([2, 5, 4, 4], ScalarType.Float64);
        var large = randn([2, 5, 8, 8], ScalarType.Float64);
        // Three classes at 8×8; the second image has no class 2.
        var label = cat([randint(3, [1, 8, 8]), randint(2, [1, 8, 8])], 0);
        var labels = Reference.Labels(label);
        var ifvS = LoopIfv(Reference.Of(student), labels, 3);
        var ifvT = LoopIfv(Reference.Of(teacher), labels, 3);
        Assert.That(IfvdMethod.Loss(student, teacher, label, 3).item<double>(), Is.EqualTo(ifvS.Zip(ifvT, (a, b) => (a - b) * (a - b)).Average()).Within(1e-10));
        // An 8×8 teacher map: its IFV map at 8×8, then bilinear to 4×4, which for a factor of 2 is the 2×2 block mean.
        var ifvL = LoopIfv(Reference.Of(large), labels, 3);
        var pooled = new double[ifvS.Length];
        for (int n = 0; n < 2; n++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    pooled[(n * 4 + y) * 4 + x] = (ifvL[(n * 8 + 2 * y) * 8 + 2 * x] + ifvL[(n * 8 + 2 * y) * 8 + 2 * x + 1]
                        + ifvL[(n * 8 + 2 * y + 1) * 8 + 2 * x] + ifvL[(n * 8 + 2 * y + 1) * 8 + 2 * x + 1]) / 4;
        Assert.That(IfvdMethod.Loss(student, large, label, 3).item<double>(), Is.EqualTo(ifvS.Zip(pooled, (a, b) => (a - b) * (a - b)).Average()).Within(1e-10));
    }

    [Test]
    public void IfvdGradientsMatchFiniteDifferencesAndSkipTheTeacher()
    {
        using var scope = NewDisposeScope();
        manual_seed(604);
        var student = randn([2, 3, 2, 2], ScalarType.Float64);
        var teacher = randn([2, 4, 4, 4], ScalarType.Float64);
        var label = randint(3, [2, 4, 4]);
        GradCheck.Inputs(x => IfvdMethod.Loss(x[0], x[1], label, 3), [student, teacher], checkInput: [true, false]);
        var leaf = teacher.detach().requires_grad_();
        IfvdMethod.Loss(student.requires_grad_(), leaf, label, 3).backward();
        Assert.That(leaf.grad, Is.Null, "teacher features get no gradient");
        Assert.That(student.grad, Is.Not.Null);
        Assert.Throws<ArgumentException>(() => IfvdMethod.Loss(student, teacher, label.to(ScalarType.Float32), 3));
        Assert.Throws<ArgumentException>(() => IfvdMethod.Loss(student, teacher.narrow(0, 0, 1), label, 3));
    }

    // ---------------------------------------------------------------- factory on the real networks

    [Test]
    public void FactoryBuildsBothOnTheUnetTeacherAndEveryGkdStudent([Values("mobilenetv2-unet", "enet", "erfnet")] string studentName)
    {
        using var scope = NewDisposeScope();
        manual_seed(605);
        using var student = ModelRegistry.Create(studentName, new ModelOptions(1, 3, 0.25));
        using var teacher = ModelRegistry.Create("unet", new ModelOptions(1, 3, 0.125));
        teacher.eval();
        var image = randn(2, 1, 32, 32);
        var label = randint(3, [2, 32, 32]);
        foreach (var name in new[] { "fsp", "ifvd" })
        {
            using var method = DistillationMethods.Create(name, null, student, teacher);
            var s = student.forward_features(image, method.StudentTaps.ToArray());
            // Gradients on for the teacher: only the method's detaching keeps its parameters' gradients empty.
            var t = teacher.forward_features(image, method.TeacherTaps.ToArray());
            var terms = method.Compute(s, t, label);
            Assert.That(terms.Select(x => x.Name), Is.EqualTo(new[] { name }));
            Assert.That(double.IsFinite(terms[0].Value.item<float>()), name);
            LossTerms.Total(terms).backward();
            Assert.That(teacher.parameters().All(p => p.grad is null), $"{name}: no teacher gradient");
            Assert.That(student.parameters().Any(p => p.grad is not null), name);
            foreach (var p in method.TrainableParameters()) Assert.That(p.grad, Is.Not.Null, name);
            student.zero_grad();
        }
        // unet at 0.125: encoder 128 channels, decoder 8; the students' encoder widths differ, so pair1_first adapts.
        using var fsp = (FspMethod)DistillationMethods.Create("fsp", null, student, teacher);
        Assert.That(fsp.Adapter(0, true)!.weight!.size(0), Is.EqualTo(128));
        if (studentName == "mobilenetv2-unet") Assert.That(fsp.Adapter(0, false), Is.Null, "decoder widths 8 and 8 match");
        Assert.Throws<ArgumentException>(() => DistillationMethods.Create("ifvd", new() { Ifvd = new() { StudentTap = "enc1" } }, student, teacher));
    }

    // ---------------------------------------------------------------- loop references

    /// <summary>G entries (n, i, j) of two maps, the larger pooled to the smaller by whole blocks.</summary>
    private static double[] LoopFsp(Reference.Map a, Reference.Map b)
    {
        int h = Math.Min(a.H, b.H), w = Math.Min(a.W, b.W);
        double Pooled(Reference.Map m, int n, int c, int y, int x)
        {
            int bh = m.H / h, bw = m.W / w;
            double sum = 0;
            for (int dy = 0; dy < bh; dy++)
                for (int dx = 0; dx < bw; dx++) sum += m[n, c, y * bh + dy, x * bw + dx];
            return sum / (bh * bw);
        }
        var g = new List<double>();
        for (int n = 0; n < a.N; n++)
            for (int i = 0; i < a.C; i++)
                for (int j = 0; j < b.C; j++)
                {
                    double sum = 0;
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++) sum += Pooled(a, n, i, y, x) * Pooled(b, n, j, y, x);
                    g.Add(sum / (h * w));
                }
        return [.. g];
    }

    /// <summary>IFV values (n, y, x) of a map, the label sampled at the top-left of each block; absent classes skipped.</summary>
    private static double[] LoopIfv(Reference.Map m, long[,,] label, int classes)
    {
        int step = label.GetLength(1) / m.H;
        var result = new double[m.N * m.H * m.W];
        for (int n = 0; n < m.N; n++)
        {
            long LabelAt(int y, int x) => label[n, y * step, x * step];
            var prototypes = new double[classes][];
            for (int k = 0; k < classes; k++)
            {
                var pixels = Enumerable.Range(0, m.H * m.W).Where(i => LabelAt(i / m.W, i % m.W) == k).ToList();
                if (pixels.Count == 0) continue;
                prototypes[k] = Enumerable.Range(0, m.C).Select(c => pixels.Average(i => m[n, c, i / m.W, i % m.W])).ToArray();
            }
            for (int y = 0; y < m.H; y++)
                for (int x = 0; x < m.W; x++)
                {
                    var f = m.Pixel(n, y, x);
                    var p = prototypes[LabelAt(y, x)];
                    double dot = f.Zip(p, (u, v) => u * v).Sum();
                    double norms = Math.Max(Math.Sqrt(f.Sum(u => u * u)), 1e-8) * Math.Max(Math.Sqrt(p.Sum(v => v * v)), 1e-8);
                    result[(n * m.H + y) * m.W + x] = dot / norms;
                }
        }
        return result;
    }
}

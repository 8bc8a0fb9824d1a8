using MedDistill.Distillation.Baselines;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

/// <summary>The baselines' losses: values worked out by hand, loop references, float64 finite-difference gradients.</summary>
public class BaselineLossTests
{
    private static Tensor T(double[] values, params long[] shape) => tensor(values, shape);

    [Test]
    public void KdByHand()
    {
        using var scope = NewDisposeScope();
        // τ = 4: teacher (4 ln 3, 0)/τ gives p_t = (3/4, 1/4); the student's (0, 0) gives (1/2, 1/2).
        var student = T([0, 0], 1, 2, 1, 1);
        var teacher = T([4 * Math.Log(3), 0], 1, 2, 1, 1);
        using var method = new KdMethod();
        var terms = method.Compute(new FeatureMaps(student, new Dictionary<string, Tensor>()), new FeatureMaps(teacher, new Dictionary<string, Tensor>()), null!);
        double kl = 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5);
        Assert.That(terms.Single().Name, Is.EqualTo("kd"));
        Assert.That(terms[0].Value.item<double>(), Is.EqualTo(16 * kl).Within(1e-12));
    }

    [Test]
    public void AttentionTransferByHand()
    {
        using var scope = NewDisposeScope();
        // Student Σ_c F² = (2, 1) → (2, 1)/√5; teacher (1, 1) → (1, 1)/√2; ‖a_s − a_t‖² = 2 − 2·3/√10.
        var student = T([1, 1, 1, 0], 1, 2, 1, 2);
        var teacher = T([1, -1], 1, 1, 1, 2);
        Assert.That(BaselineLosses.AttentionTransfer(student, teacher).item<double>(), Is.EqualTo(2 - 6 / Math.Sqrt(10)).Within(1e-12));
        // Orthogonal maps: distance² 2; two samples average.
        var s2 = T([1, 0, 0, 1, 1, 0], 2, 1, 1, 3);
        var t2 = T([0, 0, 3, 1, 1, 0], 2, 1, 1, 3);
        Assert.That(BaselineLosses.AttentionTransfer(s2, t2).item<double>(), Is.EqualTo((2 + 0) / 2.0).Within(1e-12));
    }

    [Test]
    public void PairwiseByHand()
    {
        using var scope = NewDisposeScope();
        // Student nodes (1,0), (0,1), (1,1), (1,0) (a 2×2 map, grid 2 pools nothing); the 1-channel positive teacher has all
        // cosines 1. Off-diagonal pairs: two at cos 0, three at 1/√2, one at 1, each counted twice, over 16 entries.
        var student = T([1, 0, 1, 1, 0, 1, 1, 0], 1, 2, 2, 2);
        var teacher = T([1, 2, 3, 4], 1, 1, 2, 2);
        double d = 1 - 1 / Math.Sqrt(2);
        Assert.That(BaselineLosses.PairwiseSimilarity(student, teacher, 2).item<double>(), Is.EqualTo((4 + 6 * d * d) / 16).Within(1e-12));
        // One node: both similarity matrices are [1].
        Assert.That(BaselineLosses.PairwiseSimilarity(student, teacher, 1).item<double>(), Is.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void ChannelWiseByHand()
    {
        using var scope = NewDisposeScope();
        // One channel over two positions, τ = 2: teacher (2 ln 3, 0)/2 → (3/4, 1/4), student (0, 0) → (1/2, 1/2).
        var student = T([0, 0], 1, 1, 1, 2);
        var teacher = T([2 * Math.Log(3), 0], 1, 1, 1, 2);
        double kl = 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5);
        Assert.That(BaselineLosses.ChannelWise(student, teacher, 2).item<double>(), Is.EqualTo(4 * kl).Within(1e-12));
        // A second, identical channel adds no KL but doubles the N·C divisor.
        var s2 = T([0, 0, 5, 1], 1, 2, 1, 2);
        var t2 = T([2 * Math.Log(3), 0, 5, 1], 1, 2, 1, 2);
        Assert.That(BaselineLosses.ChannelWise(s2, t2, 2).item<double>(), Is.EqualTo(2 * kl).Within(1e-12));
    }

    [Test]
    public void LossesMatchLoopReferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(501);
        var s = randn([2, 3, 4, 4], ScalarType.Float64);
        var t = randn([2, 5, 4, 4], ScalarType.Float64);
        var t3 = randn([2, 3, 4, 4], ScalarType.Float64);
        var (ms, mt, mt3) = (Reference.Of(s), Reference.Of(t), Reference.Of(t3));
        Assert.That(BaselineLosses.AttentionTransfer(s, t).item<double>(), Is.EqualTo(LoopAttention(ms, mt, 2)).Within(1e-10));
        Assert.That(BaselineLosses.AttentionTransfer(s, t, 3).item<double>(), Is.EqualTo(LoopAttention(ms, mt, 3)).Within(1e-10));
        foreach (int grid in new[] { 1, 2, 4 })
            Assert.That(BaselineLosses.PairwiseSimilarity(s, t, grid).item<double>(), Is.EqualTo(LoopPairwise(ms, mt, grid)).Within(1e-10), $"grid {grid}");
        Assert.That(BaselineLosses.ChannelWise(s, t3, 4).item<double>(), Is.EqualTo(LoopChannelWise(ms, mt3, 4)).Within(1e-10));
        using var kd = new KdMethod(new KdOptions { Temperature = 3 });
        var kdValue = kd.Compute(new FeatureMaps(s, new Dictionary<string, Tensor>()), new FeatureMaps(t3, new Dictionary<string, Tensor>()), null!)[0].Value;
        Assert.That(kdValue.item<double>(), Is.EqualTo(Reference.LogitsKl(ms, mt3, 3, studentFirst: false)).Within(1e-10));
    }

    [Test]
    public void GradientsMatchFiniteDifferencesAndSkipTheTeacher()
    {
        using var scope = NewDisposeScope();
        manual_seed(502);
        var s = randn([2, 3, 4, 4], ScalarType.Float64);
        var t = randn([2, 2, 2, 2], ScalarType.Float64);
        var t3 = randn([2, 3, 2, 2], ScalarType.Float64);
        // Teachers of another size and width: AT resizes the student's attention, CWD the teacher's logits.
        GradCheck.Inputs(x => BaselineLosses.AttentionTransfer(x[0], x[1]), [s, t], checkInput: [true, false]);
        GradCheck.Inputs(x => BaselineLosses.AttentionTransfer(x[0], x[1], 3, CommonSize.Student), [s, t], checkInput: [true, false]);
        GradCheck.Inputs(x => BaselineLosses.PairwiseSimilarity(x[0], x[1], 2), [s, t], checkInput: [true, false]);
        GradCheck.Inputs(x => BaselineLosses.ChannelWise(x[0], x[1], 4), [s, t3], checkInput: [true, false]);
        using var kd = new KdMethod();
        GradCheck.Inputs(x => kd.Compute(new FeatureMaps(x[0], new Dictionary<string, Tensor>()), new FeatureMaps(x[1], new Dictionary<string, Tensor>()), null!)[0].Value,
            [s, t3], checkInput: [true, false]);

        var leaf = t.detach().requires_grad_();
        var leaf3 = t3.detach().requires_grad_();
        var total = BaselineLosses.AttentionTransfer(s.requires_grad_(), leaf).add(BaselineLosses.PairwiseSimilarity(s, leaf, 2))
            .add(BaselineLosses.ChannelWise(s, leaf3, 4));
        total.backward();
        Assert.That(leaf.grad, Is.Null, "teacher features get no gradient");
        Assert.That(leaf3.grad, Is.Null, "teacher logits get no gradient");
        Assert.That(s.grad, Is.Not.Null);
    }

    [Test]
    public void HintGradientsReachFeaturesAndAdapterOnly()
    {
        using var scope = NewDisposeScope();
        manual_seed(503);
        using var adapters = new BaselineAdapters([("hint", 3, 2)], dtype: ScalarType.Float64);
        var features = randn([2, 3, 2, 2], ScalarType.Float64);
        var target = randn([2, 2, 4, 4], ScalarType.Float64);
        GradCheck.Inputs(x => BaselineLosses.Hint(adapters["hint"], x[0], x[1]), [features, target], checkInput: [true, false]);
        GradCheck.Parameters(() => BaselineLosses.Hint(adapters["hint"], features, target), adapters.parameters());
        // By hand: an identity adapter without resize is the mean squared error.
        using var identity = new BaselineAdapters([("h", 1, 1)], bias: false, dtype: ScalarType.Float64);
        using (no_grad()) identity["h"].weight!.fill_(1.0);
        Assert.That(BaselineLosses.Hint(identity["h"], T([1, 2], 1, 1, 1, 2), T([0, 0], 1, 1, 1, 2)).item<double>(), Is.EqualTo(2.5).Within(1e-12));
        var leaf = target.detach().requires_grad_();
        BaselineLosses.Hint(adapters["hint"], features, leaf).backward();
        Assert.That(leaf.grad, Is.Null);
    }

    [Test]
    public void BadShapesAreErrors()
    {
        using var scope = NewDisposeScope();
        var a = zeros([2, 3, 4, 4], ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => BaselineLosses.AttentionTransfer(a, zeros([1, 3, 4, 4], ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => BaselineLosses.ChannelWise(a, zeros([2, 2, 4, 4], ScalarType.Float64), 4));
        Assert.Throws<ArgumentException>(() => BaselineLosses.PairwiseSimilarity(a, a, 0));
        Assert.Throws<ArgumentException>(() => BaselineLosses.PairwiseSimilarity(a.flatten(2), a, 2));
    }

    // ---- loop references (same-size maps; pooling blocks divide the map) ----

    private static double[] Normalised(double[] v)
    {
        double norm = Math.Max(Math.Sqrt(v.Sum(x => x * x)), 1e-12);
        return v.Select(x => x / norm).ToArray();
    }

    private static double LoopAttention(Reference.Map s, Reference.Map t, double p)
    {
        double total = 0;
        for (int n = 0; n < s.N; n++)
        {
            double[] Att(Reference.Map m) => Normalised(Enumerable.Range(0, m.H * m.W)
                .Select(k => Enumerable.Range(0, m.C).Sum(c => Math.Pow(Math.Abs(m[n, c, k / m.W, k % m.W]), p))).ToArray());
            var (a, b) = (Att(s), Att(t));
            total += a.Zip(b, (x, y) => (x - y) * (x - y)).Sum();
        }
        return total / s.N;
    }

    private static double LoopPairwise(Reference.Map s, Reference.Map t, int grid)
    {
        double total = 0;
        for (int n = 0; n < s.N; n++)
        {
            var (a, b) = (Cosines(s, n, grid), Cosines(t, n, grid));
            for (int i = 0; i < a.GetLength(0); i++)
                for (int j = 0; j < a.GetLength(1); j++)
                    total += (a[i, j] - b[i, j]) * (a[i, j] - b[i, j]);
        }
        return total / (s.N * Math.Pow(grid, 4));
    }

    private static double[,] Cosines(Reference.Map m, int n, int grid)
    {
        int bh = m.H / grid, bw = m.W / grid;
        var nodes = new double[grid * grid][];
        for (int gy = 0; gy < grid; gy++)
            for (int gx = 0; gx < grid; gx++)
            {
                var v = new double[m.C];
                for (int c = 0; c < m.C; c++)
                    for (int y = 0; y < bh; y++)
                        for (int x = 0; x < bw; x++)
                            v[c] += m[n, c, gy * bh + y, gx * bw + x] / (bh * bw);
                nodes[gy * grid + gx] = Normalised(v);
            }
        var result = new double[nodes.Length, nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
            for (int j = 0; j < nodes.Length; j++)
                result[i, j] = nodes[i].Zip(nodes[j], (x, y) => x * y).Sum();
        return result;
    }

    private static double LoopChannelWise(Reference.Map s, Reference.Map t, double tau)
    {
        double total = 0;
        for (int n = 0; n < s.N; n++)
            for (int c = 0; c < s.C; c++)
            {
                double[] Row(Reference.Map m) => Enumerable.Range(0, m.H * m.W).Select(k => m[n, c, k / m.W, k % m.W]).ToArray();
                total += Reference.Kl(Reference.Softmax(Row(t), tau), Reference.Softmax(Row(s), tau));
            }
        return tau * tau * total / (s.N * s.C);
    }
}

using MedDistill.Distillation.Gkd;

namespace MedDistill.Distillation.Tests;

/// <summary>
/// GKD's losses against plain double loops on hand-made inputs, their gradients against finite differences (float64), the
/// MSAN header's shapes and gradients, the augmentation and the terms' spelling.
/// </summary>
public class GkdLossTests
{
    private static readonly double[,] AnchorsS = { { 1, 0, 0.5 }, { -0.2, 1, 0 } };
    private static readonly double[,] AnchorsT = { { 0.8, 0.1, 0.4 }, { 0, 1, 0.3 } };
    private static readonly double[,] ViewsS = { { 1, 0.2, 0.4 }, { 0, 1, 0.1 }, { 0.9, -0.1, 0.6 }, { -0.3, 0.8, 0 } };
    private static readonly double[,] ViewsT = { { 0.7, 0.3, 0.5 }, { 0.1, 0.9, 0.2 }, { 1, 0, 0.3 }, { -0.1, 1, -0.2 } };

    private static Tensor T(double[,] a) => tensor(a.Cast<double>().ToArray(), a.GetLength(0), a.GetLength(1));

    private static double[] Unit(double[,] a, int row)
    {
        int d = a.GetLength(1);
        double norm = Math.Sqrt(Enumerable.Range(0, d).Sum(k => a[row, k] * a[row, k]));
        return Enumerable.Range(0, d).Select(k => a[row, k] / norm).ToArray();
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b).Sum(p => p.First * p.Second);

    /// <summary>KL(softmax(t) ‖ softmax(s)) of one row of logits.</summary>
    private static double RowKl(double[] t, double[] s)
    {
        double zt = t.Sum(Math.Exp), zs = s.Sum(Math.Exp);
        return t.Select((v, j) => Math.Exp(v) / zt * (v - Math.Log(zt) - (s[j] - Math.Log(zs)))).Sum();
    }

    private static double GraphReference(double[,] rowsS, double[,] colsS, double[,] rowsT, double[,] colsT, double tau, bool skipSelf)
    {
        int n = rowsS.GetLength(0), m = colsS.GetLength(0);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var cols = Enumerable.Range(0, m).Where(j => !skipSelf || j != i).ToArray();
            var s = cols.Select(j => Dot(Unit(rowsS, i), Unit(colsS, j)) / tau).ToArray();
            var t = cols.Select(j => Dot(Unit(rowsT, i), Unit(colsT, j)) / tau).ToArray();
            total += RowKl(t, s);
        }
        return total / n;
    }

    [Test]
    public void GraphKlMatchesDoubleLoops([Values(0.1, 0.5)] double tau)
    {
        using var scope = NewDisposeScope();
        double intra = GkdLosses.IntraGraph(T(AnchorsS), T(ViewsS), T(AnchorsT), T(ViewsT), tau).item<double>();
        Assert.That(intra, Is.EqualTo(GraphReference(AnchorsS, ViewsS, AnchorsT, ViewsT, tau, skipSelf: false)).Within(1e-12));
        double inter = GkdLosses.InterGraph(T(ViewsS), T(ViewsT), tau).item<double>();
        Assert.That(inter, Is.EqualTo(GraphReference(ViewsS, ViewsS, ViewsT, ViewsT, tau, skipSelf: true)).Within(1e-12));
        Assert.That(intra, Is.GreaterThan(0));
        // Equal graphs (the vectors may differ in length: only directions count) give zero.
        Assert.That(GkdLosses.InterGraph(T(ViewsS), T(ViewsS).mul(3), tau).item<double>(), Is.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void CrossKlAndHardMatchDoubleLoops([Values(1.0, 2.0)] double temperature)
    {
        using var scope = NewDisposeScope();
        // (N=1, K=2, H=1, W=3) logits.
        double[][] cross = [[0.5, -1, 2], [0, 0.3, -0.4]];
        double[][] teacher = [[1, 0.2, -1], [-0.5, 0.8, 0.1]];
        var c = tensor(cross.SelectMany(r => r).ToArray(), 1, 2, 1, 3);
        var t = tensor(teacher.SelectMany(r => r).ToArray(), 1, 2, 1, 3);
        double kl = 0, ce = 0;
        for (int p = 0; p < 3; p++)
        {
            kl += RowKl([teacher[0][p] / temperature, teacher[1][p] / temperature], [cross[0][p] / temperature, cross[1][p] / temperature]);
            int target = teacher[1][p] > teacher[0][p] ? 1 : 0;
            ce += Math.Log(Math.Exp(cross[0][p]) + Math.Exp(cross[1][p])) - cross[target][p];
        }
        Assert.That(GkdLosses.CrossKl(c, t, temperature).item<double>(), Is.EqualTo(kl / 3 * temperature * temperature).Within(1e-12));
        Assert.That(GkdLosses.CrossHard(c, t).item<double>(), Is.EqualTo(ce / 3).Within(1e-12));
        Assert.That(GkdLosses.CrossKl(t, t, temperature).item<double>(), Is.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void ActIsTheSumOfItsMeanSquaredErrors()
    {
        using var scope = NewDisposeScope();
        var rt = tensor(new double[] { 1, 2, 3, 4 }, 1, 1, 2, 2);
        var ft = tensor(new double[] { 1, 1, 1, 1 }, 1, 1, 2, 2);   // MSE (0 + 1 + 4 + 9) / 4 = 3.5
        var rs = tensor(new double[] { 0, 0 }, 1, 2, 1, 1);
        var fs = tensor(new double[] { 1, -3 }, 1, 2, 1, 1);         // MSE (1 + 9) / 2 = 5
        var vs = tensor(new double[] { 0, 1, 2 }, 1, 3);
        var vt = tensor(new double[] { 1, 1, 0 }, 1, 3);             // MSE (1 + 0 + 4) / 3 = 5/3
        Assert.That(GkdLosses.Act(rt, ft, rs, fs, vs, vt, 0.6).item<double>(), Is.EqualTo(3.5 + 5 + 0.6 * 5.0 / 3).Within(1e-12));
        Assert.That(() => GkdLosses.Act(rt, fs, rs, fs, vs, vt, 1), Throws.ArgumentException.With.Message.Contain("teacher reconstruction"));
    }

    [Test]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(81);
        GradCheck.Inputs(x => GkdLosses.IntraGraph(x[0], x[1], x[2], x[3], 0.3), [T(AnchorsS), T(ViewsS), T(AnchorsT), T(ViewsT)],
            checkInput: [true, true, false, false]);
        GradCheck.Inputs(x => GkdLosses.InterGraph(x[0], x[1], 0.3), [T(ViewsS), T(ViewsT)], checkInput: [true, false]);
        var cross = randn([2, 3, 2, 2], ScalarType.Float64);
        var teacher = randn([2, 3, 2, 2], ScalarType.Float64);
        GradCheck.Inputs(x => GkdLosses.CrossKl(x[0], x[1], 2.0), [cross, teacher], checkInput: [true, false]);
        GradCheck.Inputs(x => GkdLosses.CrossHard(x[0], x[1]), [cross, teacher], checkInput: [true, false]);
        var map = randn([2, 3, 2, 2], ScalarType.Float64);
        var v = randn([2, 4], ScalarType.Float64);
        GradCheck.Inputs(x => GkdLosses.Act(x[0], x[1], x[2], x[3], x[4], x[5], 0.7), [map, randn_like(map), map.mul(0.5), randn_like(map), v, randn_like(v)],
            checkInput: [true, false, true, false, true, false]);
    }

    [Test]
    public void TeacherSidesGetNoGradient()
    {
        using var scope = NewDisposeScope();
        var at = T(AnchorsT).requires_grad_();
        var vt = T(ViewsT).requires_grad_();
        var zt = randn([1, 2, 2, 2], ScalarType.Float64).requires_grad_();
        GkdLosses.IntraGraph(T(AnchorsS).requires_grad_(), T(ViewsS), at, vt, 0.1)
            .add(GkdLosses.InterGraph(T(ViewsS).requires_grad_(), vt, 0.1))
            .add(GkdLosses.CrossKl(randn([1, 2, 2, 2], ScalarType.Float64).requires_grad_(), zt, 1)).backward();
        Assert.That(at.grad, Is.Null);
        Assert.That(vt.grad, Is.Null);
        Assert.That(zt.grad, Is.Null);
    }

    [Test]
    public void InterGraphNeedsTwoViews()
    {
        using var scope = NewDisposeScope();
        var one = tensor(new double[] { 1, 2 }, 1, 2);
        Assert.That(() => GkdLosses.InterGraph(one, one, 0.1), Throws.ArgumentException.With.Message.Contain("at least 2 view vectors"));
    }

    [Test]
    public void HeaderShapesAndGradients()
    {
        using var scope = NewDisposeScope();
        manual_seed(82);
        using var header = new MsanHeader(5, semanticDim: 3, grid: 2, hidden: 4, dtype: ScalarType.Float64);
        var features = randn([2, 5, 6, 4], ScalarType.Float64);
        var v = header.Align(features);
        Assert.That(v.shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(header.Restore(v, 6, 4).shape, Is.EqualTo(new long[] { 2, 5, 6, 4 }));
        Assert.That(() => header.Align(randn([2, 4, 6, 4], ScalarType.Float64)), Throws.ArgumentException.With.Message.Contain("built for 5 channels"));
        Assert.That(() => header.Restore(randn([2, 4], ScalarType.Float64), 6, 4), Throws.ArgumentException.With.Message.Contain("(N, 3)"));
        var w = randn([2, 5, 6, 4], ScalarType.Float64);
        Tensor RoundTrip(Tensor x) => header.Restore(header.Align(x), 6, 4).mul(w).sum();
        GradCheck.Inputs(x => RoundTrip(x[0]), [features]);
        GradCheck.Parameters(() => RoundTrip(features), header.parameters());
        // Frozen: the same values, the gradient passes to the input, none to the weights.
        foreach (var p in header.parameters()) p.grad = null;
        var input = features.detach().requires_grad_();
        var frozen = header.Restore(header.Align(input, frozen: true), 6, 4, frozen: true);
        Assert.That(frozen.detach().ToArray<double>(), Is.EqualTo(header.Restore(header.Align(features), 6, 4).detach().ToArray<double>()));
        frozen.mul(w).sum().backward();
        Assert.That(input.grad, Is.Not.Null);
        Assert.That(header.parameters().All(p => p.grad is null));
    }

    [Test]
    public void AugmentationIsPhotometricSeededAndPerImage()
    {
        using var scope = NewDisposeScope();
        manual_seed(83);
        var images = randn([3, 1, 8, 8]);
        var augmentation = new GkdOptions().Augmentation;
        manual_seed(5);
        var a = augmentation.Views(images, 2);
        manual_seed(5);
        var b = augmentation.Views(images, 2);
        Assert.That(a.shape, Is.EqualTo(new long[] { 6, 1, 8, 8 }));
        Assert.That(a.ToArray<float>(), Is.EqualTo(b.ToArray<float>()), "same seed, same views");
        Assert.That(a.narrow(0, 0, 3).ToArray<float>(), Is.Not.EqualTo(a.narrow(0, 3, 3).ToArray<float>()), "two views of an image differ");
        // Identity ranges leave the image unchanged (up to the min–max round trip).
        var identity = new PhotometricAugmentation(1, 1, 0, 0, 0).Apply(images);
        Assert.That(identity.sub(images).abs().max().item<float>(), Is.LessThan(1e-5f));
        // Geometry is kept: pixel order is preserved by a monotone intensity change without noise.
        var precise = images.to(ScalarType.Float64);
        var monotone = new PhotometricAugmentation(0.5, 2, 0.3, 0.2, 0).Apply(precise);
        var x = precise.flatten(1).argsort(1).ToArray<long>();
        var y = monotone.flatten(1).argsort(1).ToArray<long>();
        Assert.That(y, Is.EqualTo(x));
    }

    [Test]
    public void TermsParseAndFormat()
    {
        foreach (var row in new[] { "intra", "inter", "cross", "intra+inter", "intra+inter+cross" })
            Assert.That(GkdTermNames.Format(GkdTermNames.Parse(row)), Is.EqualTo(row));
        Assert.That(GkdTermNames.Parse("CROSS + intra"), Is.EqualTo(GkdTerms.Intra | GkdTerms.Cross));
        Assert.That(GkdTermNames.Parse("all"), Is.EqualTo(GkdTerms.All));
        Assert.That(GkdTermNames.Format(GkdTerms.Inter | GkdTerms.Cross), Is.EqualTo("inter+cross"));
        Assert.That(GkdTermNames.Returned(GkdTerms.Cross | GkdTerms.Intra), Is.EqualTo(new[] { "intra", "cross", "act" }));
        Assert.That(() => GkdTermNames.Parse("intra+kd"), Throws.TypeOf<FormatException>().With.Message.Contain("unknown GKD term 'kd'").And.Message.Contain("intra, inter, cross"));
        Assert.That(() => GkdTermNames.Parse("act"), Throws.TypeOf<FormatException>().With.Message.Contain("act always runs"));
        Assert.That(() => GkdTermNames.Parse("inter+inter"), Throws.TypeOf<FormatException>().With.Message.Contain("repeated"));
        Assert.That(() => GkdTermNames.Parse(""), Throws.TypeOf<FormatException>());
        Assert.That(() => new GkdOptions { Terms = GkdTerms.None }.Validate(), Throws.ArgumentException);
        Assert.That(() => new GkdOptions { Views = 0 }.Validate(), Throws.ArgumentException.With.Message.Contain("Views"));
        Assert.That(() => new GkdOptions { GammaMin = 2, GammaMax = 1 }.Validate(), Throws.ArgumentException.With.Message.Contain("GammaMin"));
        Assert.That(() => new GkdOptions { Tau = 0 }.Validate(), Throws.ArgumentException.With.Message.Contain("Tau"));
    }
}

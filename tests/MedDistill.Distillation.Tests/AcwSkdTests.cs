using MedDistill.Distillation.AcwSkd;
using static MedDistill.Distillation.Tests.Reference;

namespace MedDistill.Distillation.Tests;

/// <summary>ACW-SKD's terms against values worked out by hand on 2×2 maps and against plain-loop references.</summary>
public class AcwSkdTests
{
    private static Tensor T(double[] data, params long[] shape) => tensor(data, shape);

    [Test]
    public void MasksAreProbabilitiesOrOneHot()
    {
        using var scope = NewDisposeScope();
        // Two classes, pixels with logits (0, 0), (0, ln 3), (ln 3, 0), (0, 2): class-1 probabilities ½, ¾, ¼, σ(2).
        var logits = T([0, 0, Math.Log(3), 0, /* class 1 */ 0, Math.Log(3), 0, 2], 1, 2, 2, 2);
        double s2 = 1 / (1 + Math.Exp(-2));
        Assert.That(AcwSkdLosses.ClassMasks(logits, 2, 2).ToArray<double>(),
            Is.EqualTo(new[] { 0.5, 0.25, 0.75, 1 - s2, 0.5, 0.75, 0.25, s2 }).Within(1e-12));
        // Hard: argmax, ties (pixel 0) to the lower class.
        Assert.That(AcwSkdLosses.ClassMasks(logits, 2, 2, ClassMaskKind.Hard).ToArray<double>(), Is.EqualTo(new double[] { 1, 0, 1, 0, 0, 1, 0, 1 }));
        // A 1×1 map upsampled to 2×2 keeps its distribution everywhere; bilinear probabilities still sum to 1.
        var coarse = AcwSkdLosses.ClassMasks(T([0, Math.Log(3)], 1, 2, 1, 1), 2, 2).ToArray<double>();
        Assert.That(coarse, Is.EqualTo(new[] { 0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75 }).Within(1e-12));
        var sums = AcwSkdLosses.ClassMasks(randn([2, 3, 3, 3], ScalarType.Float64), 7, 5).sum(1).ToArray<double>();
        Assert.That(sums, Is.All.EqualTo(1.0).Within(1e-12));
    }

    [Test]
    public void PrototypesByHand()
    {
        using var scope = NewDisposeScope();
        // K = 2, C = 2, H = W = 2. Features c0 = [1, 2, 3, 4], c1 = [0, 1, 0, 1]; masks P0 = [1, ½, 0, ½], P1 = 1 − P0.
        // Both masses are 2. Class 0: c0 (1 + 1 + 0 + 2)/2 = 2, c1 (½ + ½)/2 = ½. Class 1: c0 (1 + 3 + 2)/2 = 3, c1 ½.
        var f = T([1, 2, 3, 4, 0, 1, 0, 1], 1, 2, 2, 2);
        var p = T([1, 0.5, 0, 0.5, 0, 0.5, 1, 0.5], 1, 2, 2, 2);
        var (prototypes, valid) = AcwSkdLosses.ClassPrototypes(f, p, 1e-6);
        Assert.That(prototypes.ToArray<double>(), Is.EqualTo(new[] { 2, 0.5, 3, 0.5 }.Select(v => v * 2 / (2 + 1e-6)).ToArray()).Within(1e-12));
        Assert.That(valid.ToArray<double>(), Is.EqualTo(new double[] { 1, 1 }));
        // Each class covers half the map: a threshold of ½ or more drops both (strictly greater is required).
        Assert.That(AcwSkdLosses.ClassPrototypes(f, p, 1e-6, 0.5).Valid.ToArray<double>(), Is.EqualTo(new double[] { 0, 0 }));
        // An empty hard mask gives a 0 prototype (0/ε), not NaN, and is invalid.
        var (empty, emptyValid) = AcwSkdLosses.ClassPrototypes(f, T([1, 1, 1, 1, 0, 0, 0, 0], 1, 2, 2, 2));
        Assert.That(empty.ToArray<double>()[2..], Is.EqualTo(new double[] { 0, 0 }));
        Assert.That(emptyValid.ToArray<double>(), Is.EqualTo(new double[] { 1, 0 }));
        Assert.Throws<ArgumentException>(() => AcwSkdLosses.ClassPrototypes(f, T([1, 0], 1, 2, 1, 1)));
    }

    [Test]
    public void ClassWiseTermsByHand()
    {
        using var scope = NewDisposeScope();
        // Aux prototypes (1, 0), (1, 1): S01 = 1/√2. Target (1, 0), (0, 1): S01 = 0. Ordered pairs (0,1), (1,0): each ½.
        var aux = T([1, 0, 1, 1], 1, 2, 2);
        var target = T([1, 0, 0, 1], 1, 2, 2);
        var valid = T([1, 1], 1, 2);
        Assert.That(AcwSkdLosses.ClassRelation(aux, target, valid).item<double>(), Is.EqualTo(0.5).Within(1e-12));
        // Prototype form: class 0 parallel → 0; class 1 → 1 − 1/√2; mean over the two.
        Assert.That(AcwSkdLosses.PrototypeAlignment(aux, target, valid).item<double>(), Is.EqualTo((1 - 1 / Math.Sqrt(2)) / 2).Within(1e-12));
        // One invalid class: no pair left for the relation (0, not NaN); the alignment keeps class 0 only.
        var one = T([1, 0], 1, 2);
        Assert.That(AcwSkdLosses.ClassRelation(aux, target, one).item<double>(), Is.EqualTo(0));
        Assert.That(AcwSkdLosses.PrototypeAlignment(aux, target, T([0, 1], 1, 2)).item<double>(), Is.EqualTo(1 - 1 / Math.Sqrt(2)).Within(1e-12));
        // Relation ignores width: a 3-channel target with the same cosines gives 0.
        Assert.That(AcwSkdLosses.ClassRelation(aux, T([1, 0, 0, 1, 1, 0], 1, 2, 3), valid).item<double>(), Is.EqualTo(0).Within(1e-15));
        Assert.Throws<ArgumentException>(() => AcwSkdLosses.PrototypeAlignment(aux, T([1, 0, 0, 1, 1, 0], 1, 2, 3), valid));
    }

    [Test]
    public void ReconstructionDistancesByHand()
    {
        using var scope = NewDisposeScope();
        // Maps (1, 2, 1, 2): reconstruction pixels (1, 0), (2, 2); target pixels (1, 1), (2, 2).
        var r = T([1, 2, 0, 2], 1, 2, 1, 2);
        var t = T([1, 2, 1, 2], 1, 2, 1, 2);
        // Differences (0, 0, −1, 0): MSE ¼, L1 ¼; cosine pixel 0: (1,0)·(1,1) → 1 − 1/√2, pixel 1 parallel → 0.
        Assert.That(AcwSkdLosses.MapDistance(r, t).item<double>(), Is.EqualTo(0.25).Within(1e-12));
        Assert.That(AcwSkdLosses.MapDistance(r, t, ReconstructionDistance.L1).item<double>(), Is.EqualTo(0.25).Within(1e-12));
        Assert.That(AcwSkdLosses.MapDistance(r, t, ReconstructionDistance.Cosine).item<double>(), Is.EqualTo((1 - 1 / Math.Sqrt(2)) / 2).Within(1e-12));
        // Prototypes (1, 2, 2): class 0 (1, 3) vs (0, 1): MSE (1 + 4)/2, L1 3/2; class 1 invalid.
        var pr = T([1, 3, 9, 9], 1, 2, 2);
        var pt = T([0, 1, 0, 0], 1, 2, 2);
        var valid = T([1, 0], 1, 2);
        Assert.That(AcwSkdLosses.PrototypeDistance(pr, pt, valid).item<double>(), Is.EqualTo(2.5).Within(1e-12));
        Assert.That(AcwSkdLosses.PrototypeDistance(pr, pt, valid, ReconstructionDistance.L1).item<double>(), Is.EqualTo(1.5).Within(1e-12));
        Assert.That(AcwSkdLosses.PrototypeDistance(pr, pt, valid, ReconstructionDistance.Cosine).item<double>(),
            Is.EqualTo(1 - 3 / Math.Sqrt(10)).Within(1e-12));
    }

    [Test]
    public void LogitTermsByHand()
    {
        using var scope = NewDisposeScope();
        // Aux logits (0, ln 3) at 1×1, upsampled to a 1×2 label [1, 0]: p = (¼, ¾) at both pixels.
        var aux = T([0, Math.Log(3)], 1, 2, 1, 1);
        Assert.That(AcwSkdLosses.AuxCrossEntropy(aux, tensor(new long[] { 1, 0 }, 1, 1, 2)).item<double>(),
            Is.EqualTo(-(Math.Log(0.75) + Math.Log(0.25)) / 2).Within(1e-12));
        // τ = 2: final (0, 2 ln 3)/2 → (¼, ¾); aux (0, 0) → (½, ½). τ²·KL = 4·(¼ ln ½ + ¾ ln 3/2) at both pixels.
        var final = T([0, 0, 2 * Math.Log(3), 2 * Math.Log(3)], 1, 2, 1, 2);
        var tau = scalar_tensor(2.0, ScalarType.Float64);
        double expected = 4 * (0.25 * Math.Log(0.5) + 0.75 * Math.Log(1.5));
        Assert.That(AcwSkdLosses.TemperatureKd(T([0, 0], 1, 2, 1, 1), final, tau).item<double>(), Is.EqualTo(expected).Within(1e-12));
        Assert.That(AcwSkdLosses.TemperatureKd(final, final, tau).item<double>(), Is.EqualTo(0).Within(1e-15));
    }

    [Test]
    public void MatchLoopReference()
    {
        using var scope = NewDisposeScope();
        manual_seed(70);
        var f = randn([2, 3, 3, 4], ScalarType.Float64);
        var masks = rand([2, 4, 3, 4], ScalarType.Float64);
        var (prototypes, _) = AcwSkdLosses.ClassPrototypes(f, masks, 1e-6);
        var (fm, mm) = (Of(f), Of(masks));
        var loop = new double[2, 4, 3];
        for (int n = 0; n < 2; n++)
            for (int k = 0; k < 4; k++)
            {
                double mass = 0;
                for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) mass += mm[n, k, y, x];
                for (int c = 0; c < 3; c++)
                {
                    double s = 0;
                    for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) s += mm[n, k, y, x] * fm[n, c, y, x];
                    loop[n, k, c] = s / (mass + 1e-6);
                }
            }
        Assert.That(prototypes.ToArray<double>(), Is.EqualTo(loop.Cast<double>().ToArray()).Within(1e-12));

        // Relation with sample 1's class 2 invalid: pairs are (k, l), k ≠ l, both valid.
        var target = randn([2, 4, 5], ScalarType.Float64);
        var valid = T([1, 1, 1, 1, 1, 1, 0, 1], 2, 4);
        double Cos(double[] a, double[] b) => a.Zip(b, (u, v) => u * v).Sum() / Math.Sqrt(a.Sum(u => u * u) * b.Sum(v => v * v));
        double[] Row(Tensor p, int n, int k) => p.select(0, n).select(0, k).ToArray<double>();
        double total = 0; int count = 0;
        var v = valid.ToArray<double>();
        for (int n = 0; n < 2; n++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 4; l++)
                {
                    if (k == l || v[n * 4 + k] == 0 || v[n * 4 + l] == 0) continue;
                    double d = Cos(Row(prototypes, n, k), Row(prototypes, n, l)) - Cos(Row(target, n, k), Row(target, n, l));
                    total += d * d; count++;
                }
        Assert.That(AcwSkdLosses.ClassRelation(prototypes, target, valid).item<double>(), Is.EqualTo(total / count).Within(1e-12));

        // Temperature KD against per-pixel softmax/KL loops, aux at the final size.
        var za = randn([2, 3, 2, 3], ScalarType.Float64);
        var zf = randn([2, 3, 2, 3], ScalarType.Float64);
        var (am, fmap) = (Of(za), Of(zf));
        double kd = 0;
        for (int n = 0; n < 2; n++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++)
                    kd += Kl(Softmax(fmap.Pixel(n, y, x), 3.5), Softmax(am.Pixel(n, y, x), 3.5));
        Assert.That(AcwSkdLosses.TemperatureKd(za, zf, scalar_tensor(3.5, ScalarType.Float64)).item<double>(),
            Is.EqualTo(3.5 * 3.5 * kd / 12).Within(1e-12));
    }

    [TestCase("aux+cw+frm+at", AcwSkdTerms.All)]
    [TestCase("all", AcwSkdTerms.All)]
    [TestCase(" AT + aux ", AcwSkdTerms.Aux | AcwSkdTerms.AdversarialTemperature)]
    public void ParsesTerms(string text, AcwSkdTerms expected) => Assert.That(AcwSkdTermNames.Parse(text), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("aux+aux")]
    [TestCase("aux,cw")]
    [TestCase("kd")]
    public void RejectsBadTerms(string text) => Assert.Throws<FormatException>(() => AcwSkdTermNames.Parse(text));

    [Test]
    public void TermsRoundTripAndOptionsValidate()
    {
        for (int bits = 1; bits < 16; bits++)
            Assert.That(AcwSkdTermNames.Parse(AcwSkdTermNames.Format((AcwSkdTerms)bits)), Is.EqualTo((AcwSkdTerms)bits));
        Assert.That(AcwSkdTermNames.Format(AcwSkdTermNames.Parse("at+frm+cw+aux")), Is.EqualTo("aux+cw+frm+at"));
        new AcwSkdOptions().Validate();
        Assert.Throws<ArgumentException>(() => new AcwSkdOptions { Terms = AcwSkdTerms.None }.Validate());
        Assert.Throws<ArgumentException>(() => new AcwSkdOptions { InitialTemperature = 21 }.Validate());
        Assert.Throws<ArgumentException>(() => new AcwSkdOptions { RampFraction = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new AcwSkdOptions { ClassWiseWeight = -1 }.Validate());
        Assert.That(DistillationMethods.Names, Does.Contain("acw-skd"));
    }
}

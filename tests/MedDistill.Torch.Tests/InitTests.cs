using static MedDistill.Torch.torch.nn;

namespace MedDistill.Torch.Tests;

public class InitTests
{
    private static (double min, double max, double mean, double std) Stats(Tensor t)
    {
        var v = t.to(ScalarType.Float64).ToArray<double>();
        double mean = v.Average();
        double var = v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1);
        return (v.Min(), v.Max(), mean, Math.Sqrt(var));
    }

    [Test]
    public void GainsMatchPyTorchsTable()
    {
        Assert.That(init.calculate_gain("linear"), Is.EqualTo(1));
        Assert.That(init.calculate_gain("conv2d"), Is.EqualTo(1));
        Assert.That(init.calculate_gain("sigmoid"), Is.EqualTo(1));
        Assert.That(init.calculate_gain("tanh"), Is.EqualTo(5.0 / 3));
        Assert.That(init.calculate_gain("relu"), Is.EqualTo(Math.Sqrt(2)));
        Assert.That(init.calculate_gain("leaky_relu"), Is.EqualTo(Math.Sqrt(2 / (1 + 0.01 * 0.01))));
        Assert.That(init.calculate_gain("leaky_relu", Math.Sqrt(5)), Is.EqualTo(Math.Sqrt(1.0 / 3)).Within(1e-15));
        Assert.That(init.calculate_gain("selu"), Is.EqualTo(0.75));
        Assert.Throws<ArgumentException>(() => init.calculate_gain("swish"));
    }

    [Test]
    public void FansFollowPyTorchsConvention()
    {
        using var scope = NewDisposeScope();
        Assert.That(init.calculate_fan_in_and_fan_out(empty(16, 4, 3, 5)), Is.EqualTo((4L * 15, 16L * 15)));
        Assert.That(init.calculate_fan_in_and_fan_out(empty(7, 9)), Is.EqualTo((9L, 7L)));
        Assert.Throws<ArgumentException>(() => init.calculate_fan_in_and_fan_out(empty(5)));
    }

    [Test]
    public void KaimingUniformBoundIsGainTimesSqrtThreeOverFan()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var w = empty(400, 500);
        init.kaiming_uniform_(w); // a = 0 → gain sqrt(2), fan_in 500
        double bound = Math.Sqrt(2) * Math.Sqrt(3.0 / 500);
        var (min, max, mean, std) = Stats(w);
        Assert.That(max, Is.LessThanOrEqualTo(bound));
        Assert.That(min, Is.GreaterThanOrEqualTo(-bound));
        Assert.That(max, Is.GreaterThan(0.999 * bound));
        Assert.That(min, Is.LessThan(-0.999 * bound));
        Assert.That(std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.01 * bound / Math.Sqrt(3)));
        Assert.That(Math.Abs(mean), Is.LessThan(0.01 * bound));

        var f = empty(200, 1000);
        init.kaiming_uniform_(f, mode: "fan_out", nonlinearity: "relu");
        double fanOutBound = Math.Sqrt(2) * Math.Sqrt(3.0 / 200);
        var s = Stats(f);
        Assert.That(s.max, Is.LessThanOrEqualTo(fanOutBound).And.GreaterThan(0.999 * fanOutBound));
        Assert.Throws<ArgumentException>(() => init.kaiming_uniform_(f, mode: "fan_avg"));
    }

    [Test]
    public void KaimingNormalStdIsGainOverSqrtFan()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var w = empty(64, 32, 3, 3);
        init.kaiming_normal_(w, mode: "fan_out", nonlinearity: "relu");
        double std = Math.Sqrt(2) / Math.Sqrt(64 * 9);
        var s = Stats(w);
        Assert.That(s.std, Is.EqualTo(std).Within(0.02 * std));
        Assert.That(Math.Abs(s.mean), Is.LessThan(0.02 * std));
    }

    [Test]
    public void XavierMatchesGlorotFormulas()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var u = empty(300, 700);
        init.xavier_uniform_(u, gain: 2);
        double bound = 2 * Math.Sqrt(6.0 / 1000);
        var s = Stats(u);
        Assert.That(s.max, Is.LessThanOrEqualTo(bound).And.GreaterThan(0.999 * bound));
        Assert.That(s.min, Is.GreaterThanOrEqualTo(-bound).And.LessThan(-0.999 * bound));

        var n = empty(300, 700);
        init.xavier_normal_(n);
        double std = Math.Sqrt(2.0 / 1000);
        Assert.That(Stats(n).std, Is.EqualTo(std).Within(0.01 * std));
    }

    [Test]
    public void ConstantsAndPlainDistributions()
    {
        using var scope = NewDisposeScope();
        var t = empty(2, 3);
        Assert.That(init.constant_(t, 0.5).ToArray<float>(), Is.All.EqualTo(0.5f));
        Assert.That(init.zeros_(t).ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(init.ones_(t).ToArray<float>(), Is.All.EqualTo(1f));
        var u = init.uniform_(empty(10000), -3, -2);
        var s = Stats(u);
        Assert.That(s.min, Is.GreaterThanOrEqualTo(-3));
        Assert.That(s.max, Is.LessThan(-2));
        var n = init.normal_(empty(20000), 5, 0.5);
        var ns = Stats(n);
        Assert.That(ns.mean, Is.EqualTo(5).Within(0.02));
        Assert.That(ns.std, Is.EqualTo(0.5).Within(0.01));
    }

    [Test]
    public void SeededDrawsEqualPyTorchs()
    {
        // torch.manual_seed(0); torch.empty(3).uniform_() → tensor([0.4963, 0.7682, 0.0885]) in PyTorch.
        using var scope = NewDisposeScope();
        manual_seed(0);
        var v = init.uniform_(empty(3)).ToArray<float>();
        Assert.That(v[0], Is.EqualTo(0.4963f).Within(1e-4));
        Assert.That(v[1], Is.EqualTo(0.7682f).Within(1e-4));
        Assert.That(v[2], Is.EqualTo(0.0885f).Within(1e-4));
    }

    [Test]
    public void InitialisesLeafParametersWithoutRecordingHistory()
    {
        using var data = empty(8, 4);
        using var p = new Parameter(data);
        Assert.That(p.requires_grad, Is.True);
        init.kaiming_uniform_(p);
        init.normal_(p);
        init.zeros_(p);
        Assert.That(p.is_leaf, Is.True);
        Assert.That(p.requires_grad, Is.True);
        Assert.That(is_grad_enabled(), Is.True, "no_grad is restored");
    }
}

using MedDistill.Torch.Optim;

namespace MedDistill.Torch.Tests;

/// <summary>Schedules against their published formulas, re-derived here independently of the implementation.</summary>
public class LRSchedulerTests
{
    private const double Tol = 1e-12;

    private DisposeScope scope = null!;
    private Tensor param = null!;

    [SetUp]
    public void SetUp()
    {
        scope = NewDisposeScope();
        param = tensor(new double[] { 1, 2 }, requires_grad: true);
    }

    [TearDown]
    public void TearDown() => scope.Dispose();

    /// <summary>Smith's triangular policy: cycle = ⌊1 + it/(2s)⌋, x = |it/s − 2·cycle + 1|, lr = base + (max−base)·max(0, 1−x)·scale.</summary>
    private static (double fraction, double cycle) Triangle(int it, int stepSize)
    {
        double cycle = Math.Floor(1 + it / (2.0 * stepSize));
        double x = Math.Abs((double)it / stepSize - 2 * cycle + 1);
        return (Math.Max(0, 1 - x), cycle);
    }

    [TestCase(CyclicLR.Mode.Triangular)]
    [TestCase(CyclicLR.Mode.Triangular2)]
    [TestCase(CyclicLR.Mode.ExpRange)]
    public void CyclicLRFollowsThePaperFormula(CyclicLR.Mode mode)
    {
        const double baseLr = 0.001, maxLr = 0.006, gamma = 0.97, baseM = 0.85, maxM = 0.95;
        const int step = 7;
        using var opt = optim.SGD([param], lr: 123, momentum: 0.5);
        var sched = optim.lr_scheduler.CyclicLR(opt, baseLr, maxLr, step_size_up: step, mode: mode, gamma: gamma,
            base_momentum: baseM, max_momentum: maxM);
        for (int it = 0; it <= 60; it++)
        {
            var (fraction, cycle) = Triangle(it, step);
            double scale = mode switch
            {
                CyclicLR.Mode.Triangular => 1,
                CyclicLR.Mode.Triangular2 => 1 / Math.Pow(2, cycle - 1),
                _ => Math.Pow(gamma, it),
            };
            double expected = baseLr + (maxLr - baseLr) * fraction * scale;
            Assert.That(sched.last_epoch, Is.EqualTo(it));
            Assert.That(sched.get_last_lr()[0], Is.EqualTo(expected).Within(Tol), $"lr at iteration {it}");
            Assert.That(opt.ParamGroups[0].LearningRate, Is.EqualTo(expected).Within(Tol));
            // Momentum moves opposite to the rate: max_momentum at base_lr, base_momentum at the peak.
            Assert.That(opt.ParamGroups[0]["momentum"], Is.EqualTo(maxM - (maxM - baseM) * fraction * scale).Within(Tol), $"momentum at {it}");
            sched.step();
        }
    }

    [Test]
    public void CyclicLRStartsAtBaseLrAndPeaksAtMaxLr()
    {
        using var opt = optim.SGD([param], lr: 5, momentum: 0.1);
        var sched = optim.lr_scheduler.CyclicLR(opt, 0.1, 1.0, step_size_up: 4);
        Assert.That(opt.ParamGroups[0].LearningRate, Is.EqualTo(0.1).Within(Tol));
        Assert.That(opt.ParamGroups[0]["momentum"], Is.EqualTo(0.9).Within(Tol));
        for (int i = 0; i < 4; i++) sched.step();
        Assert.That(opt.ParamGroups[0].LearningRate, Is.EqualTo(1.0).Within(Tol));
        Assert.That(opt.ParamGroups[0]["momentum"], Is.EqualTo(0.8).Within(Tol));
        for (int i = 0; i < 4; i++) sched.step();
        Assert.That(opt.ParamGroups[0].LearningRate, Is.EqualTo(0.1).Within(Tol));
    }

    [Test]
    public void CyclicLRWithAsymmetricSteps()
    {
        const int up = 3, down = 9;
        const double lo = 0.01, hi = 0.1;
        using var opt = optim.SGD([param], lr: 1, momentum: 0.9);
        var sched = optim.lr_scheduler.CyclicLR(opt, lo, hi, step_size_up: up, step_size_down: down);
        for (int it = 0; it <= 50; it++)
        {
            int t = it % (up + down);
            double fraction = t <= up ? (double)t / up : 1 - (double)(t - up) / down;
            Assert.That(sched.get_last_lr()[0], Is.EqualTo(lo + (hi - lo) * fraction).Within(Tol), $"iteration {it}");
            Assert.That(opt.ParamGroups[0]["momentum"], Is.EqualTo(0.9 - 0.1 * fraction).Within(Tol));
            sched.step();
        }
    }

    [Test]
    public void CyclicLRCyclesAdamBeta1PerGroup()
    {
        var other = tensor(new double[] { 3 }, requires_grad: true);
        using var opt = optim.Adam([new ParamGroup([param]), new ParamGroup([other], beta2: 0.9)], lr: 1e-3);
        var sched = optim.lr_scheduler.CyclicLR(opt, [0.001, 0.01], [0.005, 0.05], step_size_up: 5,
            base_momentum: [0.8, 0.7], max_momentum: [0.9, 0.95]);
        for (int it = 0; it <= 30; it++)
        {
            var (fraction, _) = Triangle(it, 5);
            var lrs = sched.get_last_lr();
            Assert.That(lrs[0], Is.EqualTo(0.001 + 0.004 * fraction).Within(Tol));
            Assert.That(lrs[1], Is.EqualTo(0.01 + 0.04 * fraction).Within(Tol));
            Assert.That(opt.ParamGroups[0]["beta1"], Is.EqualTo(0.9 - 0.1 * fraction).Within(Tol));
            Assert.That(opt.ParamGroups[1]["beta1"], Is.EqualTo(0.95 - 0.25 * fraction).Within(Tol));
            Assert.That(opt.ParamGroups[1]["beta2"], Is.EqualTo(0.9));
            sched.step();
        }
    }

    [Test]
    public void CyclicLRCustomScaleFunctionOverIterations()
    {
        using var opt = optim.SGD([param], lr: 1);
        var sched = optim.lr_scheduler.CyclicLR(opt, 0.0, 1.0, step_size_up: 4, scale_fn: x => 1 / (1 + x),
            scale_mode: CyclicLR.ScaleMode.Iterations, cycle_momentum: false);
        for (int it = 0; it <= 20; it++)
        {
            var (fraction, _) = Triangle(it, 4);
            Assert.That(sched.get_last_lr()[0], Is.EqualTo(fraction / (1 + it)).Within(Tol));
            sched.step();
        }
        Assert.That(opt.ParamGroups[0]["momentum"], Is.EqualTo(0.0), "momentum untouched without cycle_momentum");
    }

    /// <summary>An optimizer with neither momentum nor beta1, to check CyclicLR's refusal.</summary>
    private sealed class PlainDescent(IEnumerable<Tensor> ps, double lr)
        : Optimizer([new ParamGroup(ps)], new Dictionary<string, double> { ["lr"] = lr })
    {
        protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state) => param.sub_(grad, group.LearningRate);
    }

    [Test]
    public void CyclicLRMomentumNeedsAnOptimizerWithMomentum()
    {
        using var opt = new PlainDescent([param], 0.1);
        var e = Assert.Throws<ArgumentException>(() => optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1));
        Assert.That(e!.Message, Does.Contain("cycle_momentum"));
        Assert.DoesNotThrow(() => optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, cycle_momentum: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up: 0, cycle_momentum: false));
        using var two = optim.SGD([new ParamGroup([param]), new ParamGroup([tensor(new double[] { 1 }, requires_grad: true)])], lr: 0.1);
        Assert.Throws<ArgumentException>(() => optim.lr_scheduler.CyclicLR(two, [0.1, 0.2, 0.3], [1.0]));
    }

    [Test]
    public void PolynomialLRDecaysToZero()
    {
        using var opt = optim.SGD([param], lr: 0.5);
        var sched = optim.lr_scheduler.PolynomialLR(opt, total_iters: 6, power: 2.0);
        for (int e = 0; e <= 10; e++)
        {
            double expected = 0.5 * Math.Pow(1 - Math.Min(e, 6) / 6.0, 2.0);
            Assert.That(sched.get_last_lr()[0], Is.EqualTo(expected).Within(Tol), $"epoch {e}");
            Assert.That(opt.ParamGroups[0].LearningRate, Is.EqualTo(expected).Within(Tol));
            sched.step();
        }
        // Hand values: epoch 0 = 0.5, epoch 3 = 0.5·(1/2)² = 0.125, epoch ≥ 6 = 0.
        var check = optim.SGD([tensor(new double[] { 0 }, requires_grad: true)], lr: 0.5);
        var s = optim.lr_scheduler.PolynomialLR(check, total_iters: 6, power: 2.0);
        for (int i = 0; i < 3; i++) s.step();
        Assert.That(check.ParamGroups[0].LearningRate, Is.EqualTo(0.125).Within(Tol));
    }

    [Test]
    public void CosineAnnealingLRClosedForm()
    {
        using var opt = optim.SGD([param], lr: 0.1);
        var sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max: 10, eta_min: 0.001);
        for (int e = 0; e <= 20; e++)
        {
            double expected = 0.001 + (0.1 - 0.001) * (1 + Math.Cos(Math.PI * e / 10)) / 2;
            Assert.That(sched.get_last_lr()[0], Is.EqualTo(expected).Within(Tol), $"epoch {e}");
            if (e == 5) Assert.That(expected, Is.EqualTo((0.1 + 0.001) / 2).Within(Tol));
            if (e == 10) Assert.That(sched.get_last_lr()[0], Is.EqualTo(0.001).Within(Tol));
            sched.step();
        }
    }

    [Test]
    public void StepLRDecaysEveryStepSize()
    {
        var other = tensor(new double[] { 3 }, requires_grad: true);
        using var opt = optim.SGD([new ParamGroup([param]), new ParamGroup([other], lr: 1.0)], lr: 0.1);
        var sched = optim.lr_scheduler.StepLR(opt, step_size: 3, gamma: 0.5);
        double[] expected0 = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125];
        for (int e = 0; e < expected0.Length; e++)
        {
            Assert.That(sched.get_last_lr()[0], Is.EqualTo(expected0[e]).Within(Tol), $"epoch {e}");
            Assert.That(sched.get_last_lr()[1], Is.EqualTo(expected0[e] * 10).Within(Tol));
            sched.step();
        }
        Assert.That(opt.ParamGroups[0].InitialLearningRate, Is.EqualTo(0.1));
    }

    [Test]
    public void SchedulerRateDrivesTheUpdate()
    {
        using var opt = optim.SGD([param], lr: 1.0);
        var sched = optim.lr_scheduler.StepLR(opt, step_size: 1, gamma: 0.5);
        double expected = 1;
        for (int e = 0; e < 4; e++)
        {
            param.grad = tensor(new double[] { 1, 1 });
            opt.step();
            expected -= Math.Pow(0.5, e);
            sched.step();
        }
        Assert.That(param.ToArray<double>()[0], Is.EqualTo(expected).Within(Tol));
    }

    [Test]
    public void ResumingOptimizerAndSchedulerReproducesTheRun()
    {
        using var opt = optim.SGD([param], lr: 0.1, momentum: 0.9);
        var sched = optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up: 4, step_size_down: 6, mode: CyclicLR.Mode.Triangular2);
        for (int i = 0; i < 13; i++) sched.step();
        var optState = opt.state_dict();
        var schedState = sched.state_dict();

        var q = tensor(new double[] { 1, 2 }, requires_grad: true);
        using var opt2 = optim.SGD([q], lr: 7, momentum: 0.2);
        var sched2 = optim.lr_scheduler.CyclicLR(opt2, 0.5, 0.6, step_size_up: 2);
        opt2.load_state_dict(optState);
        sched2.load_state_dict(schedState);
        Assert.That(sched2.last_epoch, Is.EqualTo(13));
        Assert.That(sched2.get_last_lr(), Is.EqualTo(sched.get_last_lr()));
        Assert.That(opt2.ParamGroups[0].LearningRate, Is.EqualTo(opt.ParamGroups[0].LearningRate));
        for (int i = 0; i < 30; i++)
        {
            sched.step();
            sched2.step();
            Assert.That(sched2.get_last_lr()[0], Is.EqualTo(sched.get_last_lr()[0]), $"step {i}");
            Assert.That(opt2.ParamGroups[0]["momentum"], Is.EqualTo(opt.ParamGroups[0]["momentum"]));
        }

        // Other schedulers round-trip too, and a foreign state dict is refused.
        var cos = optim.lr_scheduler.CosineAnnealingLR(opt, T_max: 8, eta_min: 0.01);
        for (int i = 0; i < 3; i++) cos.step();
        var cos2 = optim.lr_scheduler.CosineAnnealingLR(opt2, T_max: 100);
        cos2.load_state_dict(cos.state_dict());
        cos.step();
        cos2.step();
        Assert.That(cos2.get_last_lr()[0], Is.EqualTo(cos.get_last_lr()[0]));
        var step = optim.lr_scheduler.StepLR(opt2, 2);
        Assert.Throws<ArgumentException>(() => step.load_state_dict(cos.state_dict()));
        Assert.Throws<ArgumentException>(() => step.load_state_dict(opt.state_dict()));
    }
}

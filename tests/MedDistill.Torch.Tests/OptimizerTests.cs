using MedDistill.Torch.Optim;

namespace MedDistill.Torch.Tests;

/// <summary>
/// Optimizer updates against the documented algorithms re-computed here in plain doubles, with gradients set
/// directly so the expected trajectory is known exactly. float64 parameters keep the comparison at ~1e-12.
/// </summary>
public class OptimizerTests
{
    private const double Tol = 1e-12;

    private static Tensor Param(params double[] values) => tensor(values, requires_grad: true);

    private static void SetGrad(Tensor p, double[] g)
    {
        using var scope = NewDisposeScope();
        p.grad = tensor(g);
    }

    private static double[] Values(Tensor p) => p.ToArray<double>();

    // Gradients for three steps on a three-element parameter; signs and magnitudes vary so every term matters.
    private static readonly double[][] Grads =
    [
        [0.5, -1.5, 2.0],
        [-0.25, 0.75, 1.0],
        [1.25, 0.5, -0.5],
    ];

    private static readonly double[] Start = [1.0, -2.0, 0.5];

    /// <summary>PyTorch's SGD, element by element.</summary>
    private static double[] ReferenceSgd(double lr, double momentum, double dampening, double wd, bool nesterov, bool maximize, int steps)
    {
        var p = (double[])Start.Clone();
        var buf = new double[p.Length];
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < p.Length; i++)
            {
                double d = maximize ? -Grads[t][i] : Grads[t][i];
                d += wd * p[i];
                if (momentum != 0)
                {
                    buf[i] = t == 0 ? d : momentum * buf[i] + (1 - dampening) * d;
                    d = nesterov ? d + momentum * buf[i] : buf[i];
                }
                p[i] -= lr * d;
            }
        }
        return p;
    }

    private static double[] RunSgd(Func<Tensor, Optimizer> make, int steps)
    {
        using var p = Param(Start);
        using var opt = make(p);
        for (int t = 0; t < steps; t++)
        {
            SetGrad(p, Grads[t]);
            opt.step();
        }
        return Values(p);
    }

    [Test]
    public void PlainSgdSubtractsLearningRateTimesGradient()
    {
        var got = RunSgd(p => optim.SGD([p], lr: 0.1), 3);
        Assert.That(got, Is.EqualTo(ReferenceSgd(0.1, 0, 0, 0, false, false, 3)).Within(Tol));
        // Spelled out for the first element: 1 − 0.1·(0.5 − 0.25 + 1.25).
        Assert.That(got[0], Is.EqualTo(1 - 0.1 * 1.5).Within(Tol));
    }

    [Test]
    public void SgdMomentumWithDampeningAndWeightDecay()
    {
        var got = RunSgd(p => optim.SGD([p], lr: 0.05, momentum: 0.9, dampening: 0.3, weight_decay: 0.01), 3);
        Assert.That(got, Is.EqualTo(ReferenceSgd(0.05, 0.9, 0.3, 0.01, false, false, 3)).Within(Tol));
        // Dampening must not apply on the first step (the buffer starts as the gradient itself).
        var one = RunSgd(p => optim.SGD([p], lr: 0.05, momentum: 0.9, dampening: 0.3), 1);
        Assert.That(one[1], Is.EqualTo(-2.0 - 0.05 * -1.5).Within(Tol));
    }

    [Test]
    public void SgdNesterov()
    {
        var got = RunSgd(p => optim.SGD([p], lr: 0.05, momentum: 0.8, weight_decay: 0.1, nesterov: true), 3);
        Assert.That(got, Is.EqualTo(ReferenceSgd(0.05, 0.8, 0, 0.1, true, false, 3)).Within(Tol));
        Assert.That(got, Is.Not.EqualTo(ReferenceSgd(0.05, 0.8, 0, 0.1, false, false, 3)).Within(1e-6));
    }

    [Test]
    public void SgdMaximizeAscends()
    {
        var got = RunSgd(p => optim.SGD([p], lr: 0.1, momentum: 0.5, maximize: true), 3);
        Assert.That(got, Is.EqualTo(ReferenceSgd(0.1, 0.5, 0, 0, false, true, 3)).Within(Tol));
    }

    /// <summary>PyTorch's Adam / AdamW, element by element.</summary>
    private static double[] ReferenceAdam(double[][] grads, double lr, double b1, double b2, double eps, double wd, bool decoupled, bool amsgrad)
    {
        var p = (double[])Start.Clone();
        int n = p.Length;
        var m = new double[n];
        var v = new double[n];
        var vmax = new double[n];
        for (int t = 1; t <= grads.Length; t++)
        {
            double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
            for (int i = 0; i < n; i++)
            {
                double g = grads[t - 1][i];
                if (decoupled) p[i] *= 1 - lr * wd;
                else g += wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                vmax[i] = Math.Max(vmax[i], v[i]);
                double second = amsgrad ? vmax[i] : v[i];
                double mHat = m[i] / bc1;
                double vHat = second / bc2;
                p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
        return p;
    }

    private static double[] RunOptimizer(Func<Tensor, Optimizer> make, double[][] grads)
    {
        using var p = Param(Start);
        using var opt = make(p);
        foreach (var g in grads)
        {
            SetGrad(p, g);
            opt.step();
        }
        Assert.That(opt.StepCount(p), Is.EqualTo(grads.Length));
        return Values(p);
    }

    [Test]
    public void AdamMatchesBiasCorrectedFormula()
    {
        var got = RunOptimizer(p => optim.Adam([p], lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-3), Grads);
        Assert.That(got, Is.EqualTo(ReferenceAdam(Grads, 0.01, 0.8, 0.95, 1e-3, 0, false, false)).Within(Tol));
        // First Adam step moves each coordinate by about lr·sign(g) (bias correction makes m̂/√v̂ = ±1).
        var first = RunOptimizer(p => optim.Adam([p], lr: 0.01, eps: 1e-12), [Grads[0]]);
        Assert.That(first[1], Is.EqualTo(-2.0 + 0.01).Within(1e-9));
    }

    [Test]
    public void AdamWeightDecayIsAddedToGradient()
    {
        var got = RunOptimizer(p => optim.Adam([p], lr: 0.02, eps: 1e-8, weight_decay: 0.5), Grads);
        Assert.That(got, Is.EqualTo(ReferenceAdam(Grads, 0.02, 0.9, 0.999, 1e-8, 0.5, false, false)).Within(Tol));
        Assert.That(got, Is.Not.EqualTo(ReferenceAdam(Grads, 0.02, 0.9, 0.999, 1e-8, 0.5, true, false)).Within(1e-6));
    }

    [Test]
    public void AdamWDecaysDecoupled()
    {
        var got = RunOptimizer(p => optim.AdamW([p], lr: 0.02, beta1: 0.85, beta2: 0.99, weight_decay: 0.5), Grads);
        Assert.That(got, Is.EqualTo(ReferenceAdam(Grads, 0.02, 0.85, 0.99, 1e-8, 0.5, true, false)).Within(Tol));
        Assert.That(got, Is.Not.EqualTo(ReferenceAdam(Grads, 0.02, 0.85, 0.99, 1e-8, 0.5, false, false)).Within(1e-6));
    }

    [Test]
    public void AmsgradKeepsTheLargestSecondMoment()
    {
        // Large gradients then small ones: v falls below its running maximum, so amsgrad must differ from Adam.
        double[][] grads = [[3.0, -4.0, 2.0], [0.1, 0.2, -0.1], [0.05, -0.1, 0.2], [0.01, 0.01, 0.01]];
        var got = RunOptimizer(p => optim.Adam([p], lr: 0.05, beta1: 0.5, beta2: 0.6, amsgrad: true), grads);
        Assert.That(got, Is.EqualTo(ReferenceAdam(grads, 0.05, 0.5, 0.6, 1e-8, 0, false, true)).Within(Tol));
        Assert.That(got, Is.Not.EqualTo(ReferenceAdam(grads, 0.05, 0.5, 0.6, 1e-8, 0, false, false)).Within(1e-6));
        var w = RunOptimizer(p => optim.AdamW([p], lr: 0.05, beta1: 0.5, beta2: 0.6, weight_decay: 0.1, amsgrad: true), grads);
        Assert.That(w, Is.EqualTo(ReferenceAdam(grads, 0.05, 0.5, 0.6, 1e-8, 0.1, true, true)).Within(Tol));
    }

    [Test]
    public void Float32ParametersAreUpdatedInTheirOwnDtype()
    {
        using var scope = NewDisposeScope();
        var p = tensor(new float[] { 1f, 2f }, requires_grad: true);
        p.grad = tensor(new float[] { 0.5f, -0.5f });
        using var opt = optim.Adam([p], lr: 0.1);
        opt.step();
        Assert.That(p.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(p.ToArray<float>(), Is.EqualTo(new[] { 0.9f, 2.1f }).Within(1e-6f));
    }

    [Test]
    public void ZeroGradDropsOrZeroesGradients()
    {
        using var scope = NewDisposeScope();
        var p = Param(1, 2);
        using var opt = optim.SGD([p], lr: 0.1);
        p.grad = tensor(new double[] { 3, 4 });
        opt.zero_grad(set_to_none: false);
        Assert.That(p.grad!.ToArray<double>(), Is.EqualTo(new double[] { 0, 0 }));
        opt.zero_grad();
        Assert.That(p.grad, Is.Null);
        opt.zero_grad(); // no gradient: nothing to do, no error
    }

    [Test]
    public void ZeroGradAfterBackwardLetsGradientsAccumulateFromZero()
    {
        using var scope = NewDisposeScope();
        var p = Param(1, 2);
        using var opt = optim.SGD([p], lr: 0.1);
        (p * p).sum().backward();
        opt.zero_grad(set_to_none: false);
        (p * 3).sum().backward();
        Assert.That(p.grad!.ToArray<double>(), Is.EqualTo(new double[] { 3, 3 }));
    }

    [Test]
    public void ParametersWithoutGradientAreSkipped()
    {
        using var scope = NewDisposeScope();
        var a = Param(1, 2);
        var b = Param(5, 6);
        using var opt = optim.Adam([a, b], lr: 0.1, weight_decay: 0.1);
        a.grad = tensor(new double[] { 1, 1 });
        opt.step();
        Assert.That(Values(b), Is.EqualTo(new double[] { 5, 6 }));
        Assert.That(opt.StepCount(b), Is.EqualTo(0));
        Assert.That(opt.StepCount(a), Is.EqualTo(1));
        using var sgd = optim.SGD([b], lr: 0.1, weight_decay: 1);
        sgd.step();
        Assert.That(Values(b), Is.EqualTo(new double[] { 5, 6 }));
    }

    [Test]
    public void GradientDescentMinimisesAQuadratic()
    {
        // (p − 3)² through autograd: the ordinary training loop, no hand-set gradients.
        using var p = Param(0.0);
        using var opt = optim.SGD([p], lr: 0.1, momentum: 0.5);
        for (int i = 0; i < 100; i++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = ((p - 3) * (p - 3)).sum();
            loss.backward();
            opt.step();
        }
        Assert.That(Values(p)[0], Is.EqualTo(3.0).Within(1e-6));
        Assert.That(p.requires_grad, Is.True);
        Assert.That(p.is_leaf, Is.True);
    }

    [Test]
    public void ParamGroupsHaveTheirOwnOptions()
    {
        using var scope = NewDisposeScope();
        var a = Param(1.0);
        var b = Param(1.0);
        using var opt = optim.SGD([new ParamGroup([a]), new ParamGroup([b], lr: 0.5, momentum: 0.9)], lr: 0.1);
        Assert.That(opt.ParamGroups[0].LearningRate, Is.EqualTo(0.1));
        Assert.That(opt.ParamGroups[0]["momentum"], Is.EqualTo(0.0));
        Assert.That(opt.ParamGroups[1].LearningRate, Is.EqualTo(0.5));
        Assert.That(opt.ParamGroups[1]["momentum"], Is.EqualTo(0.9));
        for (int t = 0; t < 2; t++)
        {
            a.grad = tensor(new double[] { 1 });
            b.grad = tensor(new double[] { 1 });
            opt.step();
        }
        Assert.That(Values(a)[0], Is.EqualTo(1 - 0.1 - 0.1).Within(Tol));
        Assert.That(Values(b)[0], Is.EqualTo(1 - 0.5 - 0.5 * (0.9 + 1)).Within(Tol));

        // The learning rate is live: changing it changes the next step.
        opt.ParamGroups[0].LearningRate = 1.0;
        a.grad = tensor(new double[] { 1 });
        opt.step();
        Assert.That(Values(a)[0], Is.EqualTo(1 - 0.2 - 1.0).Within(Tol));
    }

    [Test]
    public void AddParamGroupFillsDefaults()
    {
        using var scope = NewDisposeScope();
        var a = Param(1.0);
        var b = Param(2.0);
        using var opt = optim.AdamW([a], lr: 0.01, weight_decay: 0.2);
        opt.add_param_group(new ParamGroup([b], beta1: 0.5));
        Assert.That(opt.ParamGroups[1].LearningRate, Is.EqualTo(0.01));
        Assert.That(opt.ParamGroups[1].WeightDecay, Is.EqualTo(0.2));
        Assert.That(opt.ParamGroups[1]["beta1"], Is.EqualTo(0.5));
        Assert.That(opt.ParamGroups[1]["beta2"], Is.EqualTo(0.999));
    }

    [Test]
    public void InvalidConfigurationsAreRejected()
    {
        using var scope = NewDisposeScope();
        var p = Param(1.0);
        Assert.Throws<ArgumentOutOfRangeException>(() => optim.SGD([p], lr: -1));
        Assert.Throws<ArgumentException>(() => optim.SGD([p], lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => optim.SGD([p], lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => optim.Adam([p], beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => optim.Adam([p], eps: -1));
        Assert.Throws<ArgumentException>(() => optim.SGD(Array.Empty<Tensor>(), lr: 0.1));
        Assert.Throws<ArgumentException>(() => optim.SGD([p, p], lr: 0.1));
        Assert.Throws<ArgumentException>(() => optim.SGD([new ParamGroup([p]), new ParamGroup([p])], lr: 0.1));
        // An Adam option on SGD, and a misspelt option, fail instead of being ignored.
        Assert.Throws<ArgumentException>(() => optim.SGD([new ParamGroup([p], beta1: 0.5)], lr: 0.1));
        using var opt = optim.SGD([p], lr: 0.1);
        Assert.Throws<ArgumentException>(() => opt.ParamGroups[0]["momentun"] = 0.9);
        Assert.Throws<KeyNotFoundException>(() => _ = opt.ParamGroups[0]["beta1"]);
        var nonLeaf = p * 2;
        Assert.Throws<ArgumentException>(() => optim.SGD([nonLeaf], lr: 0.1));
    }

    [Test]
    public void StepLeaksNoTensorsAndStateOutlivesScopes()
    {
        using var p = Param(1, 2, 3);
        using var opt = optim.Adam([p], lr: 0.1, weight_decay: 0.1, amsgrad: true);
        using (var scope = NewDisposeScope())
        {
            p.grad = tensor(new double[] { 1, 2, 3 });
            int before = scope.Count;
            opt.step();
            opt.step();
            opt.zero_grad(set_to_none: false);
            Assert.That(scope.Count, Is.EqualTo(before), "step must not leave tensors in the caller's scope");
        }
        // The moment buffers were created inside that (now disposed) scope; they must still be alive.
        using (var scope = NewDisposeScope())
        {
            p.grad = tensor(new double[] { 1, 2, 3 });
            Assert.DoesNotThrow(() => opt.step());
            var sd = opt.state_dict();
            Assert.That(sd["state.0.0.exp_avg"].IsInvalid, Is.False);
            Assert.That(sd["state.0.0.step"].item<long>(), Is.EqualTo(3));
        }
    }

    private static readonly double[][] LongRun =
    [
        [0.5, -1.5, 2.0], [-0.25, 0.75, 1.0], [1.25, 0.5, -0.5], [0.3, -0.2, 0.1],
        [-1.0, 0.4, 0.6], [0.7, 0.7, -0.9], [0.05, -2.0, 0.3], [0.2, 0.1, 0.0],
    ];

    private static void StateDictResumesBitForBit(Func<IEnumerable<Tensor>, Optimizer> make, Func<IEnumerable<Tensor>, Optimizer> makeOther)
    {
        using var scope = NewDisposeScope();
        // Two parameters; the second gets no gradient on odd steps, so some state is absent at the save point.
        var a1 = Param(Start);
        var a2 = Param(4.0, -1.0);
        var b1 = Param(9.0, 9.0, 9.0);
        var b2 = Param(9.0, 9.0);
        using var original = make([a1, a2]);
        using var resumed = makeOther([b1, b2]);
        Dictionary<string, Tensor>? saved = null;
        for (int t = 0; t < LongRun.Length; t++)
        {
            if (t == 3)
            {
                saved = original.state_dict();
                using (no_grad())
                {
                    b1.copy_(a1);
                    b2.copy_(a2);
                }
                resumed.load_state_dict(saved);
            }
            a1.grad = tensor(LongRun[t]);
            a2.grad = t % 2 == 0 ? tensor(new[] { LongRun[t][0], LongRun[t][2] }) : null;
            original.step();
            if (t >= 3)
            {
                b1.grad = tensor(LongRun[t]);
                b2.grad = t % 2 == 0 ? tensor(new[] { LongRun[t][0], LongRun[t][2] }) : null;
                resumed.step();
            }
        }
        Assert.That(Values(b1), Is.EqualTo(Values(a1)), "exact equality: a resumed run must be bit for bit");
        Assert.That(Values(b2), Is.EqualTo(Values(a2)));
        Assert.That(Values(a1), Is.Not.EqualTo(Start));
        // The saved dictionary is a snapshot, not a view of the live state.
        Assert.That(saved!["state.0.0.step"].item<long>(), Is.EqualTo(3));
    }

    [Test]
    public void AdamStateDictRoundTrip() =>
        StateDictResumesBitForBit(ps => optim.Adam(ps, lr: 0.03, beta1: 0.7, weight_decay: 0.05, amsgrad: true),
            ps => optim.Adam(ps, lr: 0.5, beta1: 0.1));

    [Test]
    public void AdamWStateDictRoundTrip() =>
        StateDictResumesBitForBit(ps => optim.AdamW(ps, lr: 0.03, beta2: 0.9),
            ps => optim.AdamW(ps));

    [Test]
    public void SgdStateDictRoundTrip() =>
        StateDictResumesBitForBit(ps => optim.SGD(ps, lr: 0.03, momentum: 0.9, nesterov: true, weight_decay: 0.01),
            ps => optim.SGD(ps, lr: 1.0));

    [Test]
    public void StateDictHoldsHyperParametersAndRejectsForeignLayouts()
    {
        using var scope = NewDisposeScope();
        var p = Param(1, 2);
        var q = Param(3.0);
        using var sgd = optim.SGD([new ParamGroup([p]), new ParamGroup([q], lr: 0.2)], lr: 0.1, momentum: 0.9);
        var sd = sgd.state_dict();
        Assert.That(sd["param_groups.1.lr"].item<double>(), Is.EqualTo(0.2));
        Assert.That(sd["param_groups.0.momentum"].item<double>(), Is.EqualTo(0.9));
        Assert.That(sd["param_groups.0.num_params"].item<long>(), Is.EqualTo(1));

        using var adam = optim.Adam([p, q]);
        Assert.Throws<ArgumentException>(() => adam.load_state_dict(sd));     // two groups into one
        using var sgd1 = optim.SGD([new ParamGroup([p]), new ParamGroup([q])], lr: 0.1);
        using var sgdSwapped = optim.SGD([new ParamGroup([q]), new ParamGroup([p])], lr: 0.1);
        p.grad = tensor(new double[] { 1, 1 });
        q.grad = tensor(new double[] { 1 });
        sgd.step();
        var withState = sgd.state_dict();
        Assert.Throws<ArgumentException>(() => sgdSwapped.load_state_dict(withState)); // buffer shapes do not fit
        Assert.Throws<ArgumentException>(() => adam.load_state_dict(new Dictionary<string, Tensor> { ["bogus"] = tensor(new double[] { 1 }) }));
        sgd1.load_state_dict(withState);
        Assert.That(sgd1.ParamGroups[1].LearningRate, Is.EqualTo(0.2));
        Assert.That(sgd1.ParamGroups[0]["momentum"], Is.EqualTo(0.9));
        Assert.That(sgd1.StepCount(p), Is.EqualTo(1));
    }
}

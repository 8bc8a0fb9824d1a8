using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch.nn;

namespace MedDistill.Torch.Tests;

/// <summary>
/// Module.call without gradient recording frees what the forward created, except its output, when the module returns
/// (<see cref="Module.free_intermediates_without_grad"/>). The caller's scope count tells what it still holds.
/// </summary>
[NonParallelizable]
public class NoGradIntermediatesTests
{
    /// <summary>Linear, ReLU, Linear: each child's call leaves one tensor with the Sequential, which returns the last.</summary>
    private static Sequential ThreeLayers() => Sequential(Linear(3, 4), ReLU(), Linear(4, 2));

    private bool setting;

    // Restore whatever was set before, so that a test that switches freeing off cannot hide a wrong default from the others.
    [SetUp]
    public void SaveSetting() => setting = Module.free_intermediates_without_grad;

    [TearDown]
    public void RestoreSetting() => Module.free_intermediates_without_grad = setting;

    [Test]
    public void WithoutGradOnlyTheOutputReachesTheCallersScope()
    {
        manual_seed(3);
        using var net = ThreeLayers();
        using var x = randn(5, 3);
        using var scope = NewDisposeScope();
        int before = scope.Count;
        Tensor y;
        using (no_grad()) y = net.call(x);
        Assert.That(scope.Count - before, Is.EqualTo(1), "only the output is left");
        Assert.That(y.IsInvalid, Is.False);
        Assert.That(y.shape, Is.EqualTo(new long[] { 5, 2 }));
    }

    [Test]
    public void KeepingEveryIntermediateIsStillPossible()
    {
        manual_seed(3);
        using var net = ThreeLayers();
        using var x = randn(5, 3);
        using var scope = NewDisposeScope();
        Module.free_intermediates_without_grad = false;
        int before = scope.Count;
        using (no_grad()) net.call(x);
        // The three layer outputs, as before the option existed.
        Assert.That(scope.Count - before, Is.EqualTo(3));
    }

    [Test]
    public void WithGradEveryIntermediateStays()
    {
        manual_seed(3);
        using var net = ThreeLayers();
        using var x = randn(5, 3);
        using var scope = NewDisposeScope();
        int before = scope.Count;
        net.call(x);
        Assert.That(scope.Count - before, Is.EqualTo(3), "autograd keeps them anyway: nothing changes with gradients on");
    }

    [Test]
    public void ValuesDoNotDependOnFreeing()
    {
        manual_seed(3);
        using var net = ThreeLayers();
        using var x = randn(5, 3);
        using var scope = NewDisposeScope();
        Tensor freed, kept;
        using (no_grad()) freed = net.call(x);
        Module.free_intermediates_without_grad = false;
        using (no_grad()) kept = net.call(x);
        var withGrad = net.call(x);
        Assert.That(freed.ToArray<float>(), Is.EqualTo(kept.ToArray<float>()));
        Assert.That(freed.ToArray<float>(), Is.EqualTo(withGrad.detach().ToArray<float>()));
    }

    [Test]
    public void TheOutputBelongsToTheCallersScope()
    {
        manual_seed(3);
        using var net = ThreeLayers();
        using var x = randn(5, 3);
        Tensor y;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            y = net.call(x);
            Assert.That(y.IsInvalid, Is.False);
        }
        Assert.That(y.IsInvalid, Is.True, "closing the caller's scope frees the output, so nothing leaks");
        Assert.That(x.IsInvalid, Is.False, "the input was never the module's to free");
    }

    [Test]
    public void AnInputPassedThroughKeepsItsOwner()
    {
        using var identity = Identity();
        Tensor x, y;
        using (var outer = NewDisposeScope())
        {
            x = randn(2, 2);
            using (var inner = NewDisposeScope())
            using (no_grad())
            {
                y = identity.call(x);
                Assert.That(inner.Count, Is.EqualTo(0), "the input is not moved into the caller's scope");
            }
            Assert.That(x.IsInvalid, Is.False, "closing the inner scope must not free a tensor of the outer one");
            Assert.That(y.IsInvalid, Is.False);
            Assert.That(outer.Count, Is.EqualTo(1), "the outer scope still owns the input");
        }
        Assert.That(x.IsInvalid, Is.True, "and frees it when it closes");
    }

    /// <summary>Returns its own parameter: a tensor that belongs to the module, not to any scope.</summary>
    private sealed class ReturnsWeight : Module<Tensor, Tensor>
    {
        public Parameter weight { get; }

        public ReturnsWeight()
        {
            using (var t = ones(2)) weight = new Parameter(t);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => weight;
    }

    [Test]
    public void AParameterReturnedStaysTheModules()
    {
        using var module = new ReturnsWeight();
        using (NewDisposeScope())
        using (no_grad())
            Assert.That(ReferenceEquals(module.call(zeros(1)), module.weight), Is.True);
        Assert.That(module.weight.IsInvalid, Is.False);
        Assert.That(module.weight.ToArray<float>(), Is.EqualTo(new float[] { 1, 1 }));
    }

    [Test]
    public void AHookedInnerOutputOutlivesTheOuterCall()
    {
        manual_seed(3);
        using var seq = Sequential(("conv", Conv2d(1, 2, 3, padding: 1)), ("act", ReLU()));
        using var scope = NewDisposeScope();
        var x = randn(1, 1, 4, 4);
        Tensor? seen = null;
        using (seq["conv"].register_forward_hook((_, _, output) => seen = output))
        using (no_grad())
            seq.call(x);
        // A hook may keep any module's output, so nothing is freed early while one is registered.
        Assert.That(seen!.IsInvalid, Is.False);
        using (no_grad())
            Assert.That(seen.ToArray<float>(), Is.EqualTo(((Conv2d)seq["conv"]).call(x).ToArray<float>()));
    }
}

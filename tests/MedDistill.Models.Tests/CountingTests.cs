using MedDistill.Models.Profiling;
using MedDistill.Torch.Modules;

namespace MedDistill.Models.Tests;

/// <summary>
/// The counter on small hand-built modules. Every expected figure is worked out by hand in the comment beside it from
/// the layer's shapes and the ptflops 0.6.5–0.7.0 rules (conv: k·in·out/groups per output position + out per position
/// with bias; BN: 2× input elements when affine; activations: output elements; pooling: input elements; Upsample:
/// output elements; transposed conv: counted on the output grid).
/// </summary>
public class CountingTests
{
    private static ModelCost Profile(nn.Module<Tensor, Tensor> m, long c, long h, long w)
    {
        try { return ModelProfiler.Profile(m, "toy", c, h, w); }
        finally { m.Dispose(); }
    }

    [Test]
    public void ConvWithBiasCountsOutputPositionsTimesKernelPlusBias()
    {
        // 3→8, 3×3, pad 1 on 10×10: 800 outputs × (3·9) = 21,600 MACs; bias 800.
        var cost = Profile(nn.Conv2d(3, 8, 3, padding: 1), 3, 10, 10);
        Assert.That(cost.TrueMacs, Is.EqualTo(21_600));
        Assert.That(cost.PaperMacs.ConvolutionMacs, Is.EqualTo(21_600));
        Assert.That(cost.PaperMacs.ConvolutionBias, Is.EqualTo(800));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(22_400));
        Assert.That(cost.Parameters, Is.EqualTo(8 * 3 * 9 + 8));
        Assert.That(cost.GflopsPaperConvention, Is.EqualTo(44_800 / 1e9).Within(1e-18));
    }

    [Test]
    public void DilatedStridedGroupedConvWithoutBias()
    {
        // 4→6, 3×3, stride 2, pad 2, dilation 2, groups 2 on 9×9: out = ⌊(9+4−4−1)/2⌋+1 = 5, so 6·25 = 150 outputs,
        // each (4/2)·9 = 18 MACs: 2,700. Dilation changes nothing; no bias term.
        var cost = Profile(nn.Conv2d(4, 6, 3, stride: 2, padding: 2, dilation: 2, groups: 2, bias: false), 4, 9, 9);
        Assert.That(cost.TrueMacs, Is.EqualTo(2_700));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(2_700));
        Assert.That(cost.Layers.Single().OutputShape, Is.EqualTo(new long[] { 1, 6, 5, 5 }));
    }

    [Test]
    public void DepthwiseConvCostsOneKernelPerOutput()
    {
        // Depthwise 5 channels, 3×3 on 8×8 (pad 1): 320 outputs × 9 = 2,880.
        var cost = Profile(nn.Conv2d(5, 5, 3, padding: 1, groups: 5, bias: false), 5, 8, 8);
        Assert.That(cost.TrueMacs, Is.EqualTo(2_880));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(2_880));
    }

    [Test]
    public void TransposedConvIsTrulyCountedPerInputButOnTheOutputGridInThePaperConvention()
    {
        // ConvT 4→2, 2×2, stride 2 on 5×5: 100 input elements × 2·4 = 800 true MACs.
        // ptflops: 10×10 output positions × 4·4·2 = 3,200 (4× the truth) plus bias 2·100 = 200.
        var cost = Profile(nn.ConvTranspose2d(4, 2, 2, stride: 2), 4, 5, 5);
        Assert.That(cost.TrueMacs, Is.EqualTo(800));
        Assert.That(cost.PaperMacs.ConvolutionMacs, Is.EqualTo(800));
        Assert.That(cost.PaperMacs.TransposedGridExcess, Is.EqualTo(2_400));
        Assert.That(cost.PaperMacs.ConvolutionBias, Is.EqualTo(200));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(3_400));
    }

    [Test]
    public void TransposedConvWithPaddingAndOutputPadding()
    {
        // ERFNet's upsampler: ConvT 3→2, 3×3, stride 2, pad 1, output_padding 1 on 4×4 → 8×8.
        // True: 3·16 = 48 inputs × 2·9 = 864. Grid: 64 positions × 9·3·2 = 3,456; bias 128.
        var cost = Profile(nn.ConvTranspose2d(3, 2, 3, stride: 2, padding: 1, output_padding: 1), 3, 4, 4);
        Assert.That(cost.Layers.Single().OutputShape, Is.EqualTo(new long[] { 1, 2, 8, 8 }));
        Assert.That(cost.TrueMacs, Is.EqualTo(864));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(3_456 + 128));
    }

    [Test]
    public void BatchNormCountsTwicePerElementWhenAffineOnceOtherwise()
    {
        // 8×10×10 = 800 elements.
        Assert.That(Profile(nn.BatchNorm2d(8), 8, 10, 10).PaperMacs.BatchNorm, Is.EqualTo(1_600));
        Assert.That(Profile(nn.BatchNorm2d(8, affine: false), 8, 10, 10).PaperMacs.BatchNorm, Is.EqualTo(800));
        Assert.That(Profile(nn.BatchNorm2d(8), 8, 10, 10).TrueMacs, Is.Zero);
    }

    [Test]
    public void ActivationsCountOutputElements()
    {
        Assert.That(Profile(nn.ReLU(), 8, 10, 10).PaperMacs.Activation, Is.EqualTo(800));
        Assert.That(Profile(nn.PReLU(8), 8, 10, 10).PaperMacs.Activation, Is.EqualTo(800));
        Assert.That(Profile(nn.LeakyReLU(), 8, 10, 10).PaperMacs.Activation, Is.EqualTo(800));
        Assert.That(Profile(nn.ReLU(), 8, 10, 10).TrueMacs, Is.Zero);
    }

    [Test]
    public void PoolingCountsInputElements()
    {
        // 8×10×10 input = 800, whatever the window or output size.
        Assert.That(Profile(nn.MaxPool2d(2), 8, 10, 10).PaperMacs.Pooling, Is.EqualTo(800));
        Assert.That(Profile(nn.AvgPool2d(3, stride: 2, padding: 1), 8, 10, 10).PaperMacs.Pooling, Is.EqualTo(800));
        Assert.That(Profile(nn.AdaptiveAvgPool2d(1), 8, 10, 10).PaperMacs.Pooling, Is.EqualTo(800));
    }

    [Test]
    public void UpsampleCountsOutputElements()
    {
        // 8×5×5 → 8×10×10 = 800 outputs.
        var cost = Profile(nn.Upsample(2.0, InterpolationMode.Bilinear, align_corners: true), 8, 5, 5);
        Assert.That(cost.PaperMacs.Upsample, Is.EqualTo(800));
        Assert.That(cost.TrueMacs, Is.Zero);
    }

    [Test]
    public void LinearCountsInputElementsTimesOutputsAndItsBiasOnce()
    {
        // Input 1×3×(1×10) flattened by Linear over the last dim: 30 elements × 4 outputs = 120 MACs;
        // ptflops adds out_features = 4 once for the bias.
        var cost = Profile(nn.Linear(10, 4), 3, 1, 10);
        Assert.That(cost.TrueMacs, Is.EqualTo(120));
        Assert.That(cost.PaperMacs.Linear, Is.EqualTo(124));
    }

    [Test]
    public void ZeroOpLayersCountNothing()
    {
        // Dropout, Identity, Sigmoid and the functional residual add are outside ptflops' table.
        var cost = Profile(new ResidualWithZeroOps(), 2, 4, 4);
        Assert.That(cost.PaperMacs.Total, Is.Zero);
        Assert.That(cost.TrueMacs, Is.Zero);
        Assert.That(cost.Layers, Is.Empty);
    }

    [Test]
    public void MaxPoolWithIndicesCountsAndMaxUnpoolDoesNot()
    {
        // Pool 2×4×4 input → 32; unpool (not in ptflops' table) → 0.
        var cost = Profile(new PoolUnpool(), 2, 4, 4);
        Assert.That(cost.PaperMacs.Pooling, Is.EqualTo(32));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(32));
    }

    [Test]
    public void AModuleRegisteredUnderTwoParentsCountsTwiceInThePaperConventionOnly()
    {
        // One ReLU registered as "relu" and as "rep.0", run once on 2×4×4 = 32 elements: ptflops sums it along both
        // registrations (64); the layer list has it once with Registrations = 2, and 32 of the total is the repeat.
        var cost = Profile(new DoubleRegistered(), 2, 4, 4);
        Assert.That(cost.PaperMacs.Activation, Is.EqualTo(64));
        Assert.That(cost.RepeatedRegistrationMacs, Is.EqualTo(32));
        var relu = cost.Layers.Single();
        Assert.That(relu.Path, Is.EqualTo("relu"));
        Assert.That((relu.Calls, relu.Registrations), Is.EqualTo((1, 2)));
    }

    [Test]
    public void AModuleCalledTwiceAccumulatesBothCalls()
    {
        // Conv 2→2, 1×1, no bias on 3×3: 18 outputs × 2 = 36 MACs per call; called twice → 72.
        var cost = Profile(new CalledTwice(), 2, 3, 3);
        Assert.That(cost.TrueMacs, Is.EqualTo(72));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(72));
        Assert.That(cost.Layers.Single().Calls, Is.EqualTo(2));
    }

    [Test]
    public void AnUnusedModuleCountsParametersButNoFlops()
    {
        // "used": 1×1 2→3 with bias on 2×2: 12 outputs × 2 = 24 MACs + 12 bias. "unused": 3×3 2→5 with bias, 95 params.
        var cost = Profile(new WithUnused(), 2, 2, 2);
        Assert.That(cost.TrueMacs, Is.EqualTo(24));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(36));
        Assert.That(cost.Parameters, Is.EqualTo(9 + 95));
        Assert.That(cost.NotRun.Select(l => l.Path), Is.EqualTo(new[] { "unused" }));
        Assert.That(cost.NotRun.Single().Parameters, Is.EqualTo(95));
    }

    [Test]
    public void LayersThatNeverRunAreGatheredIntoTheirSkippedBlock()
    {
        // "skipped" (conv 2→2 1×1 with bias: 6 params; BN(2): 4 params) never runs; "used" does.
        var cost = Profile(new WithSkippedBlock(), 2, 2, 2);
        Assert.That(cost.NotRunParts(), Is.EqualTo(new[] { ("skipped", 2, 10L) }));
    }

    [Test]
    public void ASubclassOfACountedTypeIsAZeroOpAsWithPtflopsExactTypeMatch()
    {
        var cost = Profile(new MaxPoolSubclass(), 2, 4, 4);
        Assert.That(cost.PaperMacs.Total, Is.Zero);
    }

    [Test]
    public void ParametersTotalTrainableAndPerTopLevelChild()
    {
        // encoder: conv 1→4 3×3 with bias = 40, BN(4) = 8; head: conv 4→2 1×1 without bias = 8. Frozen head.
        var net = new TwoStage();
        net.head.requires_grad_(false);
        var cost = Profile(net, 1, 6, 6);
        Assert.That(cost.Parameters, Is.EqualTo(56));
        Assert.That(cost.TrainableParameters, Is.EqualTo(48));
        Assert.That(cost.ParametersByChild.Select(c => (c.Name, c.Parameters)), Is.EqualTo(new[] { ("encoder", 48L), ("head", 8L) }));
        // conv 1→4: 144 outputs × 9 = 1,296 + bias 144; BN 2·144 = 288; ReLU 144; head 72 outputs × 4 = 288.
        Assert.That(cost.TrueMacs, Is.EqualTo(1_296 + 288));
        Assert.That(cost.PaperMacs.Total, Is.EqualTo(1_296 + 144 + 288 + 144 + 288));
    }

    [Test]
    public void ProfilingLeavesTheTrainingModeAsItWasAndRemovesItsHooks()
    {
        using var net = new CalledTwice();
        ModelProfiler.Profile(net, "toy", 2, 3, 3);
        Assert.That(net.training, Is.True);
        var second = ModelProfiler.Profile(net, "toy", 2, 3, 3);
        Assert.That(second.TrueMacs, Is.EqualTo(72), "a hook left behind would count the first profile's calls again");
    }

    [Test]
    public void RejectsANonPositiveInputShape()
    {
        using var conv = nn.Conv2d(1, 1, 1);
        Assert.That(() => ModelProfiler.Profile(conv, "toy", 1, 0, 4), Throws.ArgumentException.With.Message.Contains("toy"));
    }

    // ---------------------------------------------------------------- toy modules

    private sealed class ResidualWithZeroOps : nn.Module<Tensor, Tensor>
    {
        private readonly Dropout drop = nn.Dropout(0.5);
        private readonly Identity same = nn.Identity();
        private readonly Sigmoid gate = nn.Sigmoid();
        public ResidualWithZeroOps() => RegisterComponents();
        public override Tensor forward(Tensor x) => x + gate.call(same.call(drop.call(x)));
    }

    private sealed class PoolUnpool : nn.Module<Tensor, Tensor>
    {
        private readonly MaxPool2dWithIndices pool = nn.MaxPool2dWithIndices(2);
        private readonly MaxUnpool2d unpool = nn.MaxUnpool2d(2);
        public PoolUnpool() => RegisterComponents();
        public override Tensor forward(Tensor x)
        {
            var (y, idx) = pool.call(x);
            return unpool.call(y, idx);
        }
    }

    private sealed class DoubleRegistered : nn.Module<Tensor, Tensor>
    {
        private readonly ReLU relu;
        private readonly Sequential rep;
        public DoubleRegistered()
        {
            relu = nn.ReLU();
            rep = nn.Sequential(relu);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => rep.call(x);
    }

    private sealed class CalledTwice : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv = nn.Conv2d(2, 2, 1, bias: false);
        public CalledTwice() => RegisterComponents();
        public override Tensor forward(Tensor x) => conv.call(conv.call(x));
    }

    private sealed class WithUnused : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d used = nn.Conv2d(2, 3, 1);
        private readonly Conv2d unused = nn.Conv2d(2, 5, 3);
        public WithUnused() => RegisterComponents();
        public override Tensor forward(Tensor x) => used.call(x);
    }

    private sealed class WithSkippedBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential used = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2));
        private readonly Sequential skipped = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2));
        public WithSkippedBlock() => RegisterComponents();
        public override Tensor forward(Tensor x) => used.call(x);
    }

    private sealed class MaxPoolSubclassLayer() : MaxPool2d([2]);

    private sealed class MaxPoolSubclass : nn.Module<Tensor, Tensor>
    {
        private readonly MaxPoolSubclassLayer pool = new();
        public MaxPoolSubclass() => RegisterComponents();
        public override Tensor forward(Tensor x) => pool.call(x);
    }

    private sealed class TwoStage : nn.Module<Tensor, Tensor>
    {
        public readonly Sequential encoder = nn.Sequential(nn.Conv2d(1, 4, 3, padding: 1), nn.BatchNorm2d(4), nn.ReLU());
        public readonly Conv2d head = nn.Conv2d(4, 2, 1, bias: false);
        public TwoStage() => RegisterComponents();
        public override Tensor forward(Tensor x) => head.call(encoder.call(x));
    }
}

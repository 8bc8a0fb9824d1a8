using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch.nn;

namespace MedDistill.Torch.Tests;

public class ModuleTests
{
    private string dir = null!;

    [SetUp]
    public void SetUp()
    {
        dir = Path.Combine(Path.GetTempPath(), "mdt-mod-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A small encoder in the TorchSharp idiom: fields registered by reflection, names as PyTorch would give.</summary>
    private sealed class TinyNet : Module<Tensor, Tensor>
    {
        private readonly Sequential features;
        private readonly Linear head;
        private readonly Tensor scale;
        public Parameter temperature { get; }

        public TinyNet()
        {
            features = Sequential(Conv2d(3, 4, 3, padding: 1), BatchNorm2d(4), ReLU(), MaxPool2d(2));
            head = Linear(4, 2);
            using (var t = ones(1)) temperature = new Parameter(t);
            scale = full([1], 2.0f);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var f = features.call(input);                 // [N, 4, H/2, W/2]
            var pooled = functional.adaptive_avg_pool2d(f, [1, 1]).ToFlat(f.shape[0], 4);
            var y = head.call(pooled) * scale / temperature;
            return y.MoveToOuterDisposeScope();
        }
    }

    [Test]
    public void ParameterCountsEqualHandCounts()
    {
        using var conv = Conv2d(3, 8, 3);
        Assert.That(conv.weight.shape, Is.EqualTo(new long[] { 8, 3, 3, 3 }));
        Assert.That(conv.parameter_count(), Is.EqualTo(8 * 3 * 3 * 3 + 8));

        using var grouped = Conv2d(4, 8, [3, 5], groups: 2, bias: false);
        Assert.That(grouped.weight.shape, Is.EqualTo(new long[] { 8, 2, 3, 5 }));
        Assert.That(grouped.bias, Is.Null);
        Assert.That(grouped.parameter_count(), Is.EqualTo(8 * 2 * 15));
        Assert.That(grouped.named_parameters().Select(p => p.name), Is.EqualTo(new[] { "weight" }));

        using var bn = BatchNorm2d(8);
        Assert.That(bn.parameter_count(), Is.EqualTo(16));
        Assert.That(bn.named_buffers().Select(b => b.name), Is.EqualTo(new[] { "running_mean", "running_var", "num_batches_tracked" }));

        using var linear = Linear(10, 5);
        Assert.That(linear.weight.shape, Is.EqualTo(new long[] { 5, 10 }));
        Assert.That(linear.parameter_count(), Is.EqualTo(55));

        using var up = ConvTranspose2d(8, 4, 2, stride: 2);
        Assert.That(up.weight.shape, Is.EqualTo(new long[] { 8, 4, 2, 2 }));
        Assert.That(up.parameter_count(), Is.EqualTo(8 * 4 * 4 + 4));

        using var upGrouped = ConvTranspose2d(4, 6, 3, groups: 2);
        Assert.That(upGrouped.weight.shape, Is.EqualTo(new long[] { 4, 3, 3, 3 }));
        Assert.That(upGrouped.parameter_count(), Is.EqualTo(4 * 3 * 9 + 6));

        using var prelu = PReLU(5);
        Assert.That(prelu.weight.ToArray<float>(), Is.EqualTo(Enumerable.Repeat(0.25f, 5)));
    }

    [Test]
    public void StateDictNamesAndOrderMatchPyTorch()
    {
        using var model = Sequential(Conv2d(3, 8, 3), BatchNorm2d(8), ReLU());
        using var scope = NewDisposeScope();
        var sd = model.state_dict();
        Assert.That(sd.Keys, Is.EqualTo(new[]
        {
            "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
        }));
        Assert.That(sd["1.num_batches_tracked"].dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(sd["1.num_batches_tracked"].dim(), Is.EqualTo(0));
        Assert.That(sd["0.weight"].requires_grad, Is.False, "state_dict values are detached");
        Assert.That(model.named_parameters().Select(p => p.name), Is.EqualTo(new[] { "0.weight", "0.bias", "1.weight", "1.bias" }));
        Assert.That(model.named_modules().Select(m => m.name), Is.EqualTo(new[] { "", "0", "1", "2" }));
    }

    [Test]
    public void RegisterComponentsUsesFieldNamesInDeclarationOrder()
    {
        using var net = new TinyNet();
        Assert.That(net.named_parameters().Select(p => p.name), Is.EqualTo(new[]
        {
            "temperature", "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "head.weight", "head.bias",
        }));
        Assert.That(net.named_children().Select(c => c.name), Is.EqualTo(new[] { "features", "head" }));
        Assert.That(net.named_buffers().Select(b => b.name), Is.EqualTo(new[] { "scale", "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked" }));
        Assert.That(net.get_parameter("features.0.weight"), Is.SameAs(((Conv2d)((Sequential)net.get_submodule("features"))[0]).weight));
        Assert.Throws<KeyNotFoundException>(() => net.get_submodule("features.7"));
    }

    [Test]
    public void StrictLoadNamesMissingUnexpectedAndMisshapenKeys()
    {
        using var model = Sequential(Conv2d(2, 3, 1), BatchNorm2d(3));
        using var scope = NewDisposeScope();
        var sd = model.state_dict();
        var before = model.get_parameter("0.weight").ToArray<float>();

        var missing = new Dictionary<string, Tensor>(sd);
        missing.Remove("1.running_var");
        var ex = Assert.Throws<StateDictMismatchException>(() => model.load_state_dict(missing))!;
        Assert.That(ex.MissingKeys, Is.EqualTo(new[] { "1.running_var" }));
        Assert.That(ex.Message, Does.Contain("Missing key(s) in state_dict: \"1.running_var\""));

        var unexpected = new Dictionary<string, Tensor>(sd) { ["2.weight"] = zeros(3) };
        ex = Assert.Throws<StateDictMismatchException>(() => model.load_state_dict(unexpected))!;
        Assert.That(ex.UnexpectedKeys, Is.EqualTo(new[] { "2.weight" }));
        Assert.That(ex.Message, Does.Contain("Unexpected key(s) in state_dict: \"2.weight\""));

        var misshapen = new Dictionary<string, Tensor>(sd) { ["0.weight"] = zeros(3, 2, 3, 3), ["0.bias"] = zeros(3) };
        ex = Assert.Throws<StateDictMismatchException>(() => model.load_state_dict(misshapen, strict: false))!;
        Assert.That(ex.Message, Does.Contain("size mismatch for 0.weight: copying a param with shape [3, 2, 3, 3] from checkpoint, the shape in current model is [3, 2, 1, 1]"));
        Assert.That(model.get_parameter("0.bias").ToArray<float>(), Is.Not.EqualTo(new float[3]), "nothing is copied when validation fails");
        Assert.That(model.get_parameter("0.weight").ToArray<float>(), Is.EqualTo(before));

        // Non-strict loading reports the leftovers and copies what matches.
        var partial = new Dictionary<string, Tensor> { ["0.bias"] = tensor(new float[] { 1, 2, 3 }), ["extra"] = zeros(1) };
        var result = model.load_state_dict(partial, strict: false);
        Assert.That(result.unexpected_keys, Is.EqualTo(new[] { "extra" }));
        Assert.That(result.missing_keys, Has.Count.EqualTo(6));
        Assert.That(model.get_parameter("0.bias").ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3 }));
    }

    [Test]
    public void SaveAndLoadReproduceOutputsBitForBit()
    {
        string path = Path.Combine(dir, "net.safetensors");
        using var scope = NewDisposeScope();
        manual_seed(10);
        using var a = new TinyNet();
        var x = randn(2, 3, 8, 8);
        a.call(x); // a training step moves the running statistics away from their initial values
        a.eval();
        var ya = a.call(x).ToArray<float>();
        a.save(path, new Dictionary<string, string> { ["epoch"] = "1" });

        manual_seed(99);
        using var b = new TinyNet();
        b.eval();
        Assert.That(b.call(x).ToArray<float>(), Is.Not.EqualTo(ya));
        b.load(path);
        Assert.That(b.call(x).ToArray<float>(), Is.EqualTo(ya));
        Assert.That(b.get_buffer("features.1.num_batches_tracked").item<long>(), Is.EqualTo(1));
        Assert.That(Serialization.Safetensors.ReadMetadata(path)["epoch"], Is.EqualTo("1"));
    }

    [Test]
    public void BatchNormUpdatesRunningStatisticsOnlyInTraining()
    {
        using var scope = NewDisposeScope();
        using var bn = BatchNorm2d(1, momentum: 0.5);
        // One channel, values 1..4 (mean 2.5, biased var 1.25, unbiased var 5/3).
        var x = tensor(new float[] { 1, 2, 3, 4 }, 2, 1, 1, 2);
        var y = bn.call(x).ToArray<float>();
        double sd = Math.Sqrt(1.25 + 1e-5);
        Assert.That(y, Is.EqualTo(new[] { 1, 2, 3, 4 }.Select(v => (float)((v - 2.5) / sd))).Within(1e-5));
        Assert.That(bn.running_mean!.ToArray<float>()[0], Is.EqualTo(0.5f * 0 + 0.5f * 2.5f).Within(1e-6));
        Assert.That(bn.running_var!.ToArray<float>()[0], Is.EqualTo(0.5f * 1 + 0.5f * (5f / 3)).Within(1e-6));
        Assert.That(bn.num_batches_tracked!.item<long>(), Is.EqualTo(1));

        bn.eval();
        Assert.That(bn.training, Is.False);
        var ye = bn.call(x).ToArray<float>();
        double rm = 1.25, rv = 0.5 + 5.0 / 6;
        Assert.That(ye, Is.EqualTo(new[] { 1, 2, 3, 4 }.Select(v => (float)((v - rm) / Math.Sqrt(rv + 1e-5)))).Within(1e-5));
        Assert.That(bn.num_batches_tracked!.item<long>(), Is.EqualTo(1), "eval leaves the statistics alone");
        Assert.That(bn.running_mean!.ToArray<float>()[0], Is.EqualTo(1.25f).Within(1e-6));
    }

    [Test]
    public void BatchNormWithoutMomentumAveragesCumulatively()
    {
        using var scope = NewDisposeScope();
        using var bn = BatchNorm2d(1, momentum: null, affine: false);
        bn.call(full([2, 1, 1, 1], 2.0f) + tensor(new float[] { -1, 1 }, 2, 1, 1, 1)); // mean 2
        bn.call(full([2, 1, 1, 1], 6.0f) + tensor(new float[] { -1, 1 }, 2, 1, 1, 1)); // mean 6
        Assert.That(bn.running_mean!.ToArray<float>()[0], Is.EqualTo(4f).Within(1e-6));
        Assert.That(bn.parameter_count(), Is.EqualTo(0));
        Assert.Throws<ArgumentException>(() => bn.call(zeros(2, 1, 3)));
    }

    [Test]
    public void DropoutActsOnlyInTraining()
    {
        using var scope = NewDisposeScope();
        using var model = Sequential(Dropout(0.5), Dropout2d(0.5));
        var x = ones(4, 50, 2, 2);
        var y = model.call(x).ToArray<float>();
        Assert.That(y, Has.Some.EqualTo(0f));
        Assert.That(y.Where(v => v != 0), Is.All.EqualTo(4f), "survivors are scaled by 1/(1-p) twice");
        model.eval();
        Assert.That(model.children().All(c => !c.training), Is.True);
        Assert.That(model.call(x).ToArray<float>(), Is.All.EqualTo(1f));
        model.train();
        Assert.That(model[1].training, Is.True);
    }

    [Test]
    public void ToDtypeKeepsParameterIdentityAndIntegerBuffers()
    {
        using var scope = NewDisposeScope();
        using var model = Sequential(Conv2d(1, 2, 1), BatchNorm2d(2));
        var before = model.parameters().ToList();
        var weight = (Conv2d)model[0];
        var loss = model.call(ones(1, 1, 2, 2)).sum();
        loss.backward();

        model.to(ScalarType.Float64);
        var after = model.parameters().ToList();
        Assert.That(after, Has.Count.EqualTo(before.Count));
        for (int i = 0; i < before.Count; i++) Assert.That(after[i], Is.SameAs(before[i]));
        Assert.That(before.Select(p => p.dtype), Is.All.EqualTo(ScalarType.Float64));
        Assert.That(before.All(p => p.requires_grad && p.is_leaf), Is.True);
        Assert.That(weight.weight.grad!.dtype, Is.EqualTo(ScalarType.Float64), "gradients follow");
        Assert.That(model.get_buffer("1.running_mean").dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(model.get_buffer("1.num_batches_tracked").dtype, Is.EqualTo(ScalarType.Int64));

        // A held parameter still drives the model: an "optimizer step" through the old reference changes the output.
        model.eval();
        var x = ones([1, 1, 2, 2], ScalarType.Float64);
        var y0 = model.call(x).ToArray<double>();
        using (no_grad()) before[1].add_(1.0); // conv bias
        var y1 = model.call(x).ToArray<double>();
        Assert.That(y1.Zip(y0, (p, q) => p - q), Is.All.GreaterThan(0.5));
        Assert.Throws<ArgumentException>(() => model.to(ScalarType.Int32));
    }

    [Test]
    public void ZeroGradDropsOrZeroesGradients()
    {
        using var scope = NewDisposeScope();
        using var lin = Linear(3, 1);
        lin.call(ones(2, 3)).sum().backward();
        Assert.That(lin.weight.grad!.ToArray<float>(), Is.EqualTo(new float[] { 2, 2, 2 }));
        lin.zero_grad(set_to_none: false);
        Assert.That(lin.weight.grad!.ToArray<float>(), Is.EqualTo(new float[] { 0, 0, 0 }));
        lin.zero_grad();
        Assert.That(lin.weight.grad, Is.Null);
        Assert.That(lin.bias!.grad, Is.Null);
    }

    [Test]
    public void ParametersOutliveDisposeScopesAndDieWithTheModule()
    {
        Linear lin;
        using (NewDisposeScope()) lin = Linear(2, 2);
        Assert.That(lin.weight.IsInvalid, Is.False);
        var w = lin.weight;
        lin.Dispose();
        Assert.That(w.IsInvalid, Is.True);
    }

    [Test]
    public void DefaultInitialisationFollowsPyTorchsResetParameters()
    {
        using var scope = NewDisposeScope();
        // Conv2d(4, 16, 3): fan_in 36; kaiming_uniform_(a=sqrt(5)) gives bound sqrt(1/3)·sqrt(3/36) = 1/6, bias bound 1/6.
        manual_seed(5);
        using var conv = Conv2d(4, 16, 3);
        var w = conv.weight.ToArray<float>();
        Assert.That(w.Max(), Is.LessThanOrEqualTo(1f / 6).And.GreaterThan(0.9f / 6));
        Assert.That(w.Min(), Is.GreaterThanOrEqualTo(-1f / 6).And.LessThan(-0.9f / 6));
        Assert.That(conv.bias!.ToArray<float>().Select(Math.Abs), Is.All.LessThanOrEqualTo(1f / 6));

        // Same seed, same recipe by hand: weight drawn first, then bias.
        manual_seed(5);
        double bound = Math.Sqrt(3.0) * (Math.Sqrt(2.0 / (1 + Math.Pow(Math.Sqrt(5), 2))) / Math.Sqrt(36));
        var wHand = empty(16, 4, 3, 3).uniform_(-bound, bound).ToArray<float>();
        var bHand = empty(16).uniform_(-1 / Math.Sqrt(36), 1 / Math.Sqrt(36)).ToArray<float>();
        Assert.That(w, Is.EqualTo(wHand));
        Assert.That(conv.bias!.ToArray<float>(), Is.EqualTo(bHand));

        // ConvTranspose2d(16, 4, 3): PyTorch's fan_in is weight.size(1)·k·k = 4·9 = 36, not 16·9.
        using var up = ConvTranspose2d(16, 4, 3);
        var uw = up.weight.ToArray<float>();
        Assert.That(uw.Max(), Is.LessThanOrEqualTo(1f / 6).And.GreaterThan(1f / 12));

        using var bn = BatchNorm2d(3);
        Assert.That(bn.weight!.ToArray<float>(), Is.All.EqualTo(1f));
        Assert.That(bn.bias!.ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(bn.running_var!.ToArray<float>(), Is.All.EqualTo(1f));

        using var lin = Linear(100, 3);
        Assert.That(lin.weight.ToArray<float>().Select(Math.Abs), Is.All.LessThanOrEqualTo(0.1f));
    }

    [Test]
    public void LayersComputeHandCheckedOutputs()
    {
        using var scope = NewDisposeScope();
        using var lin = Linear(2, 1);
        using (no_grad())
        {
            lin.weight.copy_(tensor(new float[] { 2, -1 }, 1, 2));
            lin.bias!.fill_(0.5);
        }
        Assert.That(lin.call(tensor(new float[] { 3, 4 }, 1, 2)).ToArray<float>(), Is.EqualTo(new[] { 2.5f }));

        using var prelu = PReLU(2, 0.1);
        var p = prelu.call(tensor(new float[] { -1, 2, -3, 4 }, 1, 2, 1, 2)).ToArray<float>();
        Assert.That(p, Is.EqualTo(new[] { -0.1f, 2f, -0.3f, 4f }).Within(1e-6));
        Assert.Throws<ArgumentException>(() => prelu.call(zeros(1, 3, 1, 1)));

        // ReLU6 clips to [0, 6]; like PyTorch's, its gradient is 1 strictly inside and 0 outside (and at the ends).
        using var relu6 = ReLU6();
        var r = tensor(new float[] { -2, 0, 3, 6, 7.5f }, 5).requires_grad_();
        var clipped = relu6.call(r);
        Assert.That(clipped.ToArray<float>(), Is.EqualTo(new[] { 0f, 0f, 3f, 6f, 6f }));
        clipped.sum().backward();
        Assert.That(r.grad!.ToArray<float>(), Is.EqualTo(new[] { 0f, 0f, 1f, 0f, 0f }));

        var x = tensor(new float[] { 1, 5, 2, 0, 3, 4, 8, 7, 6, 9, 1, 2, 0, 1, 3, 4 }, 1, 1, 4, 4);
        using var pool = MaxPool2dWithIndices(2);
        var (pooled, indices) = pool.call(x);
        Assert.That(pooled.ToArray<float>(), Is.EqualTo(new float[] { 5, 8, 9, 4 }));
        using var unpool = MaxUnpool2d(2);
        var restored = unpool.call(pooled, indices).ToArray<float>();
        Assert.That(restored, Is.EqualTo(new float[] { 0, 5, 0, 0, 0, 0, 8, 0, 0, 9, 0, 0, 0, 0, 0, 4 }));
        Assert.That(MaxPool2d(2).call(x).ToArray<float>(), Is.EqualTo(new float[] { 5, 8, 9, 4 }));
        Assert.That(AvgPool2d(2).call(x).ToArray<float>(), Is.EqualTo(new float[] { 3.25f, 4.25f, 4f, 2.5f }));
        Assert.That(AdaptiveAvgPool2d(1).call(x).ToArray<float>()[0], Is.EqualTo(56f / 16));

        var small = tensor(new float[] { 1, 2, 3, 4 }, 1, 1, 2, 2);
        Assert.That(Upsample(scale_factor: 2).call(small).ToArray<float>(),
            Is.EqualTo(new float[] { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }));
        Assert.That(Upsample(size: [3, 3], mode: InterpolationMode.Bilinear, align_corners: true).call(small).ToArray<float>(),
            Is.EqualTo(new float[] { 1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4 }).Within(1e-6));

        // A 1x1 transposed convolution with stride 2 spreads each pixel onto a 2x grid.
        using var up = ConvTranspose2d(1, 1, 1, stride: 2, output_padding: 1, bias: false);
        using (no_grad()) up.weight.fill_(1);
        Assert.That(up.call(small).ToArray<float>(), Is.EqualTo(new float[] { 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0 }));
        Assert.Throws<ArgumentException>(() => Conv2d(3, 4, 3).call(zeros(1, 2, 5, 5)));
        Assert.Throws<ArgumentException>(() => MaxPool2d(2, padding: 2));
        Assert.DoesNotThrow(() => MaxPool2d(2, padding: 1, dilation: 2).Dispose());
    }

    [Test]
    public void SequentialChainsLayersAndHooksSeeOutputs()
    {
        using var scope = NewDisposeScope();
        using var seq = Sequential(("conv", Conv2d(1, 2, 3, padding: 1)), ("act", ReLU()));
        var x = randn(1, 1, 4, 4);
        Tensor? seen = null;
        using (seq["conv"].register_forward_hook((_, _, output) => seen = output))
        {
            var y = seq.call(x);
            var manual = ((Conv2d)seq[0]).call(x).relu();
            Assert.That(y.ToArray<float>(), Is.EqualTo(manual.ToArray<float>()));
            Assert.That(seen!.shape, Is.EqualTo(new long[] { 1, 2, 4, 4 }));
        }
        seen = null;
        seq.call(x);
        Assert.That(seen, Is.Null, "disposing the handle removes the hook");
        Assert.That(seq.state_dict().Keys, Is.EqualTo(new[] { "conv.weight", "conv.bias" }));

        using var grown = Sequential().append(Identity()).append("act", ReLU());
        Assert.That(grown.named_children().Select(c => c.name), Is.EqualTo(new[] { "0", "act" }));
        Assert.That(grown.call(x).ToArray<float>(), Is.EqualTo(x.relu().ToArray<float>()));

        using var list = ModuleList(Linear(2, 2), Linear(2, 3));
        Assert.That(list.named_parameters().Select(p => p.name), Is.EqualTo(new[] { "0.weight", "0.bias", "1.weight", "1.bias" }));
        Assert.That(list[-1], Is.InstanceOf<Linear>());
    }

    [Test]
    public void RegistrationRejectsBadNamesAndNonPersistentBuffersStayOutOfStateDict()
    {
        using var scope = NewDisposeScope();
        using var m = new TinyNet();
        Assert.Throws<ArgumentException>(() => m.register_parameter("a.b", null));
        Assert.Throws<ArgumentException>(() => m.register_buffer("head", zeros(1)));
        m.register_buffer("cache", zeros(2), persistent: false);
        Assert.That(m.state_dict().Keys, Has.No.Member("cache"));
        Assert.That(m.named_buffers().Select(b => b.name), Has.Member("cache"));
        m.to(ScalarType.Float64);
        Assert.That(m.get_buffer("cache").dtype, Is.EqualTo(ScalarType.Float64));
        m.requires_grad_(false);
        Assert.That(m.parameter_count(only_trainable: true), Is.EqualTo(0));
    }

    [Test]
    public void DescriptionsFollowPyTorchsPrintFormat()
    {
        using var model = Sequential(Conv2d(3, 8, 3, padding: 1, bias: false), BatchNorm2d(8), ReLU());
        Assert.That(model.ToString(), Is.EqualTo(
            "Sequential(\n" +
            "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n" +
            "  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n" +
            "  (2): ReLU()\n" +
            ")"));
        Assert.That(model.summary(), Does.Contain("Total params: 232"));
    }
}

internal static class TestTensorExtensions
{
    /// <summary>[N, C, 1, 1] → [N, C] by copying through managed memory (keeps these tests independent of view ops).</summary>
    public static Tensor ToFlat(this Tensor t, long n, long c) => tensor(t.ToArray<float>(), n, c);
}

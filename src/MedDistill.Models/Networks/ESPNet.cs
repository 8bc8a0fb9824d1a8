using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Models.Networks;

/// <summary>
/// ESPNet (Mehta et al., 2018) with p = 2, q = 3: the ESPNet-C encoder and the light-weight RUM decoder, as in the public
/// reference implementation (sacmehta/ESPNet; EagleMIT/EMKD bundles it with one decoder block widened, see below).
/// Parameter names and module nesting follow that implementation (<c>encoder.level2.0.d4.conv.weight</c>,
/// <c>combine_l2_l3.1.bn.act.weight</c>, ...), and every layer the reference holds as a module (BatchNorm2d, PReLU,
/// AvgPool2d, Conv2d, ConvTranspose2d) is a module here, run through <c>call</c> so forward hooks (and hook-based FLOPs
/// counters) see it.
/// <para>
/// Width 1 with 3 input channels and 2 classes has 183,643 parameters, the figure of the Affinity-KD paper's Table 1.
/// </para>
/// <para>
/// <b>Zero-width branches.</b> An ESP block with nOut outputs splits them into five branches of n = ⌊nOut/5⌋ channels (the
/// first gets nOut − 4n). The decoder's block maps 2c → c channels (c = classes), so for c &lt; 5 it has n = 0: its 1×1
/// reduction produces no channels and all five dilated convolutions read zero channels. PyTorch builds such a model (the
/// zero-sized convolutions hold no parameters, which is why the published count is what it is) but refuses to run it
/// ("expected weight to be at least 1 at dimension 0"), and our binding refuses zero-channel Conv2d at construction. This
/// harness gives the block the value PyTorch's arithmetic would give: a convolution over zero channels is an empty sum, so
/// the block's merged branches are zeros of shape (N, c, H, W), which its BatchNorm + PReLU then map to a per-channel
/// constant. The zero-sized convolutions are simply not built (they have no parameters, so the count stays exact).
/// Consequence, documented rather than hidden: with fewer than 5 classes the logits do not depend on the level-2/level-3
/// encoder and the deep decoder branch (see <see cref="LogitIndependentParameterPrefixes"/>); those layers still run, feed
/// the <c>level2</c> and <c>encoder</c> taps and receive gradients from losses on those taps.
/// </para>
/// <para>
/// <b>The EMKD variant</b> (registry name <c>espnet-emkd</c>, built by <see cref="CreateEmkd"/>). EagleMIT/EMKD's copy of
/// this network gives the decoder ESP block a fixed <see cref="EmkdDecoderBlockChannels"/> = 5 outputs instead of c, and
/// the deconvolution after it reads those 5 channels: <c>combine_l2_l3.1</c> maps 2c → 5 (1×1 reduction 2c → 1, five 3×3
/// dilated convolutions 1 → 1, BR(5)) and <c>up_l2.0</c> is a 5 → c 2×2 deconvolution; every other layer, every name and
/// the registration order are those of <c>espnet</c>. With 2 classes the block has real branches, so the logits depend on
/// every parameter (183,725 parameters with 3 inputs); with exactly 5 classes the two networks are the same; with more
/// than 5 the EMKD block is a 5-channel bottleneck between 2c and c channels.
/// </para>
/// <para>
/// <b>Width.</b> The encoder widths 16, 64 and 128 become round(16·w) (at least 4), round(64·w) and round(128·w) (each at
/// least 5, so every ESP branch keeps at least one channel); input channels, classes and the decoder block's width
/// (<see cref="DecoderBlockChannels"/>) are never scaled.
/// </para>
/// </summary>
public sealed class ESPNet : SegmentationModel
{
    public const string Level1Tap = "level1";
    public const string Level2Tap = "level2";

    private static readonly string[] tapNames = [Level1Tap, Level2Tap, EncoderTap, DecoderTap, LogitsTap];

    private readonly ESPNetEncoder encoder;
    private readonly EspConv level3C;
    private readonly BatchNorm2d br;
    private readonly EspCBR conv;
    private readonly Sequential upL3;
    private readonly Sequential combineL2L3;
    private readonly Sequential upL2;
    private readonly ConvTranspose2d classifier;
    private readonly bool decoderBlockHasBranches;

    /// <summary>Output channels of EMKD's decoder ESP block, whatever the class count (the literal 5 in its code).</summary>
    public const int EmkdDecoderBlockChannels = 5;

    /// <summary>The network of sacmehta/ESPNet and of Table 1 (registry name <c>espnet</c>).</summary>
    public ESPNet(ModelOptions options) : this("espnet", options, options.Classes) { }

    /// <summary>
    /// EagleMIT/EMKD's ESPNet (registry name <c>espnet-emkd</c>): the decoder ESP block has
    /// <see cref="EmkdDecoderBlockChannels"/> outputs, so it has real branches for any class count.
    /// </summary>
    public static ESPNet CreateEmkd(ModelOptions options) => new("espnet-emkd", options, EmkdDecoderBlockChannels);

    private ESPNet(string name, ModelOptions options, int decoderBlockChannels) : base(name, options)
    {
        DecoderBlockChannels = decoderBlockChannels;
        int c = options.Classes, inC = options.InChannels;
        Level1Channels = NetworkRules.ScaleChannels(16, options.Width, 4);
        Level2Channels = NetworkRules.ScaleChannels(64, options.Width, 5);
        Level3Channels = NetworkRules.ScaleChannels(128, options.Width, 5);

        encoder = new ESPNetEncoder(inC, c, Level1Channels, Level2Channels, Level3Channels);
        level3C = new EspConv(2 * Level2Channels + inC, c, 1);
        br = nn.BatchNorm2d(c, eps: 1e-3);
        conv = new EspCBR(Level1Channels + inC + c, c, 3, 1);
        upL3 = nn.Sequential(nn.ConvTranspose2d(c, c, 2, stride: 2, bias: false));
        var decoderBlock = new EspBlock(2 * c, decoderBlockChannels, residual: false);
        decoderBlockHasBranches = decoderBlock.HasBranches;
        combineL2L3 = nn.Sequential(new EspBR(2 * c), decoderBlock);
        upL2 = nn.Sequential(nn.ConvTranspose2d(decoderBlockChannels, c, 2, stride: 2, bias: false), new EspBR(c));
        classifier = nn.ConvTranspose2d(c, c, 2, stride: 2, bias: false);

        // The reference's attribute names, in its registration order (which is the state-dict order).
        register_module("encoder", encoder);
        register_module("level3_C", level3C);
        register_module("br", br);
        register_module("conv", conv);
        register_module("up_l3", upL3);
        register_module("combine_l2_l3", combineL2L3);
        register_module("up_l2", upL2);
        register_module("classifier", classifier);
    }

    /// <summary>Output channels of level 1 (16 at width 1).</summary>
    public int Level1Channels { get; }
    /// <summary>Output channels of each level-2 ESP block (64 at width 1).</summary>
    public int Level2Channels { get; }
    /// <summary>Output channels of each level-3 ESP block (128 at width 1).</summary>
    public int Level3Channels { get; }
    /// <summary>
    /// Output channels of the decoder ESP block (<c>combine_l2_l3.1</c>) and input channels of <c>up_l2.0</c>: the class
    /// count for <c>espnet</c>, <see cref="EmkdDecoderBlockChannels"/> for <c>espnet-emkd</c>.
    /// </summary>
    public int DecoderBlockChannels { get; }

    /// <summary>level1 (16+in ch, H/2), level2 (2·64+in ch, H/4), encoder (256 ch, H/8), decoder (classes ch, H/2), logits.</summary>
    public override IReadOnlyList<string> TapNames => tapNames;
    public override int InputSizeMultiple => 8;

    /// <summary>
    /// Prefixes of parameters the logits do not depend on, although forward runs them: empty unless the decoder ESP block has
    /// zero-width branches (<c>espnet</c> with fewer than 5 classes, see the class summary; never <c>espnet-emkd</c>). A loss
    /// on the logits alone gives these no gradient.
    /// </summary>
    public IReadOnlyList<string> LogitIndependentParameterPrefixes => decoderBlockHasBranches
        ? []
        : ["encoder.level2_0.", "encoder.level2.", "encoder.b2.", "encoder.level3_0.", "encoder.level3.", "encoder.b3.",
           "encoder.classifier.", "level3_C.", "br.", "up_l3.", "combine_l2_l3.0."];

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput("ESPNet", input, InChannels, 8, NetworkRules.StudentSizeReason);
        using var scope = NewDisposeScope();
        var taps = new List<Tensor>(tapNames.Length);
        Tensor At(string tap, Tensor x)
        {
            taps.Add(x);
            return Tap(tap, x);
        }

        var e = encoder;
        var output0 = e.level1.call(input);
        var inp1 = e.sample1.call(input);
        var inp2 = e.sample2.call(input);
        var level1 = At(Level1Tap, e.b1.call(cat([output0, inp1], 1)));

        var output1_0 = e.level2_0.call(level1);
        var output1 = output1_0;
        foreach (var block in e.level2) output1 = block.call(output1);
        var level2 = At(Level2Tap, e.b2.call(cat([output1, output1_0, inp2], 1)));

        var output2_0 = e.level3_0.call(level2);
        var output2 = output2_0;
        foreach (var block in e.level3) output2 = block.call(output2);
        var level3 = At(EncoderTap, e.b3.call(cat([output2_0, output2], 1)));

        // Reduced-upsampling decoder: classes-channel maps from levels 3 and 2, merged by an ESP block, then level 1.
        var fromLevel3 = upL3.call(br.call(e.classifier.call(level3)));
        var fromLevel2 = level3C.call(level2);
        var merged = upL2.call(combineL2L3.call(cat([fromLevel2, fromLevel3], 1)));
        var decoded = At(DecoderTap, conv.call(cat([merged, level1], 1)));
        var logits = classifier.call(decoded);

        scope.DisposeEverythingBut([logits, .. taps]);
        return logits;
    }
}

/// <summary>ESPNet-C, the encoder of <see cref="ESPNet"/> (the reference's <c>ESPNet_Encoder</c>); ESPNet drives its parts.</summary>
public sealed class ESPNetEncoder : nn.Module
{
    internal ESPNetEncoder(int inChannels, int classes, int l1, int l2, int l3, int p = 2, int q = 3)
    {
        level1 = new EspCBR(inChannels, l1, 3, 2);
        sample1 = new EspInputProjection(1);
        sample2 = new EspInputProjection(2);
        b1 = new EspBR(l1 + inChannels);
        level2_0 = new EspDownSampler(l1 + inChannels, l2);
        level2 = nn.ModuleList(Enumerable.Range(0, p).Select(_ => new EspBlock(l2, l2)).ToArray());
        b2 = new EspBR(2 * l2 + inChannels);
        level3_0 = new EspDownSampler(2 * l2 + inChannels, l3);
        level3 = nn.ModuleList(Enumerable.Range(0, q).Select(_ => new EspBlock(l3, l3)).ToArray());
        b3 = new EspBR(2 * l3);
        // ESPNet-C's own classifier; the full ESPNet uses it as the first step of its level-3 decoder branch.
        classifier = new EspConv(2 * l3, classes, 1);
        RegisterComponents();
    }

    // Field names are the reference's attribute names (they become parameter-name prefixes); declaration order is its order.
#pragma warning disable IDE1006
    internal readonly EspCBR level1;
    internal readonly EspInputProjection sample1;
    internal readonly EspInputProjection sample2;
    internal readonly EspBR b1;
    internal readonly EspDownSampler level2_0;
    internal readonly ModuleList<EspBlock> level2;
    internal readonly EspBR b2;
    internal readonly EspDownSampler level3_0;
    internal readonly ModuleList<EspBlock> level3;
    internal readonly EspBR b3;
    internal readonly EspConv classifier;
#pragma warning restore IDE1006

    public override string GetName() => "ESPNet_Encoder";
}

/// <summary>Bias-free k×k convolution with "same" padding (the reference's <c>C</c> and <c>CDilated</c>).</summary>
internal sealed class EspConv : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public EspConv(long nIn, long nOut, long kernel, long stride = 1, long dilation = 1)
    {
        conv = nn.Conv2d(nIn, nOut, kernel, stride, padding: (kernel - 1) / 2 * dilation, dilation: dilation, bias: false);
        register_module("conv", conv);
    }

    public override string GetName() => conv.dilation[0] == 1 ? "C" : "CDilated";
    public override Tensor forward(Tensor input) => conv.call(input);
}

/// <summary>Convolution + BatchNorm (eps 1e-3) + per-channel PReLU (the reference's <c>CBR</c>).</summary>
internal sealed class EspCBR : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly PReLU act;

    public EspCBR(long nIn, long nOut, long kernel, long stride)
    {
        conv = nn.Conv2d(nIn, nOut, kernel, stride, padding: (kernel - 1) / 2, bias: false);
        bn = nn.BatchNorm2d(nOut, eps: 1e-3);
        act = nn.PReLU(nOut);
        RegisterComponents();
    }

    public override string GetName() => "CBR";
    public override Tensor forward(Tensor input) => act.call(bn.call(conv.call(input)));
}

/// <summary>BatchNorm (eps 1e-3) + per-channel PReLU (the reference's <c>BR</c>).</summary>
internal sealed class EspBR : nn.Module<Tensor, Tensor>
{
    private readonly BatchNorm2d bn;
    private readonly PReLU act;

    public EspBR(long channels)
    {
        bn = nn.BatchNorm2d(channels, eps: 1e-3);
        act = nn.PReLU(channels);
        RegisterComponents();
    }

    public override string GetName() => "BR";
    public override Tensor forward(Tensor input) => act.call(bn.call(input));
}

/// <summary>
/// The reduce-split-transform-merge core shared by the ESP block and its down-sampling variant: a reduction conv to
/// n = ⌊nOut/5⌋ channels, five parallel 3×3 convolutions with dilations 1, 2, 4, 8, 16 (the first producing nOut − 4n
/// channels), and hierarchical feature fusion (running sums of the dilated outputs) before concatenation.
/// </summary>
internal abstract class EspPyramid : nn.Module<Tensor, Tensor>
{
    private readonly EspConv? c1, d1, d2, d4, d8, d16;
    private readonly long outChannels;

    protected EspPyramid(long nIn, long nOut, long reduceKernel, long reduceStride)
    {
        long n = nOut / 5, n1 = nOut - 4 * n;
        outChannels = nOut;
        HasBranches = n > 0;
        if (!HasBranches)
        {
            // Zero-width branches (see ESPNet's summary): nothing to build, the merge is an empty sum.
            if (reduceStride != 1)
                throw new ArgumentException($"ESPNet: a down-sampling ESP block needs at least 5 output channels (got {nOut})", nameof(nOut));
            return;
        }
        c1 = new EspConv(nIn, n, reduceKernel, reduceStride);
        d1 = new EspConv(n, n1, 3, 1, 1);
        d2 = new EspConv(n, n, 3, 1, 2);
        d4 = new EspConv(n, n, 3, 1, 4);
        d8 = new EspConv(n, n, 3, 1, 8);
        d16 = new EspConv(n, n, 3, 1, 16);
        RegisterComponents();
    }

    /// <summary>False when nOut &lt; 5 and every branch has zero channels.</summary>
    public bool HasBranches { get; }

    protected Tensor Merge(Tensor input)
    {
        if (!HasBranches)
        {
            var s = input.shape;
            return zeros([s[0], outChannels, s[2], s[3]], input.dtype, input.device);
        }
        var reduced = c1!.call(input);
        var sum2 = d2!.call(reduced);
        var sum4 = sum2 + d4!.call(reduced);
        var sum8 = sum4 + d8!.call(reduced);
        var sum16 = sum8 + d16!.call(reduced);
        return cat([d1!.call(reduced), sum2, sum4, sum8, sum16], 1);
    }
}

/// <summary>ESP block (the reference's <c>DilatedParllelResidualBlockB</c>): 1×1 reduction, pyramid, optional residual, BR.</summary>
internal sealed class EspBlock : EspPyramid
{
    private readonly EspBR bn;
    private readonly bool residual;

    public EspBlock(long nIn, long nOut, bool residual = true) : base(nIn, nOut, 1, 1)
    {
        this.residual = residual;
        bn = new EspBR(nOut);
        register_module("bn", bn);
    }

    public override string GetName() => "DilatedParllelResidualBlockB";

    public override Tensor forward(Tensor input)
    {
        var merged = Merge(input);
        return bn.call(residual ? input + merged : merged);
    }
}

/// <summary>Down-sampling ESP block (the reference's <c>DownSamplerB</c>): 3×3 stride-2 reduction, pyramid, BN, PReLU; no residual.</summary>
internal sealed class EspDownSampler : EspPyramid
{
    private readonly BatchNorm2d bn;
    private readonly PReLU act;

    public EspDownSampler(long nIn, long nOut) : base(nIn, nOut, 3, 2)
    {
        bn = nn.BatchNorm2d(nOut, eps: 1e-3);
        act = nn.PReLU(nOut);
        register_module("bn", bn);
        register_module("act", act);
    }

    public override string GetName() => "DownSamplerB";
    public override Tensor forward(Tensor input) => act.call(bn.call(Merge(input)));
}

/// <summary>The input image average-pooled (3×3, stride 2, padding 1) once per halving (the reference's <c>InputProjectionA</c>).</summary>
internal sealed class EspInputProjection : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<AvgPool2d> pool;

    public EspInputProjection(int halvings)
    {
        pool = nn.ModuleList(Enumerable.Range(0, halvings).Select(_ => nn.AvgPool2d(3, stride: 2, padding: 1)).ToArray());
        register_module("pool", pool);
    }

    public override string GetName() => "InputProjectionA";

    public override Tensor forward(Tensor input)
    {
        var x = input;
        foreach (var p in pool) x = p.call(x);
        return x;
    }
}

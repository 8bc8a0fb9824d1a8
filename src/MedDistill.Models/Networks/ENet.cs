using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Models.Networks;

/// <summary>
/// ENet (Paszke et al., 2016) in the form of the widely used "Tramac" implementation (awesome-semantic-segmentation-pytorch,
/// also bundled by EagleMIT/EMKD): bias-free convolutions, BatchNorm with PyTorch's default eps, a single-slope PReLU after
/// every block, Dropout2d(0.1) in every bottleneck, max-unpooling with the encoder's indices, and a 2×2 transposed
/// convolution as classifier. Parameter names follow that implementation (<c>bottleneck2_3.conv2.1.weight</c>, ...), and
/// every layer it holds as a module is a module here, run through <c>call</c>.
/// <para>
/// Width 1 with 3 input channels and 2 classes has 353,761 parameters, the figure of the Affinity-KD paper's Table 1. That
/// figure includes block <c>bottleneck3_5</c> (17,795 parameters), which the reference builds but skips in forward; this
/// network does the same and lists it in <see cref="UnusedParameterPrefixes"/>.
/// </para>
/// <para>
/// <b>Input channels.</b> The initial block concatenates a stride-2 3×3 convolution with a 2×2 max-pool of the image and
/// normalises 16 channels; the reference hard-codes 3 input channels (13 + 3). Here the convolution produces 16 − in
/// channels, so every later layer is the published one whatever the input (1 channel: 15 + 1; 353,545 parameters with 2
/// classes).
/// </para>
/// <para>
/// <b>Width.</b> Block widths 16, 64, 128 become round(c·w) (at least 4; the initial block's 16 also at least in + 1),
/// bottleneck widths 4, 16, 32 become round(c·w) (at least 2). Input channels and classes are never scaled.
/// </para>
/// </summary>
public sealed class ENet : SegmentationModel
{
    public const string InitialTap = "initial";
    public const string Stage1Tap = "stage1";
    public const string Stage2Tap = "stage2";
    public const string Up1Tap = "up1";

    private static readonly string[] tapNames = [InitialTap, Stage1Tap, Stage2Tap, EncoderTap, Up1Tap, DecoderTap, LogitsTap];

    /// <summary>The stage-3 block the reference builds (and counts) but does not run.</summary>
    public const string SkippedBlock = "bottleneck3_5";

    private readonly EnetInitialBlock initial;
    private readonly EnetBottleneck down1;
    private readonly EnetBottleneck[] stage1;
    private readonly EnetBottleneck down2;
    private readonly EnetBottleneck[] stage2;
    private readonly (string name, EnetBottleneck block)[] stage3;
    private readonly EnetUpsamplingBottleneck up4;
    private readonly EnetBottleneck[] stage4;
    private readonly EnetUpsamplingBottleneck up5;
    private readonly EnetBottleneck stage5;
    private readonly ConvTranspose2d fullconv;

    public ENet(ModelOptions options) : base("enet", options)
    {
        double w = options.Width;
        int inC = options.InChannels;
        int c16 = Math.Max(inC + 1, NetworkRules.ScaleChannels(16, w, 4)), c64 = NetworkRules.ScaleChannels(64, w, 4), c128 = NetworkRules.ScaleChannels(128, w, 4);
        int m4 = NetworkRules.ScaleChannels(4, w, 2), m16 = NetworkRules.ScaleChannels(16, w, 2), m32 = NetworkRules.ScaleChannels(32, w, 2);
        Widths = [c16, c64, c128];

        initial = new EnetInitialBlock(inC, c16);
        down1 = new EnetBottleneck(c16, m16, c64, downsampling: true);
        stage1 = Enumerable.Range(0, 4).Select(_ => new EnetBottleneck(c64, m16, c64)).ToArray();
        down2 = new EnetBottleneck(c64, m32, c128, downsampling: true);
        stage2 = MiddleStage(c128, m32);
        var stage3Blocks = MiddleStage(c128, m32);
        stage3 = stage3Blocks.Select((b, i) => ($"bottleneck3_{i + 1}", b)).ToArray();
        up4 = new EnetUpsamplingBottleneck(c128, m16, c64);
        stage4 = [new EnetBottleneck(c64, m16, c64), new EnetBottleneck(c64, m16, c64)];
        up5 = new EnetUpsamplingBottleneck(c64, m4, c16);
        stage5 = new EnetBottleneck(c16, m4, c16);
        fullconv = nn.ConvTranspose2d(c16, options.Classes, 2, stride: 2, bias: false);

        // The reference's attribute names, in its registration order (which is the state-dict order).
        register_module("initial", initial);
        register_module("bottleneck1_0", down1);
        for (int i = 0; i < stage1.Length; i++) register_module($"bottleneck1_{i + 1}", stage1[i]);
        register_module("bottleneck2_0", down2);
        for (int i = 0; i < stage2.Length; i++) register_module($"bottleneck2_{i + 1}", stage2[i]);
        foreach (var (name, block) in stage3) register_module(name, block);
        register_module("bottleneck4_0", up4);
        for (int i = 0; i < stage4.Length; i++) register_module($"bottleneck4_{i + 1}", stage4[i]);
        register_module("bottleneck5_0", up5);
        register_module("bottleneck5_1", stage5);
        register_module("fullconv", fullconv);
    }

    /// <summary>Stages 2 and 3: regular, dilated 2, asymmetric 5, dilated 4, regular, dilated 8, asymmetric 5, dilated 16.</summary>
    private static EnetBottleneck[] MiddleStage(int channels, int mid) =>
    [
        new(channels, mid, channels),
        new(channels, mid, channels, dilation: 2),
        new(channels, mid, channels, asymmetric: true),
        new(channels, mid, channels, dilation: 4),
        new(channels, mid, channels),
        new(channels, mid, channels, dilation: 8),
        new(channels, mid, channels, asymmetric: true),
        new(channels, mid, channels, dilation: 16),
    ];

    /// <summary>The block widths after scaling: [16, 64, 128] at width 1.</summary>
    public IReadOnlyList<int> Widths { get; }

    /// <summary>
    /// initial (16 ch, H/2), stage1 (64 ch, H/4), stage2 (128 ch, H/8), encoder (end of stage 3: 128 ch, H/8),
    /// up1 (end of stage 4: 64 ch, H/4), decoder (end of stage 5: 16 ch, H/2), logits.
    /// </summary>
    public override IReadOnlyList<string> TapNames => tapNames;
    public override int InputSizeMultiple => 8;

    public override IReadOnlyList<string> UnusedParameterPrefixes => [SkippedBlock + "."];

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput("ENet", input, InChannels, 8, NetworkRules.StudentSizeReason);
        using var scope = NewDisposeScope();
        var taps = new List<Tensor>(tapNames.Length);
        Tensor At(string tap, Tensor x)
        {
            taps.Add(x);
            return Tap(tap, x);
        }

        var x = At(InitialTap, initial.call(input));
        (x, var indices1) = down1.ForwardDownsampling(x);
        foreach (var block in stage1) x = block.call(x);
        At(Stage1Tap, x);
        (x, var indices2) = down2.ForwardDownsampling(x);
        foreach (var block in stage2) x = block.call(x);
        At(Stage2Tap, x);
        foreach (var (name, block) in stage3)
            if (name != SkippedBlock) x = block.call(x);
        x = At(EncoderTap, x);
        x = up4.call(x, indices2);
        foreach (var block in stage4) x = block.call(x);
        At(Up1Tap, x);
        x = up5.call(x, indices1);
        x = At(DecoderTap, stage5.call(x));
        var logits = fullconv.call(x);

        scope.DisposeEverythingBut([logits, .. taps]);
        return logits;
    }
}

/// <summary>ENet's initial block: [3×3 stride-2 conv (in → out − in), 2×2 max-pool of the image] → BN → PReLU.</summary>
internal sealed class EnetInitialBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly MaxPool2d maxpool;
    private readonly BatchNorm2d bn;
    private readonly PReLU act;

    public EnetInitialBlock(int inChannels, int outChannels)
    {
        conv = nn.Conv2d(inChannels, outChannels - inChannels, 3, stride: 2, padding: 1, bias: false);
        maxpool = nn.MaxPool2d(2, stride: 2);
        bn = nn.BatchNorm2d(outChannels);
        act = nn.PReLU();
        RegisterComponents();
    }

    public override string GetName() => "InitialBlock";
    public override Tensor forward(Tensor input) => act.call(bn.call(cat([conv.call(input), maxpool.call(input)], 1)));
}

/// <summary>
/// ENet bottleneck: 1×1 projection → middle convolution → 1×1 expansion (+ BN + Dropout2d 0.1), added to the main branch,
/// then PReLU. The middle convolution is a 2×2 stride-2 conv (down-sampling), 5×1 then 1×5 (asymmetric) or a 3×3 with the
/// given dilation. In a down-sampling block the main branch is a 2×2 max-pool (its indices go to the decoder) and a 1×1
/// conv + BN to the new width.
/// </summary>
internal sealed class EnetBottleneck : nn.Module<Tensor, Tensor>
{
    private readonly MaxPool2dWithIndices? maxpool;
    private readonly Sequential? convDown;
    private readonly Sequential conv1, conv2, conv3;
    private readonly PReLU act;

    public EnetBottleneck(int inChannels, int mid, int outChannels, int dilation = 1, bool asymmetric = false, bool downsampling = false)
    {
        IsDownsampling = downsampling;
        if (downsampling)
        {
            maxpool = nn.MaxPool2dWithIndices(2, stride: 2);
            convDown = nn.Sequential(nn.Conv2d(inChannels, outChannels, 1, bias: false), nn.BatchNorm2d(outChannels));
            register_module("maxpool", maxpool);
            register_module("conv_down", convDown);
        }
        conv1 = nn.Sequential(nn.Conv2d(inChannels, mid, 1, bias: false), nn.BatchNorm2d(mid), nn.PReLU());
        if (downsampling)
            conv2 = nn.Sequential(nn.Conv2d(mid, mid, 2, stride: 2, bias: false), nn.BatchNorm2d(mid), nn.PReLU());
        else if (asymmetric)
            conv2 = nn.Sequential(
                nn.Conv2d(mid, mid, [5, 1], padding: [2, 0], bias: false),
                nn.Conv2d(mid, mid, [1, 5], padding: [0, 2], bias: false),
                nn.BatchNorm2d(mid), nn.PReLU());
        else
            conv2 = nn.Sequential(nn.Conv2d(mid, mid, 3, padding: dilation, dilation: dilation, bias: false), nn.BatchNorm2d(mid), nn.PReLU());
        conv3 = nn.Sequential(nn.Conv2d(mid, outChannels, 1, bias: false), nn.BatchNorm2d(outChannels), nn.Dropout2d(0.1));
        act = nn.PReLU();
        register_module("conv1", conv1);
        register_module("conv2", conv2);
        register_module("conv3", conv3);
        register_module("act", act);
    }

    public bool IsDownsampling { get; }

    public override string GetName() => "Bottleneck";

    public override Tensor forward(Tensor input)
    {
        if (IsDownsampling)
            throw new InvalidOperationException("ENet: a down-sampling bottleneck also returns pooling indices; call ForwardDownsampling");
        return act.call(Extension(input) + input);
    }

    /// <summary>The block's output and the max-pool indices that the matching upsampling block unpools with.</summary>
    public (Tensor output, Tensor indices) ForwardDownsampling(Tensor input)
    {
        if (!IsDownsampling) throw new InvalidOperationException("ENet: this bottleneck does not down-sample");
        var (pooled, indices) = maxpool!.call(input);
        var main = convDown!.call(pooled);
        return (act.call(Extension(input) + main), indices);
    }

    private Tensor Extension(Tensor input) => conv3.call(conv2.call(conv1.call(input)));
}

/// <summary>
/// ENet upsampling bottleneck: main branch 1×1 conv + BN then max-unpooling with the encoder's indices; extension 1×1 →
/// 2×2 stride-2 transposed conv → 1×1 (each with BN; PReLU after the first two; Dropout2d 0.1 last); PReLU of the sum.
/// </summary>
internal sealed class EnetUpsamplingBottleneck : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly MaxUnpool2d upsampling;
    private readonly Sequential block;
    private readonly PReLU act;

    public EnetUpsamplingBottleneck(int inChannels, int mid, int outChannels)
    {
        conv = nn.Sequential(nn.Conv2d(inChannels, outChannels, 1, bias: false), nn.BatchNorm2d(outChannels));
        upsampling = nn.MaxUnpool2d(2);
        block = nn.Sequential(
            nn.Conv2d(inChannels, mid, 1, bias: false), nn.BatchNorm2d(mid), nn.PReLU(),
            nn.ConvTranspose2d(mid, mid, 2, stride: 2, bias: false), nn.BatchNorm2d(mid), nn.PReLU(),
            nn.Conv2d(mid, outChannels, 1, bias: false), nn.BatchNorm2d(outChannels), nn.Dropout2d(0.1));
        act = nn.PReLU();
        RegisterComponents();
    }

    public override string GetName() => "UpsamplingBottleneck";

    public override Tensor forward(Tensor input, Tensor indices) =>
        act.call(upsampling.call(conv.call(input), indices, null) + block.call(input));
}

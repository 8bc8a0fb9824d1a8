using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Networks;

/// <summary>
/// ERFNet (Romera et al., 2017) as in the authors' public implementation (Eromera/erfnet_pytorch, also bundled by
/// EagleMIT/EMKD): convolutions with bias, BatchNorm eps 1e-3, functional ReLU (as the reference, which holds no ReLU
/// modules), factorised "non-bottleneck-1D" residual blocks, and a 2×2 transposed convolution as classifier. Parameter
/// names follow the reference (<c>encoder.layers.7.conv3x1_2.weight</c>, <c>decoder.output_conv.bias</c>, ...).
/// <para>
/// Width 1 has 2,063,344 parameters with 3 input channels and 2 classes (2,063,150 with 1 class; 2,063,130 with 1 input
/// channel), the Affinity-KD paper's 2.06 M. That includes the encoder's 1×1 output convolution (128 → classes, used by the
/// reference only when the encoder is trained alone), which is built but unused here too (<see cref="UnusedParameterPrefixes"/>).
/// </para>
/// <para>
/// <b>Width.</b> Widths 16, 64, 128 become round(c·w) with at least 4 channels, and each at least one more than the width
/// before it (a down-sampler's convolution produces out − in channels beside the max-pool). Input channels and classes
/// are never scaled.
/// </para>
/// </summary>
public sealed class ERFNet : SegmentationModel
{
    public const string InitialTap = "initial";
    public const string Stage1Tap = "stage1";
    public const string Up1Tap = "up1";

    private static readonly string[] tapNames = [InitialTap, Stage1Tap, EncoderTap, Up1Tap, DecoderTap, LogitsTap];

    // Layer indices (in encoder.layers / decoder.layers) after which the intermediate taps are read.
    private const int Stage1LastLayer = 5;
    private const int Up1LastLayer = 2;

    private readonly ERFNetEncoder encoder;
    private readonly ERFNetDecoder decoder;

    public ERFNet(ModelOptions options) : base("erfnet", options)
    {
        double w = options.Width;
        int c16 = Math.Max(options.InChannels + 1, NetworkRules.ScaleChannels(16, w, 4));
        int c64 = Math.Max(c16 + 1, NetworkRules.ScaleChannels(64, w, 4));
        int c128 = Math.Max(c64 + 1, NetworkRules.ScaleChannels(128, w, 4));
        Widths = [c16, c64, c128];
        encoder = new ERFNetEncoder(options.InChannels, options.Classes, c16, c64, c128);
        decoder = new ERFNetDecoder(options.Classes, c16, c64, c128);
        RegisterComponents();
    }

    /// <summary>The widths after scaling: [16, 64, 128] at width 1.</summary>
    public IReadOnlyList<int> Widths { get; }

    /// <summary>
    /// initial (16 ch, H/2), stage1 (after the five 64-channel blocks: 64 ch, H/4), encoder (128 ch, H/8),
    /// up1 (after the first upsampler and its two blocks: 64 ch, H/4), decoder (16 ch, H/2), logits.
    /// </summary>
    public override IReadOnlyList<string> TapNames => tapNames;
    public override int InputSizeMultiple => 8;

    public override IReadOnlyList<string> UnusedParameterPrefixes => ["encoder.output_conv."];

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput("ERFNet", input, InChannels, 8, NetworkRules.StudentSizeReason);
        using var scope = NewDisposeScope();
        var taps = new List<Tensor>(tapNames.Length);
        Tensor At(string tap, Tensor x)
        {
            taps.Add(x);
            return Tap(tap, x);
        }

        var x = At(InitialTap, encoder.initial_block.call(input));
        for (int i = 0; i < encoder.layers.Count; i++)
        {
            x = encoder.layers[i].call(x);
            if (i == Stage1LastLayer) At(Stage1Tap, x);
        }
        x = At(EncoderTap, x);
        for (int i = 0; i < decoder.layers.Count; i++)
        {
            x = decoder.layers[i].call(x);
            if (i == Up1LastLayer) At(Up1Tap, x);
        }
        At(DecoderTap, x);
        var logits = decoder.output_conv.call(x);

        scope.DisposeEverythingBut([logits, .. taps]);
        return logits;
    }
}

/// <summary>ERFNet's encoder (the reference's <c>Encoder</c>); <see cref="ERFNet"/> drives its layers.</summary>
public sealed class ERFNetEncoder : nn.Module
{
    internal ERFNetEncoder(int inChannels, int classes, int c16, int c64, int c128)
    {
        initial_block = new ErfDownsampler(inChannels, c16);
        var list = new List<nn.Module<Tensor, Tensor>> { new ErfDownsampler(c16, c64) };
        for (int i = 0; i < 5; i++) list.Add(new ErfNonBottleneck1D(c64, 0.03, 1));
        list.Add(new ErfDownsampler(c64, c128));
        for (int i = 0; i < 2; i++)
            foreach (int d in new[] { 2, 4, 8, 16 })
                list.Add(new ErfNonBottleneck1D(c128, 0.3, d));
        layers = nn.ModuleList(list.ToArray());
        // Used by the reference only to pre-train the encoder alone; built (and counted in Table 1) but not run here.
        output_conv = nn.Conv2d(c128, classes, 1);
        RegisterComponents();
    }

#pragma warning disable IDE1006 // the reference's attribute names, which become parameter-name prefixes
    internal readonly ErfDownsampler initial_block;
    internal readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
    internal readonly Conv2d output_conv;
#pragma warning restore IDE1006

    public override string GetName() => "Encoder";
}

/// <summary>ERFNet's decoder (the reference's <c>Decoder</c>).</summary>
public sealed class ERFNetDecoder : nn.Module
{
    internal ERFNetDecoder(int classes, int c16, int c64, int c128)
    {
        layers = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            new ErfUpsampler(c128, c64), new ErfNonBottleneck1D(c64, 0, 1), new ErfNonBottleneck1D(c64, 0, 1),
            new ErfUpsampler(c64, c16), new ErfNonBottleneck1D(c16, 0, 1), new ErfNonBottleneck1D(c16, 0, 1));
        output_conv = nn.ConvTranspose2d(c16, classes, 2, stride: 2);
        RegisterComponents();
    }

#pragma warning disable IDE1006
    internal readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
    internal readonly ConvTranspose2d output_conv;
#pragma warning restore IDE1006

    public override string GetName() => "Decoder";
}

/// <summary>Down-sampler: BN(concat[3×3 stride-2 conv (in → out − in), 2×2 max-pool]) → ReLU.</summary>
internal sealed class ErfDownsampler : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly MaxPool2d pool;
    private readonly BatchNorm2d bn;

    public ErfDownsampler(int inChannels, int outChannels)
    {
        conv = nn.Conv2d(inChannels, outChannels - inChannels, 3, stride: 2, padding: 1);
        pool = nn.MaxPool2d(2, stride: 2);
        bn = nn.BatchNorm2d(outChannels, eps: 1e-3);
        RegisterComponents();
    }

    public override string GetName() => "DownsamplerBlock";
    public override Tensor forward(Tensor input) => F.relu(bn.call(cat([conv.call(input), pool.call(input)], 1)));
}

/// <summary>
/// Non-bottleneck-1D residual block: 3×1 → ReLU → 1×3 → BN → ReLU → 3×1 (dilation d, 1) → ReLU → 1×3 (dilation 1, d) → BN
/// → Dropout2d(p) when p &gt; 0 → ReLU(· + input).
/// </summary>
internal sealed class ErfNonBottleneck1D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Conv2d conv3x1_1, conv1x3_1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv3x1_2, conv1x3_2;
    private readonly BatchNorm2d bn2;
    private readonly Dropout2d dropout;
#pragma warning restore IDE1006

    public ErfNonBottleneck1D(int channels, double dropProbability, int dilation)
    {
        conv3x1_1 = nn.Conv2d(channels, channels, [3, 1], padding: [1, 0]);
        conv1x3_1 = nn.Conv2d(channels, channels, [1, 3], padding: [0, 1]);
        bn1 = nn.BatchNorm2d(channels, eps: 1e-3);
        conv3x1_2 = nn.Conv2d(channels, channels, [3, 1], padding: [dilation, 0], dilation: [dilation, 1]);
        conv1x3_2 = nn.Conv2d(channels, channels, [1, 3], padding: [0, dilation], dilation: [1, dilation]);
        bn2 = nn.BatchNorm2d(channels, eps: 1e-3);
        dropout = nn.Dropout2d(dropProbability);
        RegisterComponents();
    }

    public override string GetName() => "non_bottleneck_1d";

    public override Tensor forward(Tensor input)
    {
        var x = F.relu(conv3x1_1.call(input));
        x = F.relu(bn1.call(conv1x3_1.call(x)));
        x = F.relu(conv3x1_2.call(x));
        x = bn2.call(conv1x3_2.call(x));
        if (dropout.p != 0) x = dropout.call(x);
        return F.relu(x + input);
    }
}

/// <summary>Upsampler: 3×3 stride-2 transposed conv (padding 1, output padding 1) → BN → ReLU.</summary>
internal sealed class ErfUpsampler : nn.Module<Tensor, Tensor>
{
    private readonly ConvTranspose2d conv;
    private readonly BatchNorm2d bn;

    public ErfUpsampler(int inChannels, int outChannels)
    {
        conv = nn.ConvTranspose2d(inChannels, outChannels, 3, stride: 2, padding: 1, output_padding: 1);
        bn = nn.BatchNorm2d(outChannels, eps: 1e-3);
        RegisterComponents();
    }

    public override string GetName() => "UpsamplerBlock";
    public override Tensor forward(Tensor input) => F.relu(bn.call(conv.call(input)));
}

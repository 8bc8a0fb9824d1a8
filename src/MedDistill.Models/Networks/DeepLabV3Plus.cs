using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Networks;

/// <summary>
/// DeepLabV3+ (Chen et al. 2018) with the aligned Xception-65 backbone at output stride 8 and no auxiliary head, in the
/// form whose parameter count reproduces the Affinity-KD paper's 56.8 M: backbone <c>pretrained</c> (<see cref="Xception65"/>,
/// including its unused ImageNet fc) and head <c>head</c> (ASPP at rates 12/24/36 with image pooling, 3×3 low-level
/// projection 128→48, two 3×3 decoder convs with dropout, 1×1 classifier with bias).
/// <para>
/// Forward: the stride-4 low-level map (after block 1 and the backbone ReLU) and the stride-8 final map feed the head; the
/// ASPP output is resized to the low-level map and the logits to the input size, both bilinearly with align_corners=True
/// (functional interpolation, as in the reference). For inputs that are multiples of 8 the last resize is exactly ×4.
/// </para>
/// <para>Input: height and width multiples of <see cref="InputMultiple"/> (8, the output stride).</para>
/// </summary>
public sealed class DeepLabV3Plus : SegmentationModel
{
    /// <summary>
    /// Required divisor of height and width. The output stride is 8; a multiple of 8 makes every stage's grid an exact
    /// subsampling of the input, so the ASPP map is exactly half the low-level map and the final resize exactly ×4.
    /// </summary>
    public const int InputMultiple = 8;

    public static readonly int[] AtrousRates = [12, 24, 36];

    private static readonly string[] taps = ["stem", "low_level", "mid_level", EncoderTap, "aspp", DecoderTap, LogitsTap];

    private readonly Xception65 pretrained;
    private readonly DeepLabHead head;

    public DeepLabV3Plus(ModelOptions options) : base("deeplabv3plus", options)
    {
        pretrained = new Xception65(options.InChannels, options.Width);
        head = new DeepLabHead(options.Classes, pretrained.OutputChannels, pretrained.LowLevelChannels, options.Width);
        register_module("pretrained", pretrained);
        register_module("head", head);
    }

    public Xception65 Backbone => pretrained;

    public override IReadOnlyList<string> TapNames => taps;
    public override int InputSizeMultiple => InputMultiple;

    /// <summary>The backbone's ImageNet classifier: registered and counted (Table 1's 56.8 M includes it), never run.</summary>
    public override IReadOnlyList<string> UnusedParameterPrefixes => ["pretrained.fc."];

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput(Name, input, InChannels, InputMultiple, "the output stride of the Xception backbone");
        var b = pretrained;
        // Entry flow, walked here as the reference's base_forward does.
        var x = Tap("stem", b.relu.call(b.bn1.call(b.conv1.call(input))));
        x = b.relu.call(b.bn2.call(b.conv2.call(x)));
        var lowLevel = Tap("low_level", b.relu.call(b.block1.call(x)));
        x = b.block3.call(b.block2.call(lowLevel));
        x = Tap("mid_level", b.midflow.call(x));
        // Exit flow.
        x = b.relu.call(b.block20.call(x));
        x = b.relu.call(b.bn3.call(b.conv3.call(x)));
        x = b.relu.call(b.bn4.call(b.conv4.call(x)));
        var features = Tap(EncoderTap, b.relu.call(b.bn5.call(b.conv5.call(x))));

        var (logits, aspp, decoder) = head.ForwardFeatures(features, lowLevel);
        Tap("aspp", aspp);
        Tap(DecoderTap, decoder);
        return F.interpolate(logits, [input.size(2), input.size(3)], mode: InterpolationMode.Bilinear, align_corners: true);
    }
}

/// <summary>Conv (no bias) → BN → ReLU with the reference's names <c>conv</c>, <c>bn</c>, <c>relu</c>.</summary>
public sealed class ConvBNReLU : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly ReLU relu;

    public ConvBNReLU(long inChannels, long outChannels, long kernelSize, long padding = 0)
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, padding: padding, bias: false);
        bn = nn.BatchNorm2d(outChannels);
        relu = nn.ReLU();
        register_module("conv", conv);
        register_module("bn", bn);
        register_module("relu", relu);
    }

    public override Tensor forward(Tensor input) => relu.call(bn.call(conv.call(input)));
}

/// <summary>One dilated ASPP branch: Sequential <c>block</c> of Conv3×3 (dilation = padding = rate, no bias), BN, ReLU.</summary>
public sealed class AsppConv : nn.Module<Tensor, Tensor>
{
    private readonly Sequential block;

    public AsppConv(long inChannels, long outChannels, long rate)
    {
        block = nn.Sequential(
            nn.Conv2d(inChannels, outChannels, 3, padding: rate, dilation: rate, bias: false), nn.BatchNorm2d(outChannels), nn.ReLU());
        register_module("block", block);
    }

    public override Tensor forward(Tensor input) => block.call(input);
}

/// <summary>
/// The ASPP image-pooling branch: Sequential <c>gap</c> of global average pooling, Conv1×1 (no bias), BN, ReLU, then the
/// 1×1 result spread back over the input's grid (functional bilinear resize, align_corners=True, which copies the value).
/// </summary>
public sealed class AsppPooling : nn.Module<Tensor, Tensor>
{
    private readonly Sequential gap;

    public AsppPooling(long inChannels, long outChannels)
    {
        gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(inChannels, outChannels, 1, bias: false), nn.BatchNorm2d(outChannels), nn.ReLU());
        register_module("gap", gap);
    }

    public override Tensor forward(Tensor input) =>
        F.interpolate(gap.call(input), [input.size(2), input.size(3)], mode: InterpolationMode.Bilinear, align_corners: true);
}

/// <summary>
/// Atrous spatial pyramid pooling: <c>b0</c> (1×1), <c>b1..b3</c> (3×3 at the three rates), <c>b4</c> (image pooling), each
/// to <c>outChannels</c>; their concatenation is projected (<c>project</c>: Conv1×1, BN, ReLU, Dropout 0.5).
/// </summary>
public sealed class Aspp : nn.Module<Tensor, Tensor>
{
    private readonly Sequential b0;
    private readonly AsppConv b1, b2, b3;
    private readonly AsppPooling b4;
    private readonly Sequential project;

    public Aspp(long inChannels, long outChannels, IReadOnlyList<int> rates)
    {
        if (rates.Count != 3) throw new ArgumentException($"ASPP takes three atrous rates, got {rates.Count}", nameof(rates));
        b0 = nn.Sequential(nn.Conv2d(inChannels, outChannels, 1, bias: false), nn.BatchNorm2d(outChannels), nn.ReLU());
        b1 = new AsppConv(inChannels, outChannels, rates[0]);
        b2 = new AsppConv(inChannels, outChannels, rates[1]);
        b3 = new AsppConv(inChannels, outChannels, rates[2]);
        b4 = new AsppPooling(inChannels, outChannels);
        project = nn.Sequential(
            nn.Conv2d(5 * outChannels, outChannels, 1, bias: false), nn.BatchNorm2d(outChannels), nn.ReLU(), nn.Dropout(0.5));
        register_module("b0", b0);
        register_module("b1", b1);
        register_module("b2", b2);
        register_module("b3", b3);
        register_module("b4", b4);
        register_module("project", project);
    }

    public override Tensor forward(Tensor input) =>
        project.call(cat([b0.call(input), b1.call(input), b2.call(input), b3.call(input), b4.call(input)], 1));
}

/// <summary>
/// The DeepLabV3+ head: <c>aspp</c> on the backbone's final map; <c>c1_block</c> (Conv3×3 low-level → 48, BN, ReLU);
/// <c>block</c> = [ConvBNReLU 3×3 (256+48 → 256), Dropout 0.5, ConvBNReLU 3×3 (256 → 256), Dropout 0.1, Conv1×1 256 → classes
/// with bias] on the concatenation [resized ASPP output, projected low-level map]. 256 and 48 scale with the width.
/// </summary>
public sealed class DeepLabHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Aspp aspp;
    private readonly ConvBNReLU c1_block;
    private readonly Sequential block;

    public DeepLabHead(long classes, long inChannels, long lowLevelChannels, double width)
    {
        int asppChannels = NetworkRules.ScaleChannels(256, width);
        int lowLevelProjected = NetworkRules.ScaleChannels(48, width);
        int decoderChannels = NetworkRules.ScaleChannels(256, width);
        aspp = new Aspp(inChannels, asppChannels, DeepLabV3Plus.AtrousRates);
        c1_block = new ConvBNReLU(lowLevelChannels, lowLevelProjected, 3, padding: 1);
        block = nn.Sequential(
            new ConvBNReLU(asppChannels + lowLevelProjected, decoderChannels, 3, padding: 1),
            nn.Dropout(0.5),
            new ConvBNReLU(decoderChannels, decoderChannels, 3, padding: 1),
            nn.Dropout(0.1),
            nn.Conv2d(decoderChannels, classes, 1));
        register_module("aspp", aspp);
        register_module("c1_block", c1_block);
        register_module("block", block);
    }

    public override string GetName() => "_DeepLabHead";

    public override Tensor forward(Tensor features, Tensor lowLevel) => ForwardFeatures(features, lowLevel).logits;

    /// <summary>
    /// Logits at the low-level map's resolution, with the ASPP output (at the backbone's resolution) and the decoder feature
    /// the classifier reads (after the last dropout, i.e. exactly the classifier's input).
    /// </summary>
    public (Tensor logits, Tensor aspp, Tensor decoder) ForwardFeatures(Tensor features, Tensor lowLevel)
    {
        var c1 = c1_block.call(lowLevel);
        var asppOut = aspp.call(features);
        var x = F.interpolate(asppOut, [lowLevel.size(2), lowLevel.size(3)], mode: InterpolationMode.Bilinear, align_corners: true);
        x = cat([x, c1], 1);
        // block's layers run one by one (each through call) so the classifier's input can be handed out.
        for (int i = 0; i < block.Count - 1; i++) x = block[i].call(x);
        return (block[^1].call(x), asppOut, x);
    }
}

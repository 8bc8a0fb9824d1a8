using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Networks;

/// <summary>Which decoder stage feeds <see cref="ResNet18UNet"/>'s auxiliary head, named by its resolution.</summary>
public enum AuxStage
{
    /// <summary>The first decoder stage, at 1/16 of the input (256·Width channels).</summary>
    Sixteenth,
    /// <summary>The second decoder stage, at 1/8 (128·Width channels).</summary>
    Eighth,
    /// <summary>The third decoder stage, at 1/4 (64·Width channels): the default.</summary>
    Quarter,
    /// <summary>The fourth decoder stage, at 1/2 (32·Width channels).</summary>
    Half,
}

/// <summary>
/// The U-Net with a ResNet-18 encoder that ACW-SKD (Yu et al., Sci Rep 2025) distils into itself, with the auxiliary head
/// whose coarse logits the method turns into class-wise masks. Only the paper's abstract is known, so everything below
/// the encoder is this harness's choice (docs/models.md, "resnet18-unet").
/// <para>
/// <b>Encoder</b>: ResNet-18 without its pooling and fc layers, parameter names as torchvision's (<c>encoder.conv1</c>,
/// <c>encoder.layer2.0.downsample.0</c>, ...) so ImageNet weights load by prefix; 11,176,512 parameters with 3 input
/// channels at Width 1. <b>Decoder</b>: five stages, each: nearest upsampling to the size of the next skip (so any input
/// size works), concatenation [skip, upsampled], and the zoo's U-Net double conv (<see cref="UNetDoubleConv"/>). Skips are
/// layer3 (1/16), layer2 (1/8), layer1 (1/4) and the stem (1/2); the last stage reaches full resolution without a skip.
/// Decoder widths 256, 128, 64, 32, 16. A 1×1 classifier with bias gives the logits.
/// </para>
/// <para>
/// <b>Auxiliary head</b> (<c>aux_head</c>): 3×3 conv (no bias) → BN → ReLU → 1×1 conv with bias to the classes, on the
/// decoder stage chosen by <see cref="AuxStage"/>. It runs only when <see cref="AuxLogitsTap"/> is requested: the deployed
/// network (plain forward) never pays for it, and a plain supervised loss leaves its parameters without gradient, which
/// is why they are listed in <see cref="UnusedParameterPrefixes"/>.
/// </para>
/// <para><b>Width</b>: every internal channel count c becomes <see cref="NetworkRules.ScaleChannels"/>(c, Width).</para>
/// </summary>
public sealed class ResNet18UNet : SegmentationModel
{
    public const string RegistryName = "resnet18-unet";

    /// <summary>Stem output after ReLU, before the max-pool (64 ch, 1/2).</summary>
    public const string StemTap = "stem";
    public const string Layer1Tap = "layer1";
    public const string Layer2Tap = "layer2";
    public const string Layer3Tap = "layer3";
    /// <summary>Decoder stages 1..4 (1/16, 1/8, 1/4, 1/2); stage 5 (full resolution) is <see cref="SegmentationModel.DecoderTap"/>.</summary>
    public static readonly IReadOnlyList<string> DecoderStageTaps = ["up1", "up2", "up3", "up4"];
    /// <summary>The decoder features the auxiliary head reads (the <see cref="AuxStage"/> stage's output).</summary>
    public const string AuxFeaturesTap = "aux_features";
    /// <summary>The auxiliary head's coarse logits, (N, classes) at the aux stage's resolution; requesting it runs the head.</summary>
    public const string AuxLogitsTap = "aux_logits";
    /// <summary>The final decoder features before the 1×1 classifier (the same tensor as <see cref="SegmentationModel.DecoderTap"/>).</summary>
    public const string PenultimateTap = "penultimate";

    /// <summary>Prefix of the auxiliary head's parameters.</summary>
    public const string AuxHeadPrefix = "aux_head.";

    private static readonly int[] EncoderWidths = [64, 128, 256, 512];
    private static readonly int[] DecoderWidths = [256, 128, 64, 32, 16];

    private readonly ResNet18Encoder encoder;
    private readonly ResNet18UNetDecoderBlock[] decoder;
    private readonly Sequential aux_head;
    private readonly Conv2d classifier;
    private readonly string[] tapNames;

    public ResNet18UNet(ModelOptions options) : this(options, AuxStage.Quarter) { }

    public ResNet18UNet(ModelOptions options, AuxStage auxStage) : base(RegistryName, options)
    {
        if (!Enum.IsDefined(auxStage)) throw new ArgumentOutOfRangeException(nameof(auxStage), auxStage, $"{RegistryName}: unknown aux stage");
        AuxStage = auxStage;
        int[] e = [.. EncoderWidths.Select(c => NetworkRules.ScaleChannels(c, options.Width))];
        int[] d = [.. DecoderWidths.Select(c => NetworkRules.ScaleChannels(c, options.Width))];
        EncoderChannels = e;
        DecoderChannels = d;

        encoder = new ResNet18Encoder(options.InChannels, e);
        // Skip channels per decoder stage: layer3, layer2, layer1, stem (the stem has layer1's width), none.
        int[] skips = [e[2], e[1], e[0], e[0], 0];
        decoder = new ResNet18UNetDecoderBlock[5];
        for (int i = 0; i < 5; i++) decoder[i] = new ResNet18UNetDecoderBlock(i == 0 ? e[3] : d[i - 1], skips[i], d[i]);
        int auxChannels = d[(int)auxStage];
        aux_head = nn.Sequential(
            nn.Conv2d(auxChannels, auxChannels, 3, padding: 1, bias: false), nn.BatchNorm2d(auxChannels), nn.ReLU(),
            nn.Conv2d(auxChannels, options.Classes, 1));
        classifier = nn.Conv2d(d[4], options.Classes, 1);

        register_module("encoder", encoder);
        for (int i = 0; i < 5; i++) register_module($"decoder{i + 1}", decoder[i]);
        register_module("aux_head", aux_head);
        register_module("classifier", classifier);

        var stages = DecoderStageTaps.ToList();
        stages.InsertRange((int)auxStage + 1, [AuxFeaturesTap, AuxLogitsTap]);
        tapNames = [StemTap, Layer1Tap, Layer2Tap, Layer3Tap, EncoderTap, .. stages, DecoderTap, PenultimateTap, LogitsTap];
    }

    public AuxStage AuxStage { get; }

    /// <summary>How many times smaller than the input the aux stage is (16, 8, 4 or 2; sizes round up).</summary>
    public int AuxStride => 16 >> (int)AuxStage;

    /// <summary>Encoder stage widths after scaling (64, 128, 256, 512 at Width 1).</summary>
    public IReadOnlyList<int> EncoderChannels { get; }

    /// <summary>Decoder stage widths after scaling (256, 128, 64, 32, 16 at Width 1).</summary>
    public IReadOnlyList<int> DecoderChannels { get; }

    /// <summary>Channels of <see cref="AuxFeaturesTap"/>.</summary>
    public int AuxChannels => DecoderChannels[(int)AuxStage];

    public override IReadOnlyList<string> TapNames => tapNames;

    /// <summary>
    /// Any size: every stride-2 layer rounds up (⌈H/2⌉) and each decoder stage upsamples to its skip's exact size, then the
    /// last to the input's. Sizes that are multiples of 32 keep every map an exact power-of-two fraction of the input.
    /// </summary>
    public override int InputSizeMultiple => 1;

    public override IReadOnlyList<string> UnusedParameterPrefixes => [AuxHeadPrefix];

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput(Name, input, InChannels, 1, "any positive size");
        var (stem, l1, l2, l3, l4) = encoder.Stages(input);
        Tap(StemTap, stem);
        Tap(Layer1Tap, l1);
        Tap(Layer2Tap, l2);
        Tap(Layer3Tap, l3);
        var x = Tap(EncoderTap, l4);
        Tensor[] skips = [l3, l2, l1, stem];
        for (int i = 0; i < 4; i++)
        {
            x = Tap(DecoderStageTaps[i], decoder[i].call(x, skips[i]));
            if (i == (int)AuxStage)
            {
                Tap(AuxFeaturesTap, x);
                if (IsTapRequested(AuxLogitsTap)) Tap(AuxLogitsTap, aux_head.call(x));
            }
        }
        // The last stage has no skip: it reads only the input's size.
        x = decoder[4].call(x, input);
        Tap(DecoderTap, x);
        Tap(PenultimateTap, x);
        return classifier.call(x);
    }
}

/// <summary>
/// ResNet-18's body (He et al. 2016) as torchvision lays it out: conv1 7×7/2 (no bias) → bn1 → relu → maxpool 3×3/2, then
/// layer1..layer4 of two <see cref="ResNetBasicBlock"/>s each, strides 1, 2, 2, 2. No global pooling or fc.
/// </summary>
public sealed class ResNet18Encoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1, layer2, layer3, layer4;

    /// <param name="inChannels">Image channels (torchvision's is 3; only conv1 depends on it).</param>
    /// <param name="widths">The four stage widths (64, 128, 256, 512 for the published network); the stem has the first.</param>
    public ResNet18Encoder(int inChannels, IReadOnlyList<int> widths)
    {
        if (widths.Count != 4) throw new ArgumentException("ResNet-18 has four stages", nameof(widths));
        conv1 = nn.Conv2d(inChannels, widths[0], 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(widths[0]);
        relu = nn.ReLU();
        maxpool = nn.MaxPool2d(3, 2, 1);
        layer1 = Stage(widths[0], widths[0], 1);
        layer2 = Stage(widths[0], widths[1], 2);
        layer3 = Stage(widths[1], widths[2], 2);
        layer4 = Stage(widths[2], widths[3], 2);
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("relu", relu);
        register_module("maxpool", maxpool);
        register_module("layer1", layer1);
        register_module("layer2", layer2);
        register_module("layer3", layer3);
        register_module("layer4", layer4);
    }

    private static Sequential Stage(int inChannels, int outChannels, int stride) =>
        nn.Sequential(new ResNetBasicBlock(inChannels, outChannels, stride), new ResNetBasicBlock(outChannels, outChannels, 1));

    public override string GetName() => "ResNet18Encoder";

    /// <summary>The deepest features (layer4), for use as a plain backbone.</summary>
    public override Tensor forward(Tensor input) => Stages(input).Layer4;

    /// <summary>Every map a U-Net decoder needs: the stem (before the max-pool) and each stage's output.</summary>
    public (Tensor Stem, Tensor Layer1, Tensor Layer2, Tensor Layer3, Tensor Layer4) Stages(Tensor input)
    {
        var stem = relu.call(bn1.call(conv1.call(input)));
        var l1 = layer1.call(maxpool.call(stem));
        var l2 = layer2.call(l1);
        var l3 = layer3.call(l2);
        return (stem, l1, l2, l3, layer4.call(l3));
    }
}

/// <summary>
/// ResNet's basic block: 3×3 conv (stride s) → BN → ReLU → 3×3 conv → BN, plus the shortcut, then ReLU. The shortcut is
/// the identity unless the stride or width changes; then a 1×1 conv with stride s (no bias) and BN (<c>downsample</c>).
/// </summary>
public sealed class ResNetBasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly ReLU relu;
    private readonly Sequential? downsample;

    public ResNetBasicBlock(int inChannels, int outChannels, int stride)
    {
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(outChannels);
        relu = nn.ReLU();
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(outChannels);
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("relu", relu);
        register_module("conv2", conv2);
        register_module("bn2", bn2);
        if (stride != 1 || inChannels != outChannels)
        {
            downsample = nn.Sequential(nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false), nn.BatchNorm2d(outChannels));
            register_module("downsample", downsample);
        }
    }

    public override string GetName() => "BasicBlock";

    public override Tensor forward(Tensor input)
    {
        var residual = bn2.call(conv2.call(relu.call(bn1.call(conv1.call(input)))));
        var shortcut = downsample is null ? input : downsample.call(input);
        return relu.call(residual + shortcut);
    }
}

/// <summary>
/// One decoder stage: nearest upsampling of the deeper map to the size of <c>skip</c>, concatenation [skip, upsampled]
/// when the stage has skip channels, then the zoo's U-Net double conv (<c>conv</c>). A stage without skip channels reads
/// only the size of its second argument (the last stage gets the input image, to reach full resolution).
/// </summary>
public sealed class ResNet18UNetDecoderBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly UNetDoubleConv conv;

    /// <param name="inChannels">Channels of the deeper map.</param>
    /// <param name="skipChannels">Channels of the skip (0: none).</param>
    /// <param name="outChannels">Channels after the double conv.</param>
    public ResNet18UNetDecoderBlock(int inChannels, int skipChannels, int outChannels)
    {
        SkipChannels = skipChannels;
        conv = new UNetDoubleConv(inChannels + skipChannels, outChannels);
        register_module("conv", conv);
    }

    public int SkipChannels { get; }

    public override string GetName() => "DecoderBlock";

    public override Tensor forward(Tensor deeper, Tensor skip)
    {
        var up = F.interpolate(deeper, size: [skip.shape[2], skip.shape[3]], mode: InterpolationMode.Nearest);
        return conv.call(SkipChannels == 0 ? up : cat([skip, up], 1));
    }
}

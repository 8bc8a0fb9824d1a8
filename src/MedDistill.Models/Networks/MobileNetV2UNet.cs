using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Networks;

/// <summary>
/// MobileNetV2-UNet, the lightweight student of GKD (Qi et al., JBHI 2024), in the form of the widely used public
/// MobileNetV2-UNet that the authors' <c>networks/student.py</c> follows (docs/models.md, "mobilenetv2-unet").
/// <para>
/// <b>Encoder</b> (<c>backbone.features</c>, named as torchvision's <c>mobilenet_v2().features</c> so ImageNet weights load
/// by prefix): a 3×3 stride-2 stem of 32 channels, the inverted-residual stage table t, c, n, s = (1,16,1,1), (6,24,2,2),
/// (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1), and the final 1×1 conv to 1280, all with BN and ReLU6.
/// The U-Net reads it where the resolution changes, as the reference splits it (features[0:2], [2:4], [4:7], [7:14],
/// [14:19]): 16 ch at 1/2, 24 at 1/4, 32 at 1/8, 96 at 1/16 and 1280 at 1/32 (the <c>encoder</c> tap).
/// </para>
/// <para>
/// <b>Decoder</b>: four steps, each a 4×4 stride-2 transposed conv (padding 1, with bias) to the skip's width,
/// concatenation [skip, upsampled] and an inverted residual (t = 6, stride 1) back to the skip's width, as the reference's
/// <c>dconv1..4</c>/<c>invres1..4</c>. <b>Head</b>: one 1×1 conv with bias from the last decoder map (16 ch, 1/2) to the
/// classes, then 2× bilinear upsampling (align_corners=false) to the input size. The reference's head is two 1×1 convs
/// 16 → 3 → classes with nothing between them: a rank-3 linear map, which would cap a 9-class task at rank 3, so this
/// harness uses the single 1×1 conv (16·classes + classes parameters instead of 51 + 4·classes).
/// </para>
/// <para>
/// Width 1, 1 input channel, 2 classes: 4,682,298 parameters (with 3 input channels and no head, 4,682,840: the
/// "4.68 M without classifier" of the notes).
/// </para>
/// <para>
/// <b>Width.</b> Every channel count c, including the 32-channel stem and the final 1280, becomes
/// <see cref="MakeDivisible"/>(c·Width): MobileNetV2's rounding to a multiple of 8, at least 8 and never more than 10%
/// below c·Width. torchvision keeps 1280 for widths below 1; scaling it too keeps a thin student thin (at 1280 its
/// 1280 → 96 transposed conv alone has 1.97 M parameters). Expanded widths are round(in·t). The decoder's widths are the
/// scaled skip widths. Input channels and classes are never scaled.
/// </para>
/// </summary>
public sealed class MobileNetV2UNet : SegmentationModel
{
    public const string RegistryName = "mobilenetv2-unet";
    public const int InputMultiple = 32;

    /// <summary>The five encoder levels: end of features[1] (1/2), [3] (1/4), [6] (1/8), [13] (1/16); [18] is encoder (1/32).</summary>
    public static readonly IReadOnlyList<string> EncoderLevelTaps = ["stage1", "stage2", "stage3", "stage4"];

    /// <summary>Outputs of the first three decoder steps (1/16, 1/8, 1/4); the fourth (1/2) is <see cref="SegmentationModel.DecoderTap"/>.</summary>
    public static readonly IReadOnlyList<string> DecoderStepTaps = ["up1", "up2", "up3"];

    /// <summary>MobileNetV2's stage table: expansion t, channels c, blocks n, first stride s.</summary>
    public static readonly IReadOnlyList<(int T, int C, int N, int S)> StageTable =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    public const int StemChannels = 32;
    public const int LastChannels = 1280;
    public const int DecoderExpansion = 6;

    // features indices after which each encoder level ends (exclusive ends of the reference's slices, minus one).
    private static readonly int[] LevelEnds = [1, 3, 6, 13, 18];

    private static readonly string[] tapNames = [.. EncoderLevelTaps, EncoderTap, .. DecoderStepTaps, DecoderTap, LogitsTap];

    private readonly MobileNetV2Encoder backbone;
    private readonly ConvTranspose2d[] dconv;
    private readonly InvertedResidual[] invres;
    private readonly Conv2d head;

    public MobileNetV2UNet(ModelOptions options) : base(RegistryName, options)
    {
        backbone = new MobileNetV2Encoder(options.InChannels, options.Width);
        var level = backbone.LevelChannels;
        SkipChannels = [level[3], level[2], level[1], level[0]];
        dconv = new ConvTranspose2d[4];
        invres = new InvertedResidual[4];
        int previous = level[4];
        for (int i = 0; i < 4; i++)
        {
            int skip = SkipChannels[i];
            dconv[i] = nn.ConvTranspose2d(previous, skip, 4, stride: 2, padding: 1);
            invres[i] = new InvertedResidual(2 * skip, skip, 1, DecoderExpansion);
            previous = skip;
        }
        head = nn.Conv2d(previous, options.Classes, 1);

        register_module("backbone", backbone);
        for (int i = 0; i < 4; i++)
        {
            register_module($"dconv{i + 1}", dconv[i]);
            register_module($"invres{i + 1}", invres[i]);
        }
        register_module("head", head);
    }

    /// <summary>Widths of the five encoder levels after scaling (16, 24, 32, 96, 1280 at Width 1).</summary>
    public IReadOnlyList<int> LevelChannels => backbone.LevelChannels;

    /// <summary>Widths of the four decoder steps, the skips' (96, 32, 24, 16 at Width 1).</summary>
    public IReadOnlyList<int> SkipChannels { get; }

    /// <summary>
    /// stage1 (16 ch, H/2), stage2 (24, H/4), stage3 (32, H/8), stage4 (96, H/16), encoder (1280, H/32),
    /// up1 (96, H/16), up2 (32, H/8), up3 (24, H/4), decoder (16, H/2), logits (classes, H).
    /// </summary>
    public override IReadOnlyList<string> TapNames => tapNames;
    public override int InputSizeMultiple => InputMultiple;

    /// <summary>
    /// MobileNetV2's rule (make_divisible with divisor 8): round <paramref name="value"/> to the nearest multiple of 8
    /// (halves up), at least 8, and add 8 when rounding lost more than 10%.
    /// </summary>
    public static int MakeDivisible(double value, int divisor = 8)
    {
        if (!(value > 0) || double.IsInfinity(value)) throw new ArgumentException($"{RegistryName}: a channel count must be positive, got {value}");
        if (value > int.MaxValue / 2) throw new ArgumentException($"{RegistryName}: {value} channels overflow");
        int rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput(Name, input, InChannels, InputMultiple,
            "the encoder halves the size five times and the decoder doubles it back exactly");
        using var scope = NewDisposeScope();
        var kept = new List<Tensor>(tapNames.Length);
        Tensor At(string tap, Tensor t)
        {
            var result = Tap(tap, t);
            kept.Add(result);
            return result;
        }

        var skips = new Tensor[4];
        var x = input;
        int next = 0;
        for (int level = 0; level < LevelEnds.Length; level++)
        {
            for (; next <= LevelEnds[level]; next++) x = backbone.features[next].call(x);
            if (level < 4) skips[level] = At(EncoderLevelTaps[level], x);
        }
        // The decoder continues from what the tap returns, so a map substituted at the encoder tap is what gets decoded.
        x = At(EncoderTap, x);
        for (int i = 0; i < 4; i++)
        {
            x = invres[i].call(cat([skips[3 - i], dconv[i].call(x)], 1));
            x = At(i < 3 ? DecoderStepTaps[i] : DecoderTap, x);
        }
        var logits = F.interpolate(head.call(x), scale_factor: [2.0, 2.0], mode: InterpolationMode.Bilinear, align_corners: false);

        scope.DisposeEverythingBut([logits, .. kept]);
        return logits;
    }
}

/// <summary>
/// MobileNetV2's feature extractor as torchvision lays it out (<c>features.0</c> the stem conv-BN-ReLU6,
/// <c>features.1..17</c> the inverted residuals of <see cref="MobileNetV2UNet.StageTable"/>, <c>features.18</c> the 1×1
/// conv-BN-ReLU6 to 1280), without the classifier. <see cref="MobileNetV2UNet"/> runs its layers one by one.
/// </summary>
public sealed class MobileNetV2Encoder : nn.Module
{
    public MobileNetV2Encoder(int inChannels, double width)
    {
        int channels = MobileNetV2UNet.MakeDivisible(MobileNetV2UNet.StemChannels * width);
        var layers = new List<nn.Module<Tensor, Tensor>> { ConvBnReLU6(inChannels, channels, 3, 2) };
        var levels = new List<int>();
        foreach (var (t, c, n, s) in MobileNetV2UNet.StageTable)
        {
            int output = MobileNetV2UNet.MakeDivisible(c * width);
            for (int i = 0; i < n; i++)
            {
                layers.Add(new InvertedResidual(channels, output, i == 0 ? s : 1, t));
                channels = output;
            }
        }
        int last = MobileNetV2UNet.MakeDivisible(MobileNetV2UNet.LastChannels * width);
        layers.Add(ConvBnReLU6(channels, last, 1, 1));
        features = nn.Sequential(layers.ToArray());
        // Widths at the ends of features[1], [3], [6], [13], [18]: the stage-table rows 1, 2, 3, 5 and the last conv.
        LevelChannels = [Out(0), Out(1), Out(2), Out(4), last];
        RegisterComponents();

        int Out(int row) => MobileNetV2UNet.MakeDivisible(MobileNetV2UNet.StageTable[row].C * width);
    }

#pragma warning disable IDE1006 // torchvision's attribute name, which becomes the parameter-name prefix
    internal readonly Sequential features;
#pragma warning restore IDE1006

    public IReadOnlyList<int> LevelChannels { get; }

    public override string GetName() => "MobileNetV2";

    /// <summary>conv (no bias) → BN → ReLU6 with "same" padding, torchvision's Conv2dNormActivation (keys 0, 1, 2).</summary>
    internal static Sequential ConvBnReLU6(int inChannels, int outChannels, int kernel, int stride, int groups = 1) =>
        nn.Sequential(
            nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false),
            nn.BatchNorm2d(outChannels), nn.ReLU6());
}

/// <summary>
/// MobileNetV2's inverted residual (Sandler et al., 2018), torchvision's layout under <c>conv</c>: a 1×1 expansion to
/// round(in·t) channels (conv-BN-ReLU6; absent when t = 1), a 3×3 depthwise conv with the stride (conv-BN-ReLU6), and a
/// linear 1×1 projection (conv, BN) to the output width. The input is added back when the stride is 1 and the widths match.
/// </summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    public InvertedResidual(int inChannels, int outChannels, int stride, int expansion)
    {
        if (stride is not (1 or 2)) throw new ArgumentException($"InvertedResidual: stride must be 1 or 2, got {stride}", nameof(stride));
        if (expansion < 1) throw new ArgumentException($"InvertedResidual: expansion must be at least 1, got {expansion}", nameof(expansion));
        int hidden = (int)Math.Round((double)inChannels * expansion, MidpointRounding.AwayFromZero);
        UsesResidual = stride == 1 && inChannels == outChannels;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        if (expansion != 1) layers.Add(MobileNetV2Encoder.ConvBnReLU6(inChannels, hidden, 1, 1));
        layers.Add(MobileNetV2Encoder.ConvBnReLU6(hidden, hidden, 3, stride, groups: hidden));
        layers.Add(nn.Conv2d(hidden, outChannels, 1, bias: false));
        layers.Add(nn.BatchNorm2d(outChannels));
        conv = nn.Sequential(layers.ToArray());
        register_module("conv", conv);
    }

    /// <summary>Whether the block adds its input to the projection (stride 1, equal widths).</summary>
    public bool UsesResidual { get; }

    public override string GetName() => "InvertedResidual";

    public override Tensor forward(Tensor input)
    {
        var y = conv.call(input);
        return UsesResidual ? input + y : y;
    }
}

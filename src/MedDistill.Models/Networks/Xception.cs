using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Networks;

/// <summary>
/// Depthwise-separable 3×3 convolution of the aligned Xception: the input is zero-padded (functionally, F.pad) so the
/// dilated kernel keeps the size at stride 1, then depthwise conv (<c>conv1</c>, groups = in), BN over the input channels
/// (<c>bn</c>), pointwise 1×1 (<c>pointwise</c>). All convolutions are bias-free.
/// </summary>
public sealed class SeparableConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn;
    private readonly Conv2d pointwise;
    private readonly long padBegin, padEnd;

    public SeparableConv2d(long inChannels, long outChannels, long kernelSize = 3, long stride = 1, long dilation = 1)
    {
        conv1 = nn.Conv2d(inChannels, inChannels, kernelSize, stride, padding: 0, dilation, groups: inChannels, bias: false);
        bn = nn.BatchNorm2d(inChannels);
        pointwise = nn.Conv2d(inChannels, outChannels, 1, bias: false);
        register_module("conv1", conv1);
        register_module("bn", bn);
        register_module("pointwise", pointwise);
        long padTotal = (kernelSize - 1) * dilation;
        padBegin = padTotal / 2;
        padEnd = padTotal - padBegin;
    }

    public override Tensor forward(Tensor input)
    {
        var padded = F.pad(input, [padBegin, padEnd, padBegin, padEnd]);
        return pointwise.call(bn.call(conv1.call(padded)));
    }
}

/// <summary>
/// The Xception block: a main path <c>rep</c> of [ReLU, SeparableConv2d, BN] units shaped by the start-with-ReLU, grow-first
/// and is-last flags, plus a skip path (1×1 conv <c>skip</c> + <c>skipbn</c>, when the channels or the stride change;
/// identity otherwise), summed.
/// <para>
/// As in the reference, the block owns one ReLU module (<c>relu</c>) that is also every ReLU entry of <c>rep</c>: the same
/// object is registered under both parents (so a FLOPs counter that walks the module tree sees it twice) and its
/// parameters (none) are listed once.
/// </para>
/// <para>
/// The reference's ReLU is in place, so when <c>rep</c> starts with it, the input tensor itself is activated before the skip
/// path reads it: the skip sees relu(x), not x. <see cref="SkipSeesActivatedInput"/> (default true) reproduces that.
/// </para>
/// </summary>
public sealed class XceptionBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d? skip;
    private readonly BatchNorm2d? skipbn;
    private readonly ReLU relu;
    private readonly Sequential rep;
    private readonly bool startsWithRelu;

    public XceptionBlock(long inChannels, long outChannels, int reps, long stride = 1, long dilation = 1,
        bool startWithRelu = true, bool growFirst = true, bool isLast = false, bool skipSeesActivatedInput = true)
    {
        if (reps < 1) throw new ArgumentOutOfRangeException(nameof(reps), reps, "an Xception block needs at least one repetition");
        if (outChannels != inChannels || stride != 1)
        {
            skip = nn.Conv2d(inChannels, outChannels, 1, stride, bias: false);
            skipbn = nn.BatchNorm2d(outChannels);
            register_module("skip", skip);
            register_module("skipbn", skipbn);
        }
        relu = nn.ReLU();
        register_module("relu", relu);

        var units = new List<nn.Module<Tensor, Tensor>>();
        long filters = inChannels;
        if (growFirst)
        {
            if (startWithRelu) units.Add(relu);
            units.Add(new SeparableConv2d(inChannels, outChannels, 3, 1, dilation));
            units.Add(nn.BatchNorm2d(outChannels));
            filters = outChannels;
        }
        for (int i = 0; i < reps - 1; i++)
        {
            if (growFirst || startWithRelu) units.Add(relu);
            units.Add(new SeparableConv2d(filters, filters, 3, 1, dilation));
            units.Add(nn.BatchNorm2d(filters));
        }
        if (!growFirst)
        {
            // The channel-growing unit comes last and has no BN of its own, as in the reference.
            units.Add(relu);
            units.Add(new SeparableConv2d(inChannels, outChannels, 3, 1, dilation));
        }
        if (stride != 1)
        {
            units.Add(relu);
            units.Add(new SeparableConv2d(outChannels, outChannels, 3, stride));
            units.Add(nn.BatchNorm2d(outChannels));
        }
        else if (isLast)
        {
            units.Add(relu);
            units.Add(new SeparableConv2d(outChannels, outChannels, 3, 1, dilation));
            units.Add(nn.BatchNorm2d(outChannels));
        }
        rep = nn.Sequential(units.ToArray());
        register_module("rep", rep);
        startsWithRelu = ReferenceEquals(units[0], relu);
        SkipSeesActivatedInput = skipSeesActivatedInput;
    }

    /// <summary>Whether the skip path reads the input after <c>rep</c>'s leading in-place ReLU (the reference's behaviour).</summary>
    public bool SkipSeesActivatedInput { get; }

    public override string GetName() => "Block";

    public override Tensor forward(Tensor input)
    {
        // rep's layers run one by one (each through call, so their hooks fire) to hand the skip path the tensor the
        // reference's in-place ReLU would have left in the input.
        var skipInput = input;
        var x = input;
        for (int i = 0; i < rep.Count; i++)
        {
            x = rep[i].call(x);
            if (i == 0 && startsWithRelu && SkipSeesActivatedInput) skipInput = x;
        }
        var residual = skip is null ? skipInput : skipbn!.call(skip.call(skipInput));
        return x + residual;
    }
}

/// <summary>
/// The modified aligned Xception-65 backbone at output stride 8 (entry block 3 at stride 1, middle flow at dilation 2,
/// exit flow at dilations 2 and 4), as the DeepLabV3+ reference builds it, including its unused ImageNet head
/// (<c>avgpool</c>, <c>fc</c> 2048→1000), which is registered and counted but never run.
/// Channel counts 32, 64, 128, 256, 728, 1024, 1536, 2048 are scaled by the width multiplier (<see cref="NetworkRules.ScaleChannels"/>);
/// the fc keeps its 1000 ImageNet outputs.
/// <para>
/// The network's own forward is not the classifier's: <see cref="DeepLabV3Plus"/> walks these modules itself (as the
/// reference's <c>base_forward</c> does) and reads the intermediate maps.
/// </para>
/// </summary>
public sealed class Xception65 : nn.Module
{
    public const int ImageNetClasses = 1000;

    public Xception65(long inChannels, double width = 1.0, bool skipSeesActivatedInput = true)
    {
        int C(int channels) => NetworkRules.ScaleChannels(channels, width);
        int c32 = C(32), c64 = C(64), c128 = C(128), c256 = C(256), c728 = C(728), c1024 = C(1024), c1536 = C(1536), c2048 = C(2048);
        // Output stride 8: entry block 3 keeps stride 1, the middle flow dilates by 2, the exit flow by 2 then 4.
        const long middleDilation = 2, exitDilation1 = 2, exitDilation2 = 4;

        conv1 = nn.Conv2d(inChannels, c32, 3, stride: 2, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(c32);
        relu = nn.ReLU();
        conv2 = nn.Conv2d(c32, c64, 3, stride: 1, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(c64);
        block1 = new XceptionBlock(c64, c128, reps: 2, stride: 2, startWithRelu: false, skipSeesActivatedInput: skipSeesActivatedInput);
        block2 = new XceptionBlock(c128, c256, reps: 2, stride: 2, startWithRelu: false, growFirst: true, skipSeesActivatedInput: skipSeesActivatedInput);
        block3 = new XceptionBlock(c256, c728, reps: 2, stride: 1, startWithRelu: true, growFirst: true, isLast: true,
            skipSeesActivatedInput: skipSeesActivatedInput);
        midflow = nn.Sequential();
        for (int i = 0; i < 16; i++)
            midflow.append(new XceptionBlock(c728, c728, reps: 3, stride: 1, dilation: middleDilation, startWithRelu: true, growFirst: true,
                skipSeesActivatedInput: skipSeesActivatedInput));
        block20 = new XceptionBlock(c728, c1024, reps: 2, stride: 1, dilation: exitDilation1, startWithRelu: true, growFirst: false, isLast: true,
            skipSeesActivatedInput: skipSeesActivatedInput);
        conv3 = new SeparableConv2d(c1024, c1536, 3, 1, exitDilation2);
        bn3 = nn.BatchNorm2d(c1536);
        conv4 = new SeparableConv2d(c1536, c1536, 3, 1, exitDilation2);
        bn4 = nn.BatchNorm2d(c1536);
        conv5 = new SeparableConv2d(c1536, c2048, 3, 1, exitDilation2);
        bn5 = nn.BatchNorm2d(c2048);
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc = nn.Linear(c2048, ImageNetClasses);

        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("relu", relu);
        register_module("conv2", conv2);
        register_module("bn2", bn2);
        register_module("block1", block1);
        register_module("block2", block2);
        register_module("block3", block3);
        register_module("midflow", midflow);
        register_module("block20", block20);
        register_module("conv3", conv3);
        register_module("bn3", bn3);
        register_module("conv4", conv4);
        register_module("bn4", bn4);
        register_module("conv5", conv5);
        register_module("bn5", bn5);
        register_module("avgpool", avgpool);
        register_module("fc", fc);

        LowLevelChannels = c128;
        OutputChannels = c2048;
    }

    public Conv2d conv1 { get; }
    public BatchNorm2d bn1 { get; }
    /// <summary>The backbone's one top-level ReLU, applied after every stem and exit-flow stage.</summary>
    public ReLU relu { get; }
    public Conv2d conv2 { get; }
    public BatchNorm2d bn2 { get; }
    public XceptionBlock block1 { get; }
    public XceptionBlock block2 { get; }
    public XceptionBlock block3 { get; }
    public Sequential midflow { get; }
    public XceptionBlock block20 { get; }
    public SeparableConv2d conv3 { get; }
    public BatchNorm2d bn3 { get; }
    public SeparableConv2d conv4 { get; }
    public BatchNorm2d bn4 { get; }
    public SeparableConv2d conv5 { get; }
    public BatchNorm2d bn5 { get; }
    /// <summary>ImageNet head of the published backbone; not used by the segmentation network.</summary>
    public AdaptiveAvgPool2d avgpool { get; }
    /// <summary>ImageNet classifier of the published backbone; not used by the segmentation network.</summary>
    public Linear fc { get; }

    /// <summary>Channels of the stride-4 map after block 1 (128 at width 1), the decoder's low-level input.</summary>
    public int LowLevelChannels { get; }

    /// <summary>Channels of the final feature map (2048 at width 1).</summary>
    public int OutputChannels { get; }

    public override string GetName() => "Xception65";
}

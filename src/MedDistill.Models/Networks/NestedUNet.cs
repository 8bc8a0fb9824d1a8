using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Models.Networks;

/// <summary>
/// UNet++ (Zhou et al., "UNet++: A Nested U-Net Architecture"), the NestedUNet of the public reference code, without deep
/// supervision. Nodes X(i,j) are VGG blocks: X(i,0) = VGG(pool X(i−1,0)); X(i,j) = VGG(cat[X(i,0) … X(i,j−1), up X(i+1,j−1)])
/// with f_i·j + f_{i+1} input channels; the 1×1 head (with bias) reads X(0,4). Widths f = 64·Width × (1, 2, 4, 8, 16).
/// Down: MaxPool 2×2 (one module, <c>pool</c>); up: nn.Upsample ×2 bilinear, align_corners=True (one module, <c>up</c>).
/// With 1 input channel and 2 classes: 36,628,546 parameters at Width 1; 9,162,786 at Width 0.5 (widths 32..512).
/// <para>Input: height and width multiples of 16 (four halvings, each undone by an exact ×2 upsampling).</para>
/// </summary>
public sealed class NestedUNet : SegmentationModel
{
    public const int InputMultiple = 16;

    private static readonly string[] taps =
    [
        "x0_0", "x1_0", "x0_1", "x2_0", "x1_1", "x0_2", "x3_0", "x2_1", "x1_2", "x0_3", "x4_0", EncoderTap,
        "x3_1", "x2_2", "x1_3", "x0_4", DecoderTap, LogitsTap,
    ];

    private readonly MaxPool2d pool;
    private readonly Upsample up;
    private readonly VGGBlock conv0_0, conv1_0, conv2_0, conv3_0, conv4_0;
    private readonly VGGBlock conv0_1, conv1_1, conv2_1, conv3_1;
    private readonly VGGBlock conv0_2, conv1_2, conv2_2;
    private readonly VGGBlock conv0_3, conv1_3;
    private readonly VGGBlock conv0_4;
    private readonly Conv2d final;

    public NestedUNet(ModelOptions options) : base("unetpp", options)
    {
        int[] f = [.. new[] { 64, 128, 256, 512, 1024 }.Select(c => NetworkRules.ScaleChannels(c, options.Width))];
        Widths = f;
        pool = nn.MaxPool2d(2, 2);
        up = nn.Upsample(2, InterpolationMode.Bilinear, align_corners: true);
        register_module("pool", pool);
        register_module("up", up);

        // Registration order is the reference's: the encoder column, then the nested columns j = 1..4.
        VGGBlock Node(string name, int inChannels, int outChannels)
        {
            var block = new VGGBlock(inChannels, outChannels, outChannels);
            register_module(name, block);
            return block;
        }
        conv0_0 = Node("conv0_0", options.InChannels, f[0]);
        conv1_0 = Node("conv1_0", f[0], f[1]);
        conv2_0 = Node("conv2_0", f[1], f[2]);
        conv3_0 = Node("conv3_0", f[2], f[3]);
        conv4_0 = Node("conv4_0", f[3], f[4]);
        conv0_1 = Node("conv0_1", f[0] + f[1], f[0]);
        conv1_1 = Node("conv1_1", f[1] + f[2], f[1]);
        conv2_1 = Node("conv2_1", f[2] + f[3], f[2]);
        conv3_1 = Node("conv3_1", f[3] + f[4], f[3]);
        conv0_2 = Node("conv0_2", f[0] * 2 + f[1], f[0]);
        conv1_2 = Node("conv1_2", f[1] * 2 + f[2], f[1]);
        conv2_2 = Node("conv2_2", f[2] * 2 + f[3], f[2]);
        conv0_3 = Node("conv0_3", f[0] * 3 + f[1], f[0]);
        conv1_3 = Node("conv1_3", f[1] * 3 + f[2], f[1]);
        conv0_4 = Node("conv0_4", f[0] * 4 + f[1], f[0]);
        final = nn.Conv2d(f[0], options.Classes, 1);
        register_module("final", final);
    }

    /// <summary>Channel counts of the five levels after width scaling (64..1024 at Width 1).</summary>
    public IReadOnlyList<int> Widths { get; }

    public override IReadOnlyList<string> TapNames => taps;
    public override int InputSizeMultiple => InputMultiple;

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput(Name, input, InChannels, InputMultiple, "UNet++ halves the size four times and must double it back exactly");
        // The computation order is the reference's (column by column as each new encoder level arrives), so
        // forward hooks see the modules in the same sequence.
        var x0_0 = Tap("x0_0", conv0_0.call(input));
        var x1_0 = Tap("x1_0", conv1_0.call(pool.call(x0_0)));
        var x0_1 = Tap("x0_1", conv0_1.call(cat([x0_0, up.call(x1_0)], 1)));

        var x2_0 = Tap("x2_0", conv2_0.call(pool.call(x1_0)));
        var x1_1 = Tap("x1_1", conv1_1.call(cat([x1_0, up.call(x2_0)], 1)));
        var x0_2 = Tap("x0_2", conv0_2.call(cat([x0_0, x0_1, up.call(x1_1)], 1)));

        var x3_0 = Tap("x3_0", conv3_0.call(pool.call(x2_0)));
        var x2_1 = Tap("x2_1", conv2_1.call(cat([x2_0, up.call(x3_0)], 1)));
        var x1_2 = Tap("x1_2", conv1_2.call(cat([x1_0, x1_1, up.call(x2_1)], 1)));
        var x0_3 = Tap("x0_3", conv0_3.call(cat([x0_0, x0_1, x0_2, up.call(x1_2)], 1)));

        var x4_0 = Tap(EncoderTap, Tap("x4_0", conv4_0.call(pool.call(x3_0))));
        var x3_1 = Tap("x3_1", conv3_1.call(cat([x3_0, up.call(x4_0)], 1)));
        var x2_2 = Tap("x2_2", conv2_2.call(cat([x2_0, x2_1, up.call(x3_1)], 1)));
        var x1_3 = Tap("x1_3", conv1_3.call(cat([x1_0, x1_1, x1_2, up.call(x2_2)], 1)));
        var x0_4 = Tap(DecoderTap, Tap("x0_4", conv0_4.call(cat([x0_0, x0_1, x0_2, x0_3, up.call(x1_3)], 1))));

        return final.call(x0_4);
    }
}

/// <summary>
/// The UNet++ node: Conv3×3 pad 1 (with bias) → BN → ReLU → Conv3×3 pad 1 (with bias) → BN → ReLU, with one ReLU module
/// (<c>relu</c>) applied twice, as in the reference.
/// </summary>
public sealed class VGGBlock : nn.Module<Tensor, Tensor>
{
    private readonly ReLU relu;
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;

    public VGGBlock(long inChannels, long middleChannels, long outChannels)
    {
        relu = nn.ReLU();
        conv1 = nn.Conv2d(inChannels, middleChannels, 3, padding: 1);
        bn1 = nn.BatchNorm2d(middleChannels);
        conv2 = nn.Conv2d(middleChannels, outChannels, 3, padding: 1);
        bn2 = nn.BatchNorm2d(outChannels);
        register_module("relu", relu);
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("conv2", conv2);
        register_module("bn2", bn2);
    }

    public override Tensor forward(Tensor input)
    {
        var x = relu.call(bn1.call(conv1.call(input)));
        return relu.call(bn2.call(conv2.call(x)));
    }
}

using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Models.Networks;

/// <summary>
/// The reference U-Net (Ronneberger et al.) in its common padded form: every 3×3 convolution pads by 1 and has no bias and
/// is followed by BatchNorm and ReLU; four 2×2 max-pool halvings; upsampling by a 2×2 stride-2 transposed convolution
/// (with bias) that halves the channels, then concatenation [skip, upsampled]; a 1×1 classifier with bias.
/// Widths 64·Width × (1, 2, 4, 8, 16). With 1 input channel and 2 classes: Width 1 has 31,036,546 parameters, Width 0.5
/// (base 32) 7,762,498.
/// <para>
/// Module and parameter names follow the widely used public PyTorch U-Net (<c>inc</c>, <c>down1..4</c> with
/// <c>maxpool_conv</c>, <c>up1..4</c> with <c>up</c> and <c>conv</c>, <c>double_conv</c>, <c>outc</c>) so checkpoints line up.
/// </para>
/// <para>Input: height and width multiples of 16 (four halvings that the decoder must undo exactly).</para>
/// </summary>
public sealed class UNet : SegmentationModel
{
    public const int InputMultiple = 16;

    private static readonly string[] taps =
        ["enc1", "enc2", "enc3", "enc4", EncoderTap, "up1", "up2", "up3", DecoderTap, LogitsTap];

    private readonly UNetDoubleConv inc;
    private readonly UNetDown down1, down2, down3, down4;
    private readonly UNetUp up1, up2, up3, up4;
    private readonly UNetOutConv outc;

    public UNet(ModelOptions options) : base("unet", options)
    {
        int[] f = [.. new[] { 64, 128, 256, 512, 1024 }.Select(c => NetworkRules.ScaleChannels(c, options.Width))];
        Widths = f;
        inc = new UNetDoubleConv(options.InChannels, f[0]);
        down1 = new UNetDown(f[0], f[1]);
        down2 = new UNetDown(f[1], f[2]);
        down3 = new UNetDown(f[2], f[3]);
        down4 = new UNetDown(f[3], f[4]);
        up1 = new UNetUp(f[4], f[3], f[3]);
        up2 = new UNetUp(f[3], f[2], f[2]);
        up3 = new UNetUp(f[2], f[1], f[1]);
        up4 = new UNetUp(f[1], f[0], f[0]);
        outc = new UNetOutConv(f[0], options.Classes);
        register_module("inc", inc);
        register_module("down1", down1);
        register_module("down2", down2);
        register_module("down3", down3);
        register_module("down4", down4);
        register_module("up1", up1);
        register_module("up2", up2);
        register_module("up3", up3);
        register_module("up4", up4);
        register_module("outc", outc);
    }

    /// <summary>Channel counts of the five levels after width scaling (64..1024 at Width 1).</summary>
    public IReadOnlyList<int> Widths { get; }

    public override IReadOnlyList<string> TapNames => taps;
    public override int InputSizeMultiple => InputMultiple;

    public override Tensor forward(Tensor input)
    {
        NetworkRules.CheckInput(Name, input, InChannels, InputMultiple, "the U-Net halves the size four times and must double it back exactly");
        var x1 = Tap("enc1", inc.call(input));
        var x2 = Tap("enc2", down1.call(x1));
        var x3 = Tap("enc3", down2.call(x2));
        var x4 = Tap("enc4", down3.call(x3));
        var x5 = Tap(EncoderTap, down4.call(x4));
        var x = Tap("up1", up1.call(x5, x4));
        x = Tap("up2", up2.call(x, x3));
        x = Tap("up3", up3.call(x, x2));
        x = Tap(DecoderTap, up4.call(x, x1));
        return outc.call(x);
    }
}

/// <summary>(Conv3×3 pad 1 without bias → BN → ReLU) × 2, as one Sequential named <c>double_conv</c>.</summary>
public sealed class UNetDoubleConv : nn.Module<Tensor, Tensor>
{
    private readonly Sequential double_conv;

    public UNetDoubleConv(long inChannels, long outChannels)
    {
        double_conv = nn.Sequential(
            nn.Conv2d(inChannels, outChannels, 3, padding: 1, bias: false), nn.BatchNorm2d(outChannels), nn.ReLU(),
            nn.Conv2d(outChannels, outChannels, 3, padding: 1, bias: false), nn.BatchNorm2d(outChannels), nn.ReLU());
        register_module("double_conv", double_conv);
    }

    public override string GetName() => "DoubleConv";
    public override Tensor forward(Tensor input) => double_conv.call(input);
}

/// <summary>MaxPool 2×2 then a double conv, as one Sequential named <c>maxpool_conv</c>.</summary>
public sealed class UNetDown : nn.Module<Tensor, Tensor>
{
    private readonly Sequential maxpool_conv;

    public UNetDown(long inChannels, long outChannels)
    {
        maxpool_conv = nn.Sequential(nn.MaxPool2d(2), new UNetDoubleConv(inChannels, outChannels));
        register_module("maxpool_conv", maxpool_conv);
    }

    public override string GetName() => "Down";
    public override Tensor forward(Tensor input) => maxpool_conv.call(input);
}

/// <summary>
/// ConvT 2×2 stride 2 (<c>up</c>, with bias) from the deeper level, concatenation [skip, upsampled], double conv (<c>conv</c>).
/// </summary>
public sealed class UNetUp : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ConvTranspose2d up;
    private readonly UNetDoubleConv conv;

    /// <param name="inChannels">Channels of the deeper feature map.</param>
    /// <param name="skipChannels">Channels of the skip connection (the upsampled map gets as many).</param>
    /// <param name="outChannels">Channels after the double conv.</param>
    public UNetUp(long inChannels, long skipChannels, long outChannels)
    {
        up = nn.ConvTranspose2d(inChannels, skipChannels, 2, stride: 2);
        conv = new UNetDoubleConv(2 * skipChannels, outChannels);
        register_module("up", up);
        register_module("conv", conv);
    }

    public override string GetName() => "Up";

    public override Tensor forward(Tensor deeper, Tensor skip) => conv.call(cat([skip, up.call(deeper)], 1));
}

/// <summary>The 1×1 classifier with bias, named <c>conv</c>.</summary>
public sealed class UNetOutConv : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public UNetOutConv(long inChannels, long classes)
    {
        conv = nn.Conv2d(inChannels, classes, 1);
        register_module("conv", conv);
    }

    public override string GetName() => "OutConv";
    public override Tensor forward(Tensor input) => conv.call(input);
}

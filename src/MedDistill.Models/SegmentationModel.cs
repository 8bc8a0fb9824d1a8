using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Models;

/// <summary>What every network of the zoo is built from: channels in, classes out, and a width multiplier.</summary>
/// <param name="InChannels">Input channels (1 for single-slice MRI; 3 for three adjacent slices or RGB).</param>
/// <param name="Classes">Output channels of the logits (2 for prostate: background, gland).</param>
/// <param name="Width">
/// Multiplier on every internal channel count (1 = the published network). Values below 1 give small networks for fast CPU
/// profiles; each network documents how it rounds.
/// </param>
public sealed record ModelOptions(int InChannels, int Classes, double Width = 1.0)
{
    public void Validate(string model)
    {
        if (InChannels < 1) throw new ArgumentException($"{model}: in_channels must be at least 1 (got {InChannels})");
        if (Classes < 1) throw new ArgumentException($"{model}: classes must be at least 1 (got {Classes})");
        if (!(Width > 0) || double.IsInfinity(Width)) throw new ArgumentException($"{model}: width multiplier must be positive (got {Width})");
    }
}

/// <summary>
/// Base of every segmentation network: <c>forward(image) → logits</c> (N, classes, H, W) at the input's resolution, plus
/// named feature taps that distillation reads without editing the network.
/// <para>
/// Every network has at least these taps: <see cref="EncoderTap"/> (the encoder's deepest feature map),
/// <see cref="DecoderTap"/> (the decoder's last feature map before the classifier) and <see cref="LogitsTap"/>.
/// Networks may offer more (listed in <see cref="TapNames"/>).
/// </para>
/// </summary>
public abstract class SegmentationModel : nn.Module<Tensor, Tensor>
{
    public const string EncoderTap = "encoder";
    public const string DecoderTap = "decoder";
    public const string LogitsTap = "logits";

    private Dictionary<string, Tensor>? capturing;
    private (string Tap, Tensor Value)? substituting;

    protected SegmentationModel(string name, ModelOptions options)
    {
        options.Validate(name);
        Name = name;
        Options = options;
    }

    /// <summary>The registry name (<c>enet</c>, <c>unetpp</c>, ...).</summary>
    public string Name { get; }

    public ModelOptions Options { get; }
    public int InChannels => Options.InChannels;
    public int Classes => Options.Classes;

    public override string GetName() => GetType().Name;

    /// <summary>
    /// Taps are intermediates of this module's own forward that <see cref="forward_features"/> hands out, so its call keeps
    /// them (and its other direct intermediates) in the caller's scope even without gradients; its submodules still free
    /// theirs as they return (<see cref="nn.Module.free_intermediates_without_grad"/>).
    /// </summary>
    protected override bool FreesIntermediatesWithoutGrad => false;

    /// <summary>Every tap this network offers, in forward order; always includes encoder, decoder and logits.</summary>
    public abstract IReadOnlyList<string> TapNames { get; }

    /// <summary>
    /// Prefixes (ending in ".") of parameter names that the network registers and counts but never uses in forward, such
    /// as an ImageNet classifier kept from a backbone's published definition. Such parameters get no gradient; tests and
    /// training use this list to tell them from a broken graph. Empty for most networks.
    /// </summary>
    public virtual IReadOnlyList<string> UnusedParameterPrefixes => [];

    /// <summary>Input height and width must be positive multiples of this (forward checks it; callers check sizes up front).</summary>
    public abstract int InputSizeMultiple { get; }

    /// <summary>Throws, saying what the network needs, when it cannot take H×W inputs.</summary>
    public void CheckInputSize(long height, long width)
    {
        int m = InputSizeMultiple;
        if (height < m || width < m || height % m != 0 || width % m != 0)
            throw new ArgumentException($"{Name}: input size {height}×{width} is not supported: height and width must be positive multiples of {m}");
    }

    /// <summary>
    /// Runs <see cref="Module{TIn,TOut}.call"/> and returns the logits with the requested feature maps (by tap name). The maps
    /// belong to the caller's dispose scope like any tensor the forward pass creates; they keep their autograd history.
    /// </summary>
    public FeatureMaps forward_features(Tensor input, params string[] taps)
    {
        foreach (var t in taps)
            if (!TapNames.Contains(t))
                throw new ArgumentException($"{Name} has no feature tap '{t}'; it has: {string.Join(", ", TapNames)}", nameof(taps));
        if (capturing is not null) throw new InvalidOperationException($"{Name}: forward_features is not reentrant");
        capturing = taps.ToDictionary(t => t, _ => (Tensor)null!);
        try
        {
            var logits = call(input);
            if (capturing.ContainsKey(LogitsTap)) capturing[LogitsTap] = logits;
            foreach (var (tap, value) in capturing)
                if (value is null) throw new InvalidOperationException($"{Name}: forward did not pass tap '{tap}' (a bug in the network)");
            return new FeatureMaps(logits, capturing);
        }
        finally { capturing = null; }
    }

    /// <summary>
    /// <see cref="forward_features"/> with tap <paramref name="tap"/>'s value replaced by <paramref name="replacement"/>: the
    /// network computes everything up to that tap as usual, then continues from the replacement, so gradients reach the
    /// replacement through the rest of the network (GKD's header exchange feeds a reconstructed encoder map to a decoder).
    /// The replacement must have the tap's shape; a requested <paramref name="taps"/> entry equal to <paramref name="tap"/>
    /// records the replacement, the value the network went on with. The layers before the tap still run (their result is
    /// discarded): networks have no separate decoder entry point, and this keeps one forward per network.
    /// </summary>
    public FeatureMaps forward_substituted(Tensor input, string tap, Tensor replacement, params string[] taps)
    {
        ArgumentNullException.ThrowIfNull(tap);
        ArgumentNullException.ThrowIfNull(replacement);
        if (!TapNames.Contains(tap))
            throw new ArgumentException($"{Name} has no feature tap '{tap}' to substitute; it has: {string.Join(", ", TapNames)}", nameof(tap));
        if (tap == LogitsTap)
            throw new ArgumentException($"{Name}: the logits are the output, not a tap the forward continues from; substitute an earlier tap", nameof(tap));
        if (substituting is not null) throw new InvalidOperationException($"{Name}: forward_substituted is not reentrant");
        substituting = (tap, replacement);
        try
        {
            var maps = forward_features(input, taps);
            if (substituting is not null)
                throw new InvalidOperationException($"{Name}: forward did not pass tap '{tap}' (a bug in the network)");
            return maps;
        }
        finally { substituting = null; }
    }

    /// <summary>
    /// Whether the running <see cref="forward_features"/> call asked for tap <paramref name="name"/>: lets a network skip a
    /// branch that only feeds a tap (an auxiliary head used by a training loss), so a plain forward never pays for it.
    /// </summary>
    protected bool IsTapRequested(string name) => capturing is not null && capturing.ContainsKey(name);

    /// <summary>
    /// Called by subclasses in forward at each tap point; records <paramref name="x"/> when it is requested. The forward must
    /// continue from the RETURN value: under <see cref="forward_substituted"/> it is the replacement, not <paramref name="x"/>.
    /// </summary>
    protected Tensor Tap(string name, Tensor x)
    {
        if (substituting is { } s && s.Tap == name)
        {
            if (!s.Value.shape.SequenceEqual(x.shape))
                throw new ArgumentException(
                    $"{Name}: the replacement for tap '{name}' has shape [{string.Join(", ", s.Value.shape)}], the tap has [{string.Join(", ", x.shape)}]");
            x = s.Value;
            // Cleared once used: forward_substituted reads it to tell that the network reached the tap.
            substituting = null;
        }
        if (capturing is not null && capturing.ContainsKey(name)) capturing[name] = x;
        return x;
    }
}

/// <summary>The logits of one forward pass and the feature maps captured on the way.</summary>
public sealed class FeatureMaps(Tensor logits, IReadOnlyDictionary<string, Tensor> maps)
{
    public Tensor Logits { get; } = logits;
    public IReadOnlyDictionary<string, Tensor> Maps { get; } = maps;
    public Tensor this[string tap] => Maps.TryGetValue(tap, out var t) ? t : throw new KeyNotFoundException($"tap '{tap}' was not requested");
}

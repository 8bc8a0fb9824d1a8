using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Baselines;

/// <summary>
/// The baseline losses as functions of tensors. Every teacher (target) argument is detached here, whatever the caller did,
/// so no gradient reaches it; the student side keeps its history.
/// </summary>
public static class BaselineLosses
{
    /// <summary>Below this norm a map is divided by the clamp instead (PyTorch's F.normalize eps).</summary>
    public const double NormClamp = 1e-12;

    /// <summary>
    /// Attention transfer for one tap pair: a(F) = Σ_c |F_c|^p (N, 1, h, w), both maps resized to the common size, each
    /// sample's map flattened and divided by its L2 norm; the value is the mean over samples of ‖a_s − a_t‖²₂.
    /// </summary>
    public static Tensor AttentionTransfer(Tensor student, Tensor teacher, double power = 2.0, CommonSize size = CommonSize.Teacher)
    {
        const string name = nameof(AttentionTransfer);
        var s = TensorChecks.Map(student, nameof(student), name);
        var t = TensorChecks.Map(teacher, nameof(teacher), name);
        TensorChecks.SameBatch(s, t, name);
        var (h, w) = size switch
        {
            CommonSize.Teacher => (t[2], t[3]),
            CommonSize.Student => (s[2], s[3]),
            _ => s[2] * s[3] <= t[2] * t[3] ? (s[2], s[3]) : (t[2], t[3]),
        };
        // The map is resized after the channel sum: resizing Σ_c|F|^p is what "resize the attention map" means, and it is
        // one channel instead of C.
        var a = Normalised(TensorChecks.ResizeTo(Attention(student, power), h, w));
        var b = Normalised(TensorChecks.ResizeTo(Attention(teacher.detach(), power), h, w));
        return a.sub(b).square().sum().div(s[0]);
    }

    /// <summary>(N, 1, h, w) map Σ_c |F_c|^p.</summary>
    public static Tensor Attention(Tensor features, double power)
    {
        var powered = power == 2.0 ? features.square() : features.abs().pow(power);
        return powered.sum(1, keepdim: true);
    }

    private static Tensor Normalised(Tensor map)
    {
        var rows = map.flatten(1);
        return rows.div(rows.norm(2, 1, keepdim: true).clamp_min(NormClamp));
    }

    /// <summary>
    /// SKD's pair-wise term: both maps adaptive-average-pooled to grid×grid nodes; per sample the cosine-similarity matrix
    /// a_ij = f_iᵀf_j / (‖f_i‖‖f_j‖) of the n = grid² node vectors (norms clamped at 1e-12); the value is the mean over
    /// samples of (1/n²)·Σ_ij (a_s,ij − a_t,ij)². Channel counts may differ: only similarities are compared.
    /// </summary>
    public static Tensor PairwiseSimilarity(Tensor student, Tensor teacher, int grid)
    {
        const string name = nameof(PairwiseSimilarity);
        var s = TensorChecks.Map(student, nameof(student), name);
        var t = TensorChecks.Map(teacher, nameof(teacher), name);
        TensorChecks.SameBatch(s, t, name);
        if (grid < 1) throw new ArgumentException($"{name}: grid must be ≥ 1, got {grid}");
        var difference = Similarity(student, grid).sub(Similarity(teacher.detach(), grid));
        return difference.square().mean();
    }

    /// <summary>(N, n, n) cosine similarities of the grid×grid pooled node vectors.</summary>
    public static Tensor Similarity(Tensor features, int grid)
    {
        var pooled = F.adaptive_avg_pool2d(features, [grid, grid]).flatten(2);                 // (N, C, n)
        var unit = pooled.div(pooled.norm(2, 1, keepdim: true).clamp_min(NormClamp));            // unit columns
        return unit.transpose(1, 2).bmm(unit);
    }

    /// <summary>
    /// Channel-wise distillation: for each sample and channel, φ(y) = softmax over the h·w positions of y/τ; the value is
    /// τ²·Σ_{n,c} KL(φ(y_t) ‖ φ(y_s)) / (N·C). The teacher map is resized to the student's (h, w) when they differ.
    /// </summary>
    public static Tensor ChannelWise(Tensor student, Tensor teacher, double temperature)
    {
        const string name = nameof(ChannelWise);
        var s = TensorChecks.Map(student, nameof(student), name);
        var t = TensorChecks.Map(teacher, nameof(teacher), name);
        TensorChecks.SameBatch(s, t, name);
        if (s[1] != t[1]) throw new ArgumentException($"{name}: student has {s[1]} channels, teacher {t[1]}");
        TensorChecks.Finite(temperature, nameof(temperature), name, positive: true);
        var target = TensorChecks.ResizeTo(teacher.detach(), s[2], s[3]).flatten(2).div(temperature).log_softmax(2);
        var logStudent = student.flatten(2).div(temperature).log_softmax(2);
        var kl = target.exp().mul(target.sub(logStudent)).sum();
        return kl.mul(temperature * temperature / (s[0] * s[1]));
    }

    /// <summary>
    /// A feature hint: mean over elements of (adapter(x) − target)², the adapted map resized (bilinear) to the target's
    /// (h, w) and the target detached. The 1×1 adapter runs at the smaller size (it commutes with the resize).
    /// </summary>
    public static Tensor Hint(Conv2d adapter, Tensor features, Tensor target)
    {
        const string name = nameof(Hint);
        var f = TensorChecks.Map(features, nameof(features), name);
        var t = TensorChecks.Map(target, nameof(target), name);
        TensorChecks.SameBatch(f, t, name);
        bool shrinks = t[2] * t[3] < f[2] * f[3];
        var adapted = shrinks
            ? adapter.call(TensorChecks.ResizeTo(features, t[2], t[3]))
            : TensorChecks.ResizeTo(adapter.call(features), t[2], t[3]);
        if (adapted.size(1) != t[1]) throw new ArgumentException($"{name}: the adapter gives {adapted.size(1)} channels, the target has {t[1]}");
        return adapted.sub(target.detach()).square().mean();
    }
}

/// <summary>A method's 1×1 adapters by name (state dict keys <c>name.weight</c>, <c>name.bias</c>); trained with the student.</summary>
public sealed class BaselineAdapters : nn.Module
{
    private readonly Dictionary<string, Conv2d> adapters = [];

    public BaselineAdapters(IEnumerable<(string Name, long In, long Out)> specs, bool bias = true, Device? device = null, ScalarType? dtype = null)
    {
        foreach (var (name, cin, cout) in specs)
        {
            if (cin < 1 || cout < 1) throw new ArgumentException($"{nameof(BaselineAdapters)}: channel counts must be positive, got {cin} → {cout} for {name}");
            var conv = nn.Conv2d(cin, cout, 1, bias: bias, device: device, dtype: dtype);
            adapters[name] = conv;
            register_module(name, conv);
        }
    }

    public Conv2d this[string name] => adapters[name];
    public bool Contains(string name) => adapters.ContainsKey(name);
}

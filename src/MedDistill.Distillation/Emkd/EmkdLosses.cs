using MedDistill.Distillation.AffinityKd;
using MedDistill.Torch;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Emkd;

/// <summary>
/// EMKD's importance-map distillation for one tap pair (attention transfer): A(f) = mean over channels of |f|^p (N, h, w);
/// the student's map is resized bilinearly to the teacher's (h, w) if needed; each sample's map is flattened and divided by
/// its L2 norm (clamped at 1e-12); the loss is mean((a_s − a_t)²) over samples and positions. The teacher side is detached.
/// </summary>
public sealed class ImportanceMapDistillation(double power = 2.0)
{
    public const double NormClamp = 1e-12;

    public double Power { get; } = double.IsFinite(power) && power > 0 ? power : throw new ArgumentException($"IMD power must be positive, got {power}");

    public Tensor Compute(Tensor studentFeatures, Tensor teacherFeatures)
    {
        const string name = nameof(ImportanceMapDistillation);
        var s = TensorChecks.Map(studentFeatures, nameof(studentFeatures), name);
        var t = TensorChecks.Map(teacherFeatures, nameof(teacherFeatures), name);
        TensorChecks.SameBatch(s, t, name);
        var studentMap = TensorChecks.ResizeTo(Attention(studentFeatures), t[2], t[3]);
        var teacherMap = Attention(teacherFeatures.detach());
        return Normalised(studentMap).sub(Normalised(teacherMap)).square().mean();
    }

    /// <summary>(N, 1, h, w) map of mean_c |f_c|^p.</summary>
    private Tensor Attention(Tensor features)
    {
        var powered = Power == 2.0 ? features.square() : features.abs().pow(Power);
        return powered.mean(1, keepdim: true);
    }

    private static Tensor Normalised(Tensor map)
    {
        var rows = map.flatten(1);
        return rows.div(rows.norm(2, 1, keepdim: true).clamp_min(NormClamp));
    }
}

/// <summary>
/// EMKD's region-affinity distillation for one tap pair. The ground-truth foreground mask M = (label &gt; 0) is resized by
/// nearest neighbour to each feature map's (h, w); per sample, fg = Σ f·M / Σ M and bg = Σ f·(1 − M) / Σ (1 − M) are channel
/// vectors and c = cos(fg, bg) (eps 1e-8). The loss is the mean over samples that have both foreground and background
/// pixels (at that resolution) of (c_s − c_t)², and 0 when no sample has both. The teacher side is detached.
/// </summary>
public sealed class RegionAffinityDistillation
{
    public const double CosineEps = 1e-8;

    public Tensor Compute(Tensor studentFeatures, Tensor teacherFeatures, Tensor label)
    {
        const string name = nameof(RegionAffinityDistillation);
        var s = TensorChecks.Map(studentFeatures, nameof(studentFeatures), name);
        var t = TensorChecks.Map(teacherFeatures, nameof(teacherFeatures), name);
        TensorChecks.SameBatch(s, t, name);
        ArgumentNullException.ThrowIfNull(label);
        if (label.dim() != 3 || label.size(0) != s[0])
            throw new ArgumentException($"{name}: label must be (N, H, W) with N = {s[0]}, got {TensorChecks.Shape(label)}", nameof(label));

        var mask = label.gt(0).to(studentFeatures.dtype).unsqueeze(1);
        var (studentContrast, studentValid) = Contrast(studentFeatures, mask);
        var (teacherContrast, teacherValid) = Contrast(teacherFeatures.detach(), mask);
        // Both maps' masks must have both regions; they can differ only if the two maps differ in size.
        var valid = studentValid.mul(teacherValid);
        var squared = studentContrast.sub(teacherContrast).square().mul(valid);
        // clamp_min(1): with no valid sample the sum is 0, so the loss is 0 without a host-side test.
        return squared.sum().div(valid.sum().clamp_min(1.0));
    }

    /// <summary>Per sample: cos(fg, bg) (N) and 1 where the sample has both regions, else 0 (N).</summary>
    private static (Tensor contrast, Tensor valid) Contrast(Tensor features, Tensor fullMask)
    {
        var shape = features.shape;
        var mask = TensorChecks.ResizeTo(fullMask, shape[2], shape[3], InterpolationMode.Nearest);
        var background = 1.0 - mask;
        long[] pixels = [2, 3];
        var foregroundCount = mask.sum(pixels);       // (N, 1)
        var backgroundCount = background.sum(pixels);
        // A region with no pixels has a zero sum; dividing by max(count, 1) keeps its prototype 0 (and its gradient finite)
        // instead of 0/0; such samples are masked out below.
        var foreground = features.mul(mask).sum(pixels).div(foregroundCount.clamp_min(1.0));
        var backgroundMean = features.mul(background).sum(pixels).div(backgroundCount.clamp_min(1.0));
        var contrast = F.cosine_similarity(foreground, backgroundMean, 1, CosineEps);
        var valid = foregroundCount.minimum(backgroundCount).gt(0).to(features.dtype).squeeze(1);
        return (contrast, valid);
    }
}

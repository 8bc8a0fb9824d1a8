using MedDistill.Distillation.AffinityKd;
using MedDistill.Models;
using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.Mskd;

/// <summary>
/// FFD's train-time adapters: a 1×1 convolution Cs → Ct for each <see cref="MskdOptions.FilteringTaps"/> pair whose channel
/// counts differ, registered as <c>ffd{i}</c> (i = the pair's index), so state-dict keys read <c>ffd0.weight</c>. Pairs with
/// equal counts have none. The student network itself gains nothing.
/// </summary>
public sealed class MskdAdapters : nn.Module
{
    private readonly Conv2d?[] adapters;

    public MskdAdapters(IReadOnlyList<(long Student, long Teacher)> channels, bool bias = true, Device? device = null, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(channels);
        adapters = new Conv2d?[channels.Count];
        for (int i = 0; i < channels.Count; i++)
        {
            var (cs, ct) = channels[i];
            if (cs < 1 || ct < 1) throw new ArgumentException($"{nameof(MskdAdapters)}: channel counts must be positive, got {cs} → {ct} for pair {i}");
            if (cs == ct) continue;
            adapters[i] = nn.Conv2d(cs, ct, 1, bias: bias, device: device, dtype: dtype);
            register_module($"ffd{i}", adapters[i]);
        }
    }

    /// <summary>The adapter of FFD tap pair <paramref name="pair"/>, or null when its channel counts match.</summary>
    public Conv2d? this[int pair] => adapters[pair];

    public int Pairs => adapters.Length;
    public bool Any => adapters.Any(a => a is not null);
}

/// <summary>
/// Our reconstruction of MSKD without its segmentation loss: terms <c>ffd</c> (feature filtering distillation) and
/// <c>rgd</c> (region graph distillation), each summed over its tap pairs. Only FFD's adapters (<see cref="MskdAdapters"/>)
/// are trained besides the student; <see cref="TrainableModule"/> is null when every FFD pair has matching channels.
/// </summary>
public sealed class MskdMethod : IDistillationMethod
{
    public const string MethodName = "mskd";
    public const string FilteringTerm = "ffd";
    public const string GraphTerm = "rgd";

    private readonly MskdAdapters? adapters;

    /// <summary>
    /// Builds the method from known channel counts, one (student, teacher) entry per <see cref="MskdOptions.FilteringTaps"/>
    /// pair; null means every pair has matching counts (no adapter; <see cref="Compute"/> then throws on a mismatch).
    /// Adapters are created on <paramref name="device"/> and <paramref name="dtype"/>.
    /// </summary>
    public MskdMethod(MskdOptions? options = null, IReadOnlyList<(long Student, long Teacher)>? filteringChannels = null,
        Device? device = null, ScalarType? dtype = null)
    {
        Options = options ?? new MskdOptions();
        Options.Validate();
        if (filteringChannels is not null)
        {
            if (filteringChannels.Count != Options.FilteringTaps.Count)
                throw new ArgumentException(
                    $"MSKD: {filteringChannels.Count} channel pairs given for {Options.FilteringTaps.Count} FilteringTaps pairs", nameof(filteringChannels));
            var built = new MskdAdapters(filteringChannels, Options.AdapterBias, device, dtype);
            if (built.Any) adapters = built;
            else built.Dispose();
        }
        StudentTaps = Options.FilteringTaps.Concat(Options.GraphTaps).Select(p => p.Student).Distinct().ToArray();
        TeacherTaps = Options.FilteringTaps.Concat(Options.GraphTaps).Select(p => p.Teacher).Distinct().ToArray();
    }

    /// <summary>
    /// As the constructor above, with the channel counts of the FFD taps probed from the networks (one no_grad eval forward
    /// per tap; modes restored) and adapters on the student's device and dtype. Checks that both networks have every tap.
    /// </summary>
    public MskdMethod(MskdOptions? options, SegmentationModel student, SegmentationModel teacher)
        : this(options, ProbeFilteringChannels(options, student, teacher), FirstParameter(student)?.device, FirstParameter(student)?.dtype)
    {
    }

    public MskdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }

    /// <summary>FFD's adapters (null when no FFD pair needs one).</summary>
    public MskdAdapters? Adapters => adapters;

    public nn.Module? TrainableModule => adapters;
    public IEnumerable<nn.Parameter> TrainableParameters() => adapters?.parameters() ?? [];

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        // One set of region masks serves every pair of both terms; each map pools it to its own size.
        var masks = MskdLosses.RegionMasks(label, teacher.Logits, Options);
        Tensor? ffd = null, rgd = null;
        for (int i = 0; i < Options.FilteringTaps.Count; i++)
        {
            var pair = Options.FilteringTaps[i];
            var adapter = adapters?[i];
            var term = MskdLosses.FeatureFiltering(student[pair.Student], teacher[pair.Teacher], masks, Options.Distance, adapter?.weight, adapter?.bias);
            ffd = ffd is null ? term : ffd.add(term);
        }
        foreach (var pair in Options.GraphTaps)
        {
            var term = MskdLosses.RegionGraph(student[pair.Student], teacher[pair.Teacher], masks);
            rgd = rgd is null ? term : rgd.add(term);
        }
        return
        [
            new LossTerm(FilteringTerm, Options.FilteringWeight, ffd!),
            new LossTerm(GraphTerm, Options.GraphWeight, rgd!),
        ];
    }

    public void Dispose() => adapters?.Dispose();

    private static nn.Parameter? FirstParameter(SegmentationModel model) => model?.parameters().FirstOrDefault();

    private static IReadOnlyList<(long, long)> ProbeFilteringChannels(MskdOptions? options, SegmentationModel student, SegmentationModel teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        options ??= new MskdOptions();
        options.Validate();
        var pairs = options.FilteringTaps.Concat(options.GraphTaps).ToList();
        CheckTaps(student, pairs.Select(p => p.Student), "student");
        CheckTaps(teacher, pairs.Select(p => p.Teacher), "teacher");
        return options.FilteringTaps
            .Select(p => (KernelMatrixDistillation.ProbeChannels(student, p.Student), KernelMatrixDistillation.ProbeChannels(teacher, p.Teacher)))
            .ToArray();
    }

    private static void CheckTaps(SegmentationModel model, IEnumerable<string> taps, string role)
    {
        foreach (var tap in taps)
            if (!model.TapNames.Contains(tap))
                throw new ArgumentException($"MSKD: {role} {model.Name} has no feature tap '{tap}'; it has: {string.Join(", ", model.TapNames)}");
    }
}

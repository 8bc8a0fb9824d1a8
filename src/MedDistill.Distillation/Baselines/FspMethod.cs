using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Baselines;

/// <summary>
/// <c>fsp</c>: flow of solution procedure (Yim, Joo, Bae, Kim, CVPR 2017, "A Gift from Knowledge Distillation"). For each
/// <see cref="FspPair"/>, each network's FSP matrix G(F1, F2) = F1·F2ᵀ/(h·w) of its two maps, the student's matched to
/// the teacher's by the mean squared error over the N·C1·C2 entries; the pairs are summed. Term <c>fsp</c>.
/// <para>
/// Student maps whose channel count differs from the teacher's matching map go through a 1×1 adapter first (keys
/// <c>pair{k}_first</c>, <c>pair{k}_second</c>, k from 1; trained with the student; <see cref="TrainableModule"/>), sized by
/// probing both networks once.
/// </para>
/// </summary>
public sealed class FspMethod : IDistillationMethod
{
    public const string MethodName = "fsp";
    public const string Term = "fsp";

    private readonly BaselineAdapters? adapters;

    /// <summary>
    /// Builds the method for known channel counts, one (student first, student second, teacher first, teacher second)
    /// tuple per pair of <paramref name="options"/>; adapters (where counts differ) go on the given device and dtype.
    /// </summary>
    public FspMethod(FspOptions? options, IReadOnlyList<(long StudentFirst, long StudentSecond, long TeacherFirst, long TeacherSecond)> channels,
        Device? device = null, ScalarType? dtype = null)
    {
        Options = options ?? new FspOptions();
        Options.Validate();
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Count != Options.Pairs.Count)
            throw new ArgumentException($"{MethodName}: {channels.Count} channel tuples for {Options.Pairs.Count} tap pairs");
        var specs = new List<(string, long, long)>();
        for (int k = 0; k < channels.Count; k++)
        {
            var c = channels[k];
            if (c.StudentFirst != c.TeacherFirst) specs.Add((AdapterName(k, first: true), c.StudentFirst, c.TeacherFirst));
            if (c.StudentSecond != c.TeacherSecond) specs.Add((AdapterName(k, first: false), c.StudentSecond, c.TeacherSecond));
        }
        if (specs.Count > 0) adapters = new BaselineAdapters(specs, Options.AdapterBias, device, dtype);
        StudentTaps = Taps.Requested(Options.Pairs.SelectMany(p => new[] { p.StudentFirst, p.StudentSecond }));
        TeacherTaps = Taps.Requested(Options.Pairs.SelectMany(p => new[] { p.TeacherFirst, p.TeacherSecond }));
    }

    /// <summary>As above, the channel counts probed from the networks and the adapters placed as the student.</summary>
    public FspMethod(FspOptions? options, SegmentationModel student, SegmentationModel teacher)
        : this(options, Probe(options, student, teacher), Taps.Placement(student).Device, Taps.Placement(student).Dtype)
    {
    }

    private static List<(long, long, long, long)> Probe(FspOptions? options, SegmentationModel student, SegmentationModel teacher)
    {
        options ??= new FspOptions();
        options.Validate();
        Taps.Check(student, options.Pairs.SelectMany(p => new[] { p.StudentFirst, p.StudentSecond }), "student", MethodName);
        Taps.Check(teacher, options.Pairs.SelectMany(p => new[] { p.TeacherFirst, p.TeacherSecond }), "teacher", MethodName);
        return options.Pairs.Select(p => (Taps.Channels(student, p.StudentFirst), Taps.Channels(student, p.StudentSecond),
            Taps.Channels(teacher, p.TeacherFirst), Taps.Channels(teacher, p.TeacherSecond))).ToList();
    }

    /// <summary>State-dict name of pair <paramref name="index"/>'s (0-based) adapter on the first or second student map.</summary>
    public static string AdapterName(int index, bool first) => $"pair{index + 1}_{(first ? "first" : "second")}";

    public FspOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }

    /// <summary>The adapter on a student map, or null when its width already matches the teacher's.</summary>
    public MedDistill.Torch.Modules.Conv2d? Adapter(int index, bool first) =>
        adapters is not null && adapters.Contains(AdapterName(index, first)) ? adapters[AdapterName(index, first)] : null;

    public IEnumerable<nn.Parameter> TrainableParameters() => adapters?.parameters() ?? [];
    public nn.Module? TrainableModule => adapters;

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        Tensor? total = null;
        for (int k = 0; k < Options.Pairs.Count; k++)
        {
            var pair = Options.Pairs[k];
            var gs = Matrix(Taps.Read(student, pair.StudentFirst), Taps.Read(student, pair.StudentSecond), Adapter(k, true), Adapter(k, false));
            var gt = Matrix(Taps.Read(teacher, pair.TeacherFirst).detach(), Taps.Read(teacher, pair.TeacherSecond).detach());
            var value = MatrixDistance(gs, gt);
            total = total is null ? value : total.add(value);
        }
        return [new LossTerm(Term, Options.Weight, total!)];
    }

    /// <summary>
    /// The FSP matrix (N, C1, C2) of two maps of one network: both adaptive-average-pooled to their common size
    /// (min h, min w), so the larger map is averaged down and nothing is interpolated up; each optionally through a 1×1
    /// adapter (applied after pooling: a 1×1 convolution commutes with averaging); then G = F1·F2ᵀ/(h·w).
    /// </summary>
    public static Tensor Matrix(Tensor first, Tensor second, MedDistill.Torch.Modules.Conv2d? firstAdapter = null,
        MedDistill.Torch.Modules.Conv2d? secondAdapter = null)
    {
        const string name = "FSP";
        var a = TensorChecks.Map(first, nameof(first), name);
        var b = TensorChecks.Map(second, nameof(second), name);
        TensorChecks.SameBatch(a, b, name);
        long h = Math.Min(a[2], b[2]), w = Math.Min(a[3], b[3]);
        var f1 = Pool(first, h, w);
        var f2 = Pool(second, h, w);
        if (firstAdapter is not null) f1 = firstAdapter.call(f1);
        if (secondAdapter is not null) f2 = secondAdapter.call(f2);
        return f1.flatten(2).bmm(f2.flatten(2).transpose(1, 2)).div(h * w);
    }

    /// <summary>Mean over the N·C1·C2 entries of (G_s − G_t)²; the teacher matrix is detached.</summary>
    public static Tensor MatrixDistance(Tensor student, Tensor teacher)
    {
        if (!student.shape.SequenceEqual(teacher.shape))
            throw new ArgumentException($"FSP: student matrix {TensorChecks.Shape(student)} and teacher matrix {TensorChecks.Shape(teacher)} differ");
        return student.sub(teacher.detach()).square().mean();
    }

    private static Tensor Pool(Tensor x, long h, long w) => x.size(2) == h && x.size(3) == w ? x : F.adaptive_avg_pool2d(x, [h, w]);

    public void Dispose() => adapters?.Dispose();
}

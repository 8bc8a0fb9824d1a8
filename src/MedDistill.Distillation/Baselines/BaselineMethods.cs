using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Emkd;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.Baselines;

/// <summary>Tap lookups shared by the baselines: <c>logits</c> names <see cref="FeatureMaps.Logits"/>, which is never requested.</summary>
internal static class Taps
{
    public static Tensor Read(FeatureMaps maps, string tap) => tap == SegmentationModel.LogitsTap ? maps.Logits : maps[tap];

    public static string[] Requested(IEnumerable<string> taps) => taps.Where(t => t != SegmentationModel.LogitsTap).Distinct().ToArray();

    public static void Check(SegmentationModel? model, IEnumerable<string> taps, string role, string method)
    {
        ArgumentNullException.ThrowIfNull(model, role);
        foreach (var tap in taps)
            if (tap != SegmentationModel.LogitsTap && !model.TapNames.Contains(tap))
                throw new ArgumentException($"{method}: {role} {model.Name} has no feature tap '{tap}'; it has: {string.Join(", ", model.TapNames)}");
    }

    /// <summary>Channels of a tap (the class count for <c>logits</c>), probed as KMM does.</summary>
    public static long Channels(SegmentationModel model, string tap) =>
        tap == SegmentationModel.LogitsTap ? model.Classes : KernelMatrixDistillation.ProbeChannels(model, tap);

    public static (Device? Device, ScalarType? Dtype) Placement(SegmentationModel model)
    {
        var first = model.parameters().FirstOrDefault();
        return (first?.device, first?.dtype);
    }
}

/// <summary>
/// <c>kd</c>: Hinton KD per pixel, τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ)) (teacher first), the KL summed over classes and
/// averaged over the student's N·H·W pixels; teacher logits of another size are resized to the student's. It is
/// <see cref="LogitsDistillation"/> in Hinton's direction. Term <c>kd</c>.
/// </summary>
public sealed class KdMethod : IDistillationMethod
{
    public const string MethodName = "kd";
    public const string Term = "kd";

    private readonly LogitsDistillation loss;

    public KdMethod(KdOptions? options = null)
    {
        Options = options ?? new KdOptions();
        Options.Validate();
        loss = new LogitsDistillation(new LogitsDistillationOptions { Temperature = Options.Temperature, Direction = KlDirection.TeacherToStudent });
    }

    public KdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps => [];
    public IReadOnlyList<string> TeacherTaps => [];
    public IEnumerable<nn.Parameter> TrainableParameters() => [];
    public nn.Module? TrainableModule => null;

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        return [new LossTerm(Term, Options.Weight, loss.Compute(student.Logits, teacher.Logits))];
    }

    public void Dispose() { }
}

/// <summary>
/// <c>at</c>: attention transfer summed over the tap pairs (<see cref="BaselineLosses.AttentionTransfer"/>). Attention
/// maps have one channel, so no adapter is needed. Term <c>at</c>.
/// </summary>
public sealed class AtMethod : IDistillationMethod
{
    public const string MethodName = "at";
    public const string Term = "at";

    public AtMethod(AtOptions? options = null)
    {
        Options = options ?? new AtOptions();
        Options.Validate();
        StudentTaps = Taps.Requested(Options.TapPairs.Select(p => p.Student));
        TeacherTaps = Taps.Requested(Options.TapPairs.Select(p => p.Teacher));
    }

    /// <summary>As above, and checks that both networks have the taps.</summary>
    public AtMethod(AtOptions? options, SegmentationModel student, SegmentationModel teacher) : this(options)
    {
        Taps.Check(student, StudentTaps, "student", MethodName);
        Taps.Check(teacher, TeacherTaps, "teacher", MethodName);
    }

    public AtOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }
    public IEnumerable<nn.Parameter> TrainableParameters() => [];
    public nn.Module? TrainableModule => null;

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        Tensor? total = null;
        foreach (var pair in Options.TapPairs)
        {
            var value = BaselineLosses.AttentionTransfer(Taps.Read(student, pair.Student), Taps.Read(teacher, pair.Teacher), Options.Power, Options.Size);
            total = total is null ? value : total.add(value);
        }
        return [new LossTerm(Term, Options.Weight, total!)];
    }

    public void Dispose() { }
}

/// <summary>
/// <c>skd</c>: structured KD's pixel-wise term <c>pi</c> (KL(teacher ‖ student) of the per-pixel class distributions at
/// τ = 1, averaged over pixels) and pair-wise term <c>pa</c> (<see cref="BaselineLosses.PairwiseSimilarity"/>), in that
/// order. The holistic term needs a discriminator trained adversarially and is left out.
/// </summary>
public sealed class SkdMethod : IDistillationMethod
{
    public const string MethodName = "skd";
    public const string PixelTerm = "pi";
    public const string PairTerm = "pa";

    private readonly LogitsDistillation pixel = new(new LogitsDistillationOptions { Temperature = 1, Direction = KlDirection.TeacherToStudent });
    private readonly IReadOnlyList<string> terms;

    public SkdMethod(SkdOptions? options = null)
    {
        Options = options ?? new SkdOptions();
        Options.Validate();
        terms = Options.TermList;
        bool pair = terms.Contains(PairTerm);
        StudentTaps = pair ? Taps.Requested([Options.StudentTap]) : [];
        TeacherTaps = pair ? Taps.Requested([Options.TeacherTap]) : [];
    }

    public SkdMethod(SkdOptions? options, SegmentationModel student, SegmentationModel teacher) : this(options)
    {
        Taps.Check(student, StudentTaps, "student", MethodName);
        Taps.Check(teacher, TeacherTaps, "teacher", MethodName);
    }

    public SkdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }
    public IEnumerable<nn.Parameter> TrainableParameters() => [];
    public nn.Module? TrainableModule => null;

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        var result = new List<LossTerm>(2);
        if (terms.Contains(PixelTerm))
            result.Add(new LossTerm(PixelTerm, Options.PixelWeight, pixel.Compute(student.Logits, teacher.Logits)));
        if (terms.Contains(PairTerm))
            result.Add(new LossTerm(PairTerm, Options.PairWeight, BaselineLosses.PairwiseSimilarity(
                Taps.Read(student, Options.StudentTap), Taps.Read(teacher, Options.TeacherTap), Options.Grid)));
        return result;
    }

    public void Dispose() { }
}

/// <summary>
/// <c>cwd</c>: channel-wise distillation (<see cref="BaselineLosses.ChannelWise"/>) of one map pair, the logits by default.
/// When the student tap's channel count differs from the teacher's, a 1×1 adapter (student → teacher channels, key
/// <c>cwd.weight</c>) maps the student first; it is <see cref="TrainableModule"/>. Term <c>cwd</c>.
/// </summary>
public sealed class CwdMethod : IDistillationMethod
{
    public const string MethodName = "cwd";
    public const string Term = "cwd";

    private readonly BaselineAdapters? adapters;

    /// <summary>Builds the method for known channel counts; the adapter (if they differ) goes on the given device and dtype.</summary>
    public CwdMethod(CwdOptions? options, long studentChannels, long teacherChannels, Device? device = null, ScalarType? dtype = null)
    {
        Options = options ?? new CwdOptions();
        Options.Validate();
        if (studentChannels != teacherChannels)
            adapters = new BaselineAdapters([(Term, studentChannels, teacherChannels)], Options.AdapterBias, device, dtype);
        StudentTaps = Taps.Requested([Options.StudentTap]);
        TeacherTaps = Taps.Requested([Options.TeacherTap]);
    }

    /// <summary>As above, the channel counts probed from the networks and the adapter placed as the student.</summary>
    public CwdMethod(CwdOptions? options, SegmentationModel student, SegmentationModel teacher)
        : this(options, ProbedChannels(options, student, teacher, true), ProbedChannels(options, student, teacher, false),
            Taps.Placement(student).Device, Taps.Placement(student).Dtype)
    {
    }

    private static long ProbedChannels(CwdOptions? options, SegmentationModel student, SegmentationModel teacher, bool ofStudent)
    {
        options ??= new CwdOptions();
        options.Validate();
        Taps.Check(student, [options.StudentTap], "student", MethodName);
        Taps.Check(teacher, [options.TeacherTap], "teacher", MethodName);
        return ofStudent ? Taps.Channels(student, options.StudentTap) : Taps.Channels(teacher, options.TeacherTap);
    }

    public CwdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }

    /// <summary>The adapter, or null when the channel counts match.</summary>
    public MedDistill.Torch.Modules.Conv2d? Adapter => adapters?[Term];

    public IEnumerable<nn.Parameter> TrainableParameters() => adapters?.parameters() ?? [];
    public nn.Module? TrainableModule => adapters;

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        var s = Taps.Read(student, Options.StudentTap);
        if (adapters is not null) s = adapters[Term].call(s);
        return [new LossTerm(Term, Options.Weight, BaselineLosses.ChannelWise(s, Taps.Read(teacher, Options.TeacherTap), Options.Temperature))];
    }

    public void Dispose() => adapters?.Dispose();
}
